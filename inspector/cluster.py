"""The inspector's view of a cluster: which server each socket is on, each server's
share of the load, and the servers that stopped reporting.

A sioscope server in a cluster names each socket's server (``serverId`` in the
serialized socket, an extension); every server's ``server_stats`` reaches the admin
client through the cluster adapter, Node's admin-ui included. Rules:

1. **Where a socket lives** (:func:`server_of`): the ``serverId`` its server gave it;
   else, when exactly one server reports, that one; else unknown (``?``): a Node
   server does not name its sockets, and a guess would mislead.
2. **The SERVER column** (registered here with the column registry, after NSP) shows
   it, marked ``(stale)`` when that server stopped reporting; it joins the shown
   columns by itself the first time sockets of two servers are listed (once: a user
   who removes it keeps it removed). ``server:NAME`` filters on the name a socket
   carries (``SocketInfo.field_text``), and in the Packets view on the server that
   recorded each packet (``PacketRecord.server_id``: the ``serverId`` of another
   server's batch, else the connected server's).
3. **Stale**: a server is stale once :data:`STALE_INTERVALS` of its stats intervals
   passed without ``server_stats`` (the interval is measured per server, so a server
   sending every 0.5 s is stale after 1.5 s, one at Node's 2 s after 6 s). Stale servers
   stay listed, marked, with how long they have been silent; their last counts are not
   added to the cluster's totals.
4. **Per server and for the cluster** (:func:`server_lines`): each server's clients,
   sockets, packet and byte rates (from its last stats), and one cluster line that sums
   the servers still reporting.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from sioscope.inspector.columns import Column, register
from sioscope.inspector.records import STALE_INTERVALS, ServerInfo, SocketInfo
from sioscope.inspector.units import human_age, human_size

if TYPE_CHECKING:
    from sioscope.inspector.model import Model

__all__ = [
    "SERVER_COLUMN",
    "STALE_INTERVALS",
    "offer_server_column",
    "server_lines",
    "server_of",
    "sockets_per_server",
]

UNKNOWN = "?"


def server_of(model: Model, sock: SocketInfo) -> str:
    """Rule 1: the id of the server ``sock`` lives on, or ``?``."""
    if sock.server_id:
        return sock.server_id
    if len(model.servers) == 1:
        return next(iter(model.servers))
    return UNKNOWN


def _cell(model: Model, sock: SocketInfo) -> str:
    sid = server_of(model, sock)
    server = model.servers.get(sid)
    if server is not None and server.stale(model.clock()):
        return f"{sid} (stale)"
    return sid


def _sort(model: Model, sock: SocketInfo) -> tuple[str]:
    return (server_of(model, sock),)


SERVER_COLUMN = register(
    Column(
        "server",
        "SERVER",
        _cell,
        _sort,
        min_width=6,
        max_width=20,
        keep=7,
        help="the server the socket lives on (a cluster's servers name their sockets)",
    ),
    after="nsp",
)


def offer_server_column(model: Model) -> None:
    """Rule 2: show SERVER once sockets of two servers are listed (not before: against
    Node's servers, which do not name their sockets, it would be a column of ``?``),
    unless already offered. Called on each ``server_stats``."""
    if model.server_column_offered or len(model.servers) < 2:
        return
    named: set[str] = set()
    # a bounded look (called on every server_stats): a cluster of sioscope servers
    # names every socket, so the first ones tell
    for sock in itertools.islice(model.sockets.values(), 2_000):
        if sock.server_id:
            named.add(sock.server_id)
            if len(named) > 1:
                break
    else:
        return
    model.server_column_offered = True
    if SERVER_COLUMN.id in model.columns:
        return
    columns = list(model.columns)
    at = columns.index("nsp") + 1 if "nsp" in columns else min(1, len(columns))
    columns.insert(at, SERVER_COLUMN.id)
    model.columns = columns


def sockets_per_server(model: Model) -> dict[str, int]:
    """How many listed sockets each server holds (``?`` for the unplaced ones)."""
    counts: dict[str, int] = {}
    for sock in model.sockets.values():
        sid = server_of(model, sock)
        counts[sid] = counts.get(sid, 0) + 1
    return counts


def _rates(server: ServerInfo) -> str:
    r = server.rates
    return (
        f"   in {r.get('packetsIn', 0.0):.0f} pkt/s {human_size(r.get('bytesIn', 0.0))}/s"
        f"   out {r.get('packetsOut', 0.0):.0f} pkt/s {human_size(r.get('bytesOut', 0.0))}/s"
    )


def server_lines(model: Model) -> list[str]:
    """Rule 4: the Dashboard's Servers block, one line per server, then the cluster."""
    now = model.clock()
    servers = sorted(model.servers.values(), key=lambda s: s.server_id)
    if not servers:
        return ["[b]Servers[/b]", "[dim]no server_stats yet (sent every 2 s)[/dim]"]
    placed = sockets_per_server(model)
    # the listed sockets when they are placed (development mode, sioscope servers),
    # else each server's own count from its stats (production mode, Node's servers)
    listed = any(sid != UNKNOWN for sid in placed)

    def sockets_of(server: ServerInfo) -> int:
        if listed:
            return placed.get(server.server_id, 0)
        return sum(server.namespaces.values())

    stale = [s for s in servers if s.stale(now)]
    title = f"[b]Servers[/b] {len(servers)}"
    if stale:
        title += f"  [red]{len(stale)} stale[/]"
    lines = [title]
    for server in servers:
        silent = now - server.last_seen
        if server.stale(now):
            state = f"[red]stale: no stats for {human_age(silent)}[/]"
        else:
            state = f"[green]reporting[/] ({silent:.0f}s ago)"
        lines.append(
            f"{server.server_id}  {state}  {server.hostname}:{server.pid}"
            f"  up {human_age(server.uptime)}  clients {server.clients}"
            f"  sockets {sockets_of(server)}"
        )
        lines.append(_rates(server))
    if len(servers) > 1:
        live = [s for s in servers if not s.stale(now)]
        total = ServerInfo("cluster")
        for server in live:
            total.clients += server.clients
            for key, value in server.rates.items():
                total.rates[key] = total.rates.get(key, 0.0) + value
        lines.append(
            f"[b]cluster[/b]  {len(live)} of {len(servers)} reporting  clients {total.clients}"
            f"  sockets {sum(sockets_of(s) for s in live)}"
        )
        lines.append(_rates(total))
    return lines
