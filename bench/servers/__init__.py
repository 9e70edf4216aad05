"""The servers under test, by name. Each is a separate process the harness starts fresh.

Every server implements the same three behaviours: each socket joins room ``all``,
``echo`` acks its argument, ``broadcast`` emits its argument to ``all``. Each prints one
JSON line ``{"port": N, "pid": P, ...}`` when it listens on 127.0.0.1.

Plugins (``bench/admin_scenario.py``, ``bench/inspector_load.py``) may add a
``ServerSpec`` here through ``register(registry)``, e.g. sioscope with the admin
namespace instrumented.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _py(module: str, *extra: str) -> Callable[[], list[str]]:
    return lambda: [sys.executable, "-m", module, *extra]


def _node(script: str) -> Callable[[], list[str]]:
    def argv() -> list[str]:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("Node.js is not installed: the node server cannot run")
        return [node, str(HERE / script)]

    return argv


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server under test, and which scenarios it can take."""

    name: str
    label: str
    argv: Callable[[], list[str]]
    # scenario names it cannot serve (the floor has no long-polling)
    skips: frozenset[str] = field(default_factory=frozenset)
    # run from another checkout (A/B of a change); None: this repository
    cwd: Path | None = None
    # extra environment (another checkout's import path)
    env: dict[str, str] = field(default_factory=dict)


def resolve(name: str) -> ServerSpec | None:
    """A registered server, or ``<name>@<dir>``: that server run from another checkout.

    ``sioscope@/tmp/wt`` starts ``python -m bench.servers.sioscope_server`` with ``/tmp/wt``
    as working directory (its ``bench`` package) and ``PYTHONPATH`` set to a package
    root that maps ``sioscope.server`` to ``/tmp/wt/server`` (``checkout_root``), so
    that checkout's core is the one measured, not the editable install's: two versions
    of the core side by side in one interleaved run.
    """
    if name in SERVERS:
        return SERVERS[name]
    base, sep, tree = name.partition("@")
    if not sep or base not in SERVERS or not Path(tree, "server").is_dir():
        return None
    spec = SERVERS[base]
    env = {"PYTHONPATH": checkout_root(Path(tree))}
    return ServerSpec(name, f"{spec.label} from {tree}", spec.argv, spec.skips, Path(tree), env)


_roots: dict[Path, str] = {}


def checkout_root(tree: Path) -> str:
    """A directory whose ``sioscope`` package is ``tree``'s (symlinks, made once per run).

    The editable install maps ``sioscope.server`` to this repository's ``server/``
    whatever the working directory; a package found first on ``PYTHONPATH`` wins over
    that mapping, so the other checkout's ``server/`` and ``inspector/`` are imported.
    """
    tree = tree.resolve()
    if tree not in _roots:
        root = Path(tempfile.mkdtemp(prefix="sioscope-ab-"))
        pkg = root / "sioscope"
        pkg.mkdir()
        for item in (tree / "src" / "sioscope").iterdir():
            if item.suffix == ".py":
                (pkg / item.name).symlink_to(item)
        for sub in ("server", "inspector"):
            if (tree / sub).is_dir():
                (pkg / sub).symlink_to(tree / sub, target_is_directory=True)
        _roots[tree] = str(root)
    return _roots[tree]


SERVERS: dict[str, ServerSpec] = {}


def add(spec: ServerSpec) -> None:
    SERVERS[spec.name] = spec


add(ServerSpec("node", "Node socket.io 4.8.4", _node("node_server.js")))
add(ServerSpec("pysio", "python-socketio 5.18.1", _py("bench.servers.pysio_server")))
add(
    ServerSpec(
        "pysio-uvloop",
        "python-socketio 5.18.1 on uvloop",
        _py("bench.servers.pysio_server", "--loop", "uvloop"),
    )
)
add(
    ServerSpec(
        "sioscope",
        "sioscope (uvloop/orjson when installed)",
        _py("bench.servers.sioscope_server", "--loop", "auto"),
    )
)
add(
    ServerSpec(
        "sioscope-lean",
        "sioscope on its httptools host (uvloop/orjson when installed)",
        _py("bench.servers.sioscope_server", "--loop", "auto", "--lean"),
    )
)
add(
    ServerSpec(
        "sioscope-asyncio",
        "sioscope on the stdlib loop",
        _py("bench.servers.sioscope_server", "--loop", "asyncio"),
    )
)
add(
    ServerSpec(
        "sioscope-uvicorn",
        "sioscope as io.asgi_app() on uvicorn (uvloop/orjson when installed)",
        _py("bench.servers.sioscope_server", "--asgi", "--loop", "auto"),
    )
)
add(
    ServerSpec(
        "pysio-uvicorn",
        "python-socketio 5.18.1 ASGIApp on uvicorn",
        _py("bench.servers.pysio_server", "--asgi"),
    )
)
add(
    ServerSpec(
        "floor",
        "bare aiohttp websocket (floor)",
        _py("bench.servers.floor_server", "--loop", "auto"),
        skips=frozenset({"polling"}),
    )
)
