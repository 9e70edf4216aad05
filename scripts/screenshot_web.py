"""Write screenshots/web.png: ``sioscope demo --web`` as headless Chromium shows it.

``python scripts/screenshot_web.py [OUT]`` (part of ``make screenshots``). Starts the
demo's web server on a free loopback port, opens it with the page driver of the browser
test (``tests/interop/inspector-web.js``, playwright-core and Debian's Chromium) and
saves the page once the app has drawn its Sockets view. Needs Node.js, the interop npm
packages and ``chromium``.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT / "tests" / "interop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots" / "web.png"
    node, chromium = shutil.which("node"), shutil.which("chromium")
    if node is None or chromium is None or not (INTEROP / "node_modules").is_dir():
        print("screenshot_web: needs node, chromium and tests/interop/node_modules (make test)")
        return 2
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sioscope", "demo", "--clients", "12", "--web", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if "serving" not in line:
            print(f"screenshot_web: the web server did not start: {line!r}")
            return 1
        with tempfile.TemporaryDirectory() as profile:
            config = {
                "url": f"http://127.0.0.1:{port}/",
                "chromium": chromium,
                "profileDir": profile,
                "expect": ["connected", "sockets"],
                "settle": 2500,
                "screenshot": str(out.resolve()),
            }
            done = subprocess.run(
                [node, "inspector-web.js", json.dumps(config)],
                cwd=INTEROP,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        if done.returncode != 0:
            print(f"screenshot_web: the page driver failed:\n{done.stdout}{done.stderr}")
            return 1
        print(out)
        return 0
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
