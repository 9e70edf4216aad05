"""A seeded, fixed-clock feed of admin events: for snapshot tests, screenshots and the bench.

It produces the official wire shapes (as Node sends them), so whatever it drives goes
through ``Model.apply`` exactly like live traffic does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from sioscope.server.admin import protocol

T0 = 1_795_556_800.0
"""2026-11-24 21:46:40 UTC: every sample timestamp is relative to it."""

ROOMS = ("lobby", "vip", "support", "game-1", "game-2", "beta")
NAMESPACES = ("/", "/", "/", "/chat")


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _iso(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def make_id(rng: random.Random, n: int = 20) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(n))


def wire_socket(rng: random.Random, i: int, now: float) -> dict[str, Any]:
    sid = make_id(rng)
    client = make_id(rng, 12)
    nsp = NAMESPACES[i % len(NAMESPACES)]
    rooms = [sid, *rng.sample(ROOMS, rng.randint(0, 2))]
    issued = now - rng.randint(5, 5000)
    transport = "websocket" if rng.random() < 0.8 else "polling"
    address = f"10.0.{rng.randint(0, 9)}.{rng.randint(2, 250)}"
    return {
        "id": sid,
        "clientId": client,
        "transport": transport,
        "nsp": nsp,
        "data": {"user": {"name": f"user{i}", "plan": rng.choice(["free", "pro"])}},
        "handshake": {
            "address": address,
            "headers": {
                "host": "chat.example.com",
                "user-agent": rng.choice(
                    ["Mozilla/5.0 (X11; Linux x86_64)", "node-XMLHttpRequest"]
                ),
                "accept": "*/*",
            },
            "query": {"EIO": "4", "transport": "polling", "t": make_id(rng, 8)},
            "issued": int(issued * 1000),
            "secure": False,
            "time": "Tue Nov 24 2026 21:46:40 GMT+0000 (Coordinated Universal Time)",
            "url": "/socket.io/?EIO=4&transport=polling",
            "xdomain": False,
        },
        "rooms": rooms,
    }


def snapshot_events(n_sockets: int, seed: int = 7, now: float = T0) -> list[tuple[str, list[Any]]]:
    """What an admin client receives on connect: config, all_sockets, server_stats."""
    rng = random.Random(seed)
    sockets = [wire_socket(rng, i, now) for i in range(n_sockets)]
    features = [
        *protocol.COMMAND_FEATURES,
        *protocol.MULTI_COMMAND_FEATURES,
        protocol.FEATURE_AGGREGATED_EVENTS,
        protocol.FEATURE_ALL_EVENTS,
        protocol.PACKET_FEATURE,
        protocol.DIAGNOSTICS_FEATURE,
    ]
    events: list[tuple[str, list[Any]]] = [
        (protocol.SESSION, ["0123456789abcdef"]),
        (protocol.CONFIG, [{"supportedFeatures": features}]),
        (protocol.EV_SNAPSHOT, [{"seq": 0, "serverId": "demo"}]),
        (protocol.ALL_SOCKETS, [sockets]),
    ]
    for k in range(60, 0, -1):
        events.append((protocol.SERVER_STATS, [stats(rng, now - k, n_sockets, "demo-1")]))
    events.append((protocol.SERVER_STATS, [stats(rng, now - 0.5, n_sockets, "demo-1")]))
    events.append((protocol.SERVER_STATS, [stats(rng, now - 30, n_sockets // 3, "demo-2")]))
    return events


def stats(rng: random.Random, ts: float, clients: int, server_id: str) -> dict[str, Any]:
    second = int(ts) * 1000
    return {
        "serverId": server_id,
        "hostname": "demo-host",
        "pid": 4242 if server_id == "demo-1" else 4343,
        "uptime": 3600.0 + ts - T0,
        "clientsCount": clients,
        "pollingClientsCount": clients // 5,
        "aggregatedEvents": [
            {"timestamp": second, "type": protocol.AGG_RAW_CONNECTION, "count": rng.randint(0, 12)},
            {
                "timestamp": second,
                "type": protocol.AGG_RAW_DISCONNECTION,
                "subType": "transport close",
                "count": rng.randint(0, 8),
            },
            {"timestamp": second, "type": protocol.AGG_PACKETS_IN, "count": rng.randint(50, 300)},
            {"timestamp": second, "type": protocol.AGG_PACKETS_OUT, "count": rng.randint(50, 400)},
            {"timestamp": second, "type": protocol.AGG_BYTES_IN, "count": rng.randint(2000, 40000)},
            {
                "timestamp": second,
                "type": protocol.AGG_BYTES_OUT,
                "count": rng.randint(4000, 90000),
            },
        ],
        "namespaces": [
            {"name": "/", "socketsCount": clients * 3 // 4},
            {"name": "/chat", "socketsCount": clients // 4},
            {"name": "/admin", "socketsCount": 1},
        ],
    }


def packet_batches(
    client_ids: list[str], per_batch: int, batches: int, seed: int = 11, start: float = T0 - 10
) -> Iterator[tuple[str, list[Any]]]:
    """``sioscope:packets`` batches with consecutive ``seq``, 10 a second."""
    rng = random.Random(seed)
    kinds = (
        (protocol.KIND_IN, "message"),
        (protocol.KIND_OUT, "message"),
        (protocol.KIND_OUT, "ping"),
        (protocol.KIND_IN, "pong"),
    )
    for b in range(batches):
        ts = start + b * 0.1
        records = []
        for _ in range(per_batch):
            kind, ptype = rng.choice(kinds)
            payload = f'2["chat","message {rng.randint(0, 999)}"]' if ptype == "message" else None
            records.append(
                [
                    int(ts * 1000),
                    rng.choice(client_ids),
                    kind,
                    ptype,
                    len(payload) if payload else 0,
                    payload,
                ]
            )
        yield protocol.EV_PACKETS, [{"seq": b + 1, "dropped": 0, "records": records}]


def diagnostics_messages(
    sockets: list[dict[str, Any]],
    seconds: int = 30,
    seed: int = 13,
    end: float = T0,
    exchanges_per_s: int | None = None,
) -> Iterator[tuple[str, list[Any]]]:
    """``sioscope:diagnostics``: a snapshot, then one message a second up to ``end``, with
    heartbeats for every client, a few exchanges (some unanswered), refusals of each kind,
    disconnect reasons, the loop lag and two slow clients."""
    rng = random.Random(seed)
    clients = sorted({str(s["clientId"]) for s in sockets})
    by_client = {str(s["clientId"]): s for s in sockets}
    base = {cid: rng.choice((2, 3, 5, 8, 12, 40, 120)) for cid in clients}
    agents = ("curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)", "python-requests/2.32")
    refusals = (
        ("engine", 0, "Transport unknown", {"transport": "carrier-pigeon"}, None),
        ("engine", 1, "Session ID unknown", {"sid": "Zm9vYmFy"}, None),
        ("engine", 3, "Bad request", {"name": "TRANSPORT_MISMATCH"}, None),
        ("middleware", None, "not authorized", {"plan": "free"}, "/chat"),
        ("namespace", None, "Invalid namespace", None, "/nope"),
    )
    start = end - seconds
    slow = rng.sample(clients, min(2, len(clients)))

    def heartbeat(cid: str) -> list[Any]:
        b = base[cid]
        last = b + rng.randint(0, b)
        return [cid, last, b + b // 4, b * 3, 32]

    snapshot = {
        "timestamp": int(start * 1000),
        "snapshot": True,
        "loopLag": None,
        "heartbeats": [heartbeat(c) for c in clients],
        "exchanges": [],
        "pendingAcks": 0,
        "refusals": [],
        "disconnects": [],
        "dropped": 0,
        "slowConnections": [],
    }
    yield protocol.EV_DIAGNOSTICS, [snapshot]
    for k in range(1, seconds + 1):
        ts = start + k
        ms = int(ts * 1000)
        exchanges = []
        for _ in range(rng.randint(1, 4) if exchanges_per_s is None else exchanges_per_s):
            cid = rng.choice(clients)
            sock = by_client[cid]
            answered = rng.random() > 0.1
            exchanges.append(
                [
                    ms - rng.randint(50, 900),
                    cid,
                    rng.choice(("in", "in", "out")),
                    sock["nsp"],
                    rng.randint(1, 300),
                    rng.choice(("chat", "whoami", "move", "typing")),
                    rng.randint(1, 40) if answered else None,
                ]
            )
        found = []
        if rng.random() < 0.3:
            kind, code, message, data, nsp = rng.choice(refusals)
            found.append(
                {
                    "timestamp": ms - rng.randint(0, 999),
                    "kind": kind,
                    "code": code,
                    "message": message,
                    "data": data,
                    "nsp": nsp,
                    "address": f"10.0.{rng.randint(0, 9)}.{rng.randint(2, 250)}",
                    "userAgent": rng.choice(agents),
                    "clientId": None if kind == "engine" else rng.choice(clients),
                }
            )
        disconnects = [
            {"timestamp": ms - 1000, "reason": reason, "count": rng.randint(1, 3)}
            for reason in ("transport close", "ping timeout", "client namespace disconnect")
            if rng.random() < 0.4
        ]
        yield (
            protocol.EV_DIAGNOSTICS,
            [
                {
                    "timestamp": ms,
                    "snapshot": False,
                    "loopLag": {
                        "last": round(rng.uniform(0.1, 2.0), 2),
                        "max": round(rng.uniform(1.0, 9.0), 2),
                        "p50": 0.5,
                        "p99": 3.0,
                    },
                    "heartbeats": [heartbeat(c) for c in rng.sample(clients, len(clients) // 5)],
                    "exchanges": exchanges,
                    "pendingAcks": rng.randint(0, 5),
                    "refusals": found,
                    "disconnects": disconnects,
                    "dropped": 0,
                    "slowConnections": [
                        [cid, 300_000 * (i + 1) + k * 1000, i] for i, cid in enumerate(slow)
                    ],
                }
            ],
        )
