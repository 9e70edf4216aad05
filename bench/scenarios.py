"""The scenarios, their sizes per scale, and how each one is run against a server.

A built-in scenario is a configuration for the Node load generator (``bench/loadgen.js``),
which does the measuring itself. A plugin scenario may instead bring its own ``run``
(Python, using ``bench.procstat.Window`` to bill the server the same way) and is added
with ``register(registry)`` from ``bench/admin_scenario.py`` or ``bench/inspector_load.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Sizes per scale. slow_reader's payload stays under the servers' default 1e6-byte
# message cap (maxHttpBufferSize), which the sender's upload must pass.
# Sizes per scale. "full" is the protocol; "quick" is for development; "smoke"
# is the tiny run `make test` does so the harness never rots.
SCALES: dict[str, dict[str, Any]] = {
    "full": {
        "connect": {"clients": 1000, "concurrency": 50},
        "echo": {"clients": 100, "durationS": 10, "warmupS": 1},
        "fanout": {"clients": 1000, "broadcasts": 200, "rate": 20},
        "idle": {"clients": 1000, "settleS": 1},
        "idle_deflate": {"clients": 1000, "settleS": 1},
        "polling": {"clients": 100, "durationS": 10, "warmupS": 1},
        "slow_reader": {"clients": 300, "broadcasts": 8, "payloadBytes": 999_000},
        "scale": {"steps": [1000, 3000, 10000], "concurrency": 100, "broadcasts": 20, "settleS": 1},
        "timeoutS": 300,
    },
    "quick": {
        "connect": {"clients": 1000, "concurrency": 50},
        "echo": {"clients": 100, "durationS": 3, "warmupS": 1},
        "fanout": {"clients": 1000, "broadcasts": 50, "rate": 20},
        "idle": {"clients": 1000, "settleS": 0.5},
        "idle_deflate": {"clients": 1000, "settleS": 0.5},
        "polling": {"clients": 100, "durationS": 3, "warmupS": 1},
        "slow_reader": {"clients": 100, "broadcasts": 4, "payloadBytes": 999_000},
        "scale": {
            "steps": [1000, 3000, 10000],
            "concurrency": 100,
            "broadcasts": 10,
            "settleS": 0.5,
        },
        "timeoutS": 240,
    },
    "smoke": {
        "connect": {"clients": 5, "concurrency": 5},
        "echo": {"clients": 3, "durationS": 0.3, "warmupS": 0.1},
        "fanout": {"clients": 4, "broadcasts": 3, "rate": 50},
        "idle": {"clients": 4, "settleS": 0.1},
        "idle_deflate": {"clients": 4, "settleS": 0.1},
        "polling": {"clients": 3, "durationS": 0.3, "warmupS": 0.1},
        "slow_reader": {"clients": 4, "broadcasts": 2, "payloadBytes": 1 << 16, "settleMs": 50},
        "scale": {"steps": [3, 6], "concurrency": 3, "broadcasts": 2, "settleS": 0.1},
        "timeoutS": 30,
    },
}


@dataclass(frozen=True)
class RunContext:
    """What a scenario run gets: the live server and the loadgen settings for the scale."""

    server: str
    host: str
    port: int
    pid: int
    params: dict[str, Any]
    timeout_s: float


@dataclass(frozen=True)
class Scenario:
    """One scenario; ``results`` names the JSON lines it emits (a run may emit several)."""

    name: str
    results: tuple[str, ...]
    op: str
    doc: str
    # None: the Node load generator runs it with ``params``; else a Python runner
    run: Callable[[RunContext], list[dict[str, Any]]] | None = None
    # extra loadgen settings that are not sizes (always applied)
    fixed: dict[str, Any] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {}


def add(scenario: Scenario) -> None:
    SCENARIOS[scenario.name] = scenario


add(
    Scenario(
        "connect",
        ("connect_cold", "connect_steady"),
        "handshake",
        "WebSocket handshakes up to the namespace CONNECT reply: the first batch on a "
        "fresh server (cold), then a batch after a warm-up batch (steady)",
    )
)
add(Scenario("echo", ("echo",), "ack", "clients each send `echo` and wait for the ack, in a loop"))
add(
    Scenario(
        "fanout",
        ("fanout_paced", "fanout_closed"),
        "delivery",
        "one client asks for broadcasts to room `all`: at a fixed pace, then each "
        "broadcast only after the previous reached every socket (closed loop)",
    )
)
add(Scenario("idle", ("idle",), "connection", "RSS per idle WebSocket connection"))
add(
    Scenario(
        "idle_deflate",
        ("idle_deflate",),
        "connection",
        "RSS per idle connection when the client offers permessage-deflate "
        "(as browsers and socket.io-client do): shows whether the server negotiates it",
    )
)
add(Scenario("polling", ("polling",), "ack", "echo over HTTP long-polling only"))
add(
    Scenario(
        "slow_reader",
        ("slow_reader",),
        "broadcast",
        "clients that stop reading while large broadcasts go to them: RSS growth per "
        "broadcast, and the longest a canary client waited for an ack (the loop's stall)",
    )
)

add(
    Scenario(
        "scale",
        tuple(
            f"scale_{part}_{n}"
            for n in (1000, 3000, 10000)
            for part in ("connect", "idle", "fanout")
        ),
        "handshake",
        "connections in steps up to 10,000 (all kept open): per step the handshake CPU "
        "and rate, RSS per connection, and CPU per delivery of broadcasts to every "
        "socket; run on its own (--scenarios scale), not in the default set",
    )
)

DEFAULT_SCENARIOS = ("connect", "echo", "fanout", "idle", "idle_deflate", "polling")
