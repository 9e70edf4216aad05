"""``sioscope demo``'s server and clients without its inspector, for the key-latency bench.

The demo runs its server, its bots and the inspector in one process; measured that way,
the inspector's key latency would include the bots' work. This runs the same ``Demo``
alone and prints ``{"port": N, "pid": P}`` once every bot is connected, so the inspector
can attach from another process (``bench/inspector_keys.py``). Runs until stdin closes.

    python -m bench.demo_server [--clients 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys


async def main(clients: int) -> None:
    from sioscope.inspector.demo import Demo

    demo = Demo(clients)
    await demo.start()
    sys.stdout.write(json.dumps({"port": demo.port, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()  # EOF: the harness is done
    os._exit(0)  # no graceful drain of a thousand bots: the run is measured already


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    asyncio.run(main(parser.parse_args().clients))
