"""The inspector's state: sockets, rooms, servers and the packet log, with no Textual in sight.

Theory of operation
-------------------
The admin namespace sends a snapshot (``all_sockets``) followed by deltas (the other
official events), plus our optional ``sioscope:packets`` stream. ``Model.apply(event,
args)`` folds one event into plain Python state; the app reads that state at most ~10
times a second. Rules:

1. A socket is keyed by its Socket.IO id (unique across namespaces on one server).
2. ``all_sockets`` replaces every socket and room; the other events are deltas.
   Deltas that name an unknown socket change nothing (the official UI does the same),
   since they can arrive before the snapshot or after the socket is gone.
3. ``socket_updated`` is a deep merge, as lodash ``merge`` in the official UI.
4. Every change bumps ``sockets_version`` and records the id in ``dirty_ids``, so a view
   can reconcile by key instead of rebuilding; ``take_changes()`` hands the set over.
5. Filter and sort run here, not in widgets; ``visible_ids()`` is cached per
   (order, filter, sort) and kept when an update moves no socket in the order and, under
   a filter, turns no socket in or out of it: 1,000 ``socket_updated`` a second on
   10,000 sockets cost a check of the changed ones, not a pass over all.
6. The packet log is a bounded ring. A paused view stops taking records but keeps
   counting the ones that match its filter (``pending``).
7. ``sioscope:packets`` batches carry ``seq``; a jump means lost batches and sets
   ``resync_needed`` (the client then sends ``sioscope:resync``). ``dropped`` only
   adds to a counter: a snapshot cannot bring lost packet records back.
8. Time comes from an injectable clock, so tests and screenshots are deterministic.
9. Events are dispatched through one explicit table, event name -> handler
   (``Model.handlers``); the names are those of ``sioscope.server.admin.protocol``, the
   module the server writes them from.
10. Stream records become Socket.IO packets (``decoding``: the server's own parser, one
    decoder per connection and direction); the out records of one encoding (the same
    fan-out id, docs/admin-extension.md) are one line with every recipient. Node sends
    no such id: consecutive ``event_sent`` of one namespace and arguments to different
    sockets within ``NODE_FANOUT_MS`` (how it reports a broadcast) are one line too.

What the model holds lives in modules of its own (under ``sioscope.inspector``): the
record types in ``records``, the filter grammar (rule 5) in ``filtering``, the packet
ring and its view (rule 6) in ``packet_log``, the sparkline counters in ``series``.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable
from typing import Any

from sioscope.inspector import cluster
from sioscope.inspector import columns as colmod
from sioscope.inspector.columns import Column
from sioscope.inspector.decoding import ENGINE_ONLY, ConnectionDecoder, Meaning, wire_payload
from sioscope.inspector.diagnostics import DiagnosticsState
from sioscope.inspector.filtering import Filter
from sioscope.inspector.journal import Journal
from sioscope.inspector.packet_log import PacketLog
from sioscope.inspector.records import (
    PacketRecord,
    ServerInfo,
    SocketInfo,
    compact_json,
    deep_merge,
    parse_timestamp,
)
from sioscope.inspector.series import Series
from sioscope.server.admin import protocol

AGGREGATED_SERIES = {
    protocol.AGG_RAW_CONNECTION: "connections",
    protocol.AGG_RAW_DISCONNECTION: "disconnections",
    protocol.AGG_BYTES_IN: "bytesIn",
    protocol.AGG_BYTES_OUT: "bytesOut",
    protocol.AGG_PACKETS_IN: "packetsIn",
    protocol.AGG_PACKETS_OUT: "packetsOut",
}
"""``server_stats.aggregatedEvents`` type -> the model's series it adds to."""

_NO_HEADER = object()
NODE_FANOUT_MS = 20
"""How far apart Node's event_sent of one broadcast may be stamped (one loop)."""
FANOUT_MEMORY = 4096
"""Fan-out ids remembered: a broadcast's records arrive within a batch or two."""

_SOCKET_PROBE = SocketInfo("", "", "", "", "", [], {}, {}, 0.0)


class Model:
    """Everything the inspector knows about the attached server."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        packet_capacity: int = 100_000,
        journal: Journal | None = None,
    ) -> None:
        self.clock: Callable[[], float] = clock
        self.journal = journal
        """Every event as received, for the export (``capture`` format); None: not kept."""
        self.sockets: dict[str, SocketInfo] = {}
        self.servers: dict[str, ServerInfo] = {}
        self.features: set[str] = set()
        self.config_received = False
        self.session_id: str | None = None
        self.packets = PacketLog(packet_capacity)
        self.filter = Filter()
        self.sort_key = "age"
        self.sort_reverse = False
        self.columns: list[str] = colmod.default_columns()
        """The Sockets table's chosen column ids (``columns``), in display order."""
        self.server_column_offered = False
        """SERVER joined the columns once (``cluster`` rule 2): not again."""
        self._sort_col: Column | None = None
        self.sockets_version = 0
        self.dirty_ids: set[str] = set()
        self.structure_changed = False
        """Sockets were added or removed since the last ``take_changes``."""
        self._visible: list[str] = []
        self._visible_key: tuple[int, str, str, bool] | None = None
        self.series: dict[str, Series] = {
            name: Series(gauge=name in ("clients", "websocket", "polling"))
            for name in (
                "connections",
                "disconnections",
                "bytesIn",
                "bytesOut",
                "packetsIn",
                "packetsOut",
                "clients",
                "websocket",
                "polling",
            )
        }
        self.seq_expected: int | None = None
        self.remote_seq: dict[str, int] = {}
        """Next ``seq`` of each other server's batches (the stream across a cluster)."""
        self.resync_needed = False
        self.gaps = 0
        self.snapshots = 0
        """``sioscope:snapshot`` markers seen: one on connect, one per resync."""
        self.dropped = 0
        self.events_seen = 0
        self.unknown_events: dict[str, int] = {}
        self._order: list[Any] = []
        self._keyof: dict[str, Any] = {}
        self._order_for: str | None = None
        self.rooms_version = 0
        """Bumped when a room's members may have changed (sockets came or went, joined or
        left): what the Rooms view redraws on, not every ``socket_updated``."""
        self.visible_version = 0
        """Bumped each time ``visible_ids`` makes a new list (the order or what passes the
        filter changed)."""
        self._rooms: tuple[object, dict[str, dict[str, list[str]]]] | None = None
        self.order_version = 0
        """Bumped when the sort order (or the set of sockets) changed: ``visible_ids``'
        list is rebuilt then, and only then or when the filter's answer changed."""
        self._unchecked: set[str] = set()
        """Ids changed since ``visible_ids`` last checked them against the filter."""
        self._matching: set[str] = set()
        """The ids the current filter lets through, as of the last ``visible_ids``."""
        self._by_client: dict[str, dict[str, str]] = {}
        """clientId -> namespace -> socket id, kept as sockets come and go: the packet
        stream names Engine.IO clients, and each batch looks up its records' sockets."""
        self.own_socket_id: str | None = None
        """The inspector's own admin socket (listed by Node's all_sockets, not by ours)."""
        self.snapshot_loading = False
        """A paged snapshot has begun and its last page is still to come."""
        self.snapshot_total = 0
        self._decoders: dict[tuple[str, str], ConnectionDecoder] = {}
        """(client, direction) -> its decoder, once it sent a binary packet."""
        self._text_decoder = ConnectionDecoder()
        self._pending: dict[tuple[str, str], tuple[float, int, str | None, Any]] = {}
        """(client, direction) -> a binary header's time, size, preview and fan-out id."""
        self._fanouts: dict[tuple[str, int], PacketRecord] = {}
        """(server id, fan-out id) -> the row of that encoding: fan-out ids are positions
        in each server's own ring, so two servers' ids are unrelated."""
        self.connected_server = ""
        """The ``serverId`` of the server we are connected to (its ``sioscope:snapshot``):
        the server of its batches' records, which carry no ``serverId``."""
        self.diag = DiagnosticsState()
        """``sioscope:diagnostics``, folded (``sioscope.inspector.diagnostics``)."""
        self._node_fanouts: dict[tuple[str, str], PacketRecord] = {}
        """The latest Node event_sent line, which the next one may join (rule 10)."""
        self.handlers: dict[str, Callable[..., None]] = {
            protocol.SESSION: self._on_session,
            protocol.CONFIG: self._on_config,
            protocol.ALL_SOCKETS: self._on_all_sockets,
            protocol.SOCKET_CONNECTED: self._on_socket_connected,
            protocol.SOCKET_UPDATED: self._on_socket_updated,
            protocol.SOCKET_DISCONNECTED: self._on_socket_disconnected,
            protocol.ROOM_JOINED: self._on_room_joined,
            protocol.ROOM_LEFT: self._on_room_left,
            protocol.EVENT_RECEIVED: self._on_event_received,
            protocol.EVENT_SENT: self._on_event_sent,
            protocol.SERVER_STATS: self._on_server_stats,
            protocol.EV_SNAPSHOT: self._on_snapshot,
            protocol.EV_SNAPSHOT_PAGE: self._on_snapshot_page,
            protocol.EV_PACKETS: self._on_packets,
            protocol.EV_DIAGNOSTICS: self._on_diagnostics,
        }
        """What :meth:`apply` dispatches to: every official event and ours (rule 9)."""

    # -- derived

    @property
    def has_packet_stream(self) -> bool:
        return protocol.PACKET_FEATURE in self.features

    @property
    def has_diagnostics(self) -> bool:
        """The server offers ``sioscope:diagnostics`` (the inspector subscribes then)."""
        return protocol.DIAGNOSTICS_FEATURE in self.features

    @property
    def development(self) -> bool:
        """Per-socket events flow (``ALL_EVENTS``), as the official UI decides it."""
        return (
            protocol.FEATURE_ALL_EVENTS in self.features
            or protocol.FEATURE_AGGREGATED_EVENTS not in self.features
        )

    def can(self, feature: str) -> bool:
        return feature in self.features

    def rooms(self, filtered: bool = False) -> dict[str, dict[str, list[str]]]:
        """namespace -> room -> socket ids, own-id rooms included, everything sorted.

        ``filtered`` keeps only the sockets that pass the socket filter. Cached until
        membership (``rooms_version``) or what passes the filter changes: 10,000 sockets
        cost ~40 ms, once, not on every view switch. The result is shared: read it only.
        """
        out: dict[str, dict[str, list[str]]] = {}
        sockets: Iterable[SocketInfo] = self.sockets.values()
        narrowed = filtered and bool(self.filter)
        if narrowed:
            visible = self.visible_ids()
        key = (self.rooms_version, narrowed, self.visible_version if narrowed else None)
        if self._rooms is not None and self._rooms[0] == key:
            return self._rooms[1]
        if narrowed:
            sockets = [self.sockets[i] for i in visible]
        for sock in sockets:
            per_nsp = out.setdefault(sock.nsp, {})
            for room in sock.rooms:
                per_nsp.setdefault(room, []).append(sock.id)
        result = {
            nsp: {room: sorted(ids) for room, ids in sorted(rooms.items())}
            for nsp, rooms in sorted(out.items())
        }
        self._rooms = (key, result)
        return result

    def namespaces(self) -> dict[str, int]:
        """Socket count per namespace: from the socket list, else summed from stats."""
        counts: dict[str, int] = {}
        if self.development and self.sockets:
            for sock in self.sockets.values():
                counts[sock.nsp] = counts.get(sock.nsp, 0) + 1
            return dict(sorted(counts.items()))
        for server in self.servers.values():
            for name, n in server.namespaces.items():
                counts[name] = counts.get(name, 0) + n
        return dict(sorted(counts.items()))

    def clients(self) -> tuple[int, int]:
        """(websocket, polling) Engine.IO client counts, from stats when there are any."""
        if self.servers:
            total = sum(s.clients for s in self.servers.values())
            polling = sum(s.polling_clients for s in self.servers.values())
            return total - polling, polling
        by_client: dict[str, str] = {s.client_id: s.transport for s in self.sockets.values()}
        polling = sum(1 for t in by_client.values() if t == "polling")
        return len(by_client) - polling, polling

    # -- filter and sort

    def set_filter(self, expression: str) -> None:
        """Compile the socket filter; raises ``FilterError`` and keeps the previous one."""
        flt = Filter(expression)
        flt.validate_fields(_SOCKET_PROBE)
        self.filter = flt

    # -- columns (``sioscope.inspector.columns``)

    def column_available(self, col: Column) -> bool:
        """Whether the server sends what ``col`` shows (columns rule 4)."""
        return col.feature is None or col.feature in self.features

    def shown_columns(self) -> list[Column]:
        """The chosen columns the server has data for, in display order."""
        out = []
        for cid in self.columns:
            col = colmod.column(cid)
            if col is not None and self.column_available(col):
                out.append(col)
        return out

    def set_columns(self, ids: Iterable[str]) -> None:
        """Choose the Sockets table's columns; unknown ids raise ``ValueError``."""
        chosen = list(dict.fromkeys(ids))
        for cid in chosen:
            if colmod.column(cid) is None:
                raise ValueError(f"unknown column {cid!r}")
        if not chosen:
            raise ValueError("at least one column")
        self.columns = chosen

    def sortable_columns(self) -> list[Column]:
        """What ``s`` cycles through: the shown columns that sort."""
        return [c for c in self.shown_columns() if c.sort is not None]

    def sort_value(self, key: str, sock: SocketInfo) -> tuple[Any, ...]:
        """The sort key of ``sock`` under the column ``key``; ends with the socket id, so
        keys are unique (rule 5)."""
        col = self._sort_col
        if col is None or col.id != key:
            col = colmod.column(key)
            if col is None or col.sort is None:
                raise ValueError(f"unknown sort key {key!r}")
            self._sort_col = col  # a data column is made on demand: once, not per socket
        assert col.sort is not None
        return (*col.sort(self, sock), sock.id)

    def set_sort(self, key: str, reverse: bool | None = None) -> None:
        col = colmod.column(key)
        if col is None or col.sort is None:
            raise ValueError(f"unknown sort key {key!r}")
        if reverse is None:
            reverse = not self.sort_reverse if key == self.sort_key else False
        self.sort_key, self.sort_reverse = key, reverse

    def _sorted_keys(self) -> list[Any]:
        """Sort keys of every socket, in order, kept up to date by ``_touch``.

        Re-sorting 10,000 sockets ten times a second is most of a frame; with churn
        of a few sockets per update, a bisect insert or delete per change is not.
        Every key ends with the socket id, so keys are unique and bisect finds each.
        """
        if self._order_for != self.sort_key:
            key = self.sort_key
            self._keyof = {sid: self.sort_value(key, sock) for sid, sock in self.sockets.items()}
            self._order = sorted(self._keyof.values())
            self._order_for = self.sort_key
            self.order_version += 1
        return self._order

    def _reorder(self, sid: str) -> None:
        """Move ``sid`` to its place in the order; bump ``order_version`` if it moved."""
        if self._order_for != self.sort_key:
            return
        sock = self.sockets.get(sid)
        new = self.sort_value(self.sort_key, sock) if sock is not None else None
        old = self._keyof.get(sid)
        if new == old:
            return  # a data change that leaves the sort key alone (most of them)
        if old is not None:
            del self._keyof[sid]
            i = bisect.bisect_left(self._order, old)
            if i < len(self._order) and self._order[i] == old:
                del self._order[i]
        if new is not None:
            self._keyof[sid] = new
            bisect.insort(self._order, new)
        self.order_version += 1

    def visible_ids(self) -> list[str]:
        """Socket ids that pass the filter, in sort order (cached, rule 5).

        The same list object is returned while nothing in it changed, so a caller can
        tell a new order by identity.
        """
        order = self._sorted_keys()
        flt = self.filter
        key = (self.order_version, flt.expression, self.sort_key, self.sort_reverse)
        if key == self._visible_key:
            if not flt or not self._unchecked:
                self._unchecked.clear()
                return self._visible
            sockets, matching = self.sockets, self._matching
            flipped = any(
                (sid in matching) != (sid in sockets and flt.matches(sockets[sid]))
                for sid in self._unchecked
            )
            self._unchecked.clear()
            if not flipped:
                return self._visible
        ids = [k[-1] for k in (reversed(order) if self.sort_reverse else order)]
        if flt:
            sockets = self.sockets
            ids = [i for i in ids if flt.matches(sockets[i])]
            self._matching = set(ids)
        else:
            self._matching = set()
        self._unchecked.clear()
        self._visible = ids
        self._visible_key = key
        self.visible_version += 1
        return self._visible

    def take_changes(self) -> tuple[set[str], bool]:
        """The ids changed since the last call, and whether rows came or went."""
        dirty, structural = self.dirty_ids, self.structure_changed
        self.dirty_ids, self.structure_changed = set(), False
        return dirty, structural

    def take_resync(self) -> bool:
        """True once after a gap was seen in the packet stream."""
        needed, self.resync_needed = self.resync_needed, False
        return needed

    # -- applying events

    def _touch(self, sid: str, structural: bool = False) -> None:
        self._reorder(sid)
        self.sockets_version += 1
        self.dirty_ids.add(sid)
        self._unchecked.add(sid)
        if structural:
            self.rooms_version += 1
        if len(self._unchecked) > 1000 + len(self.sockets):
            # Nobody asks for visible_ids (``sioscope record``): forget, recompute later.
            self._unchecked.clear()
            self._visible_key = None
        if structural:
            self.structure_changed = True

    def apply(self, event: str, args: list[Any]) -> None:
        """Fold one admin-namespace event into the state. Malformed args are ignored."""
        self.events_seen += 1
        if self.journal is not None:
            self.journal.add(int(self.clock() * 1000), event, args)
        handler = self.handlers.get(event)
        if handler is None:
            self.unknown_events[event] = self.unknown_events.get(event, 0) + 1
            return
        try:
            handler(*args)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError):
            # A server that sends an unexpected shape must not take the inspector down;
            # the count is shown in the status bar so it does not go unnoticed either.
            self.unknown_events["malformed " + event] = (
                self.unknown_events.get("malformed " + event, 0) + 1
            )

    def _on_session(self, session_id: str, *_: Any) -> None:
        self.session_id = str(session_id)

    def _on_config(self, config: dict[str, Any], *_: Any) -> None:
        self.features = {str(f) for f in config.get("supportedFeatures", [])}
        self.config_received = True

    def _on_snapshot_page(self, page: dict[str, Any], *_: Any) -> None:
        """One page of a paged ``all_sockets`` (docs/admin-extension.md): page 0 replaces
        the list, as ``all_sockets`` does, the others add to it."""
        sockets = page["sockets"]
        if not isinstance(sockets, list):
            raise TypeError("sockets: not a list")
        self.snapshot_total = int(page.get("total", 0))
        self.snapshot_loading = not page.get("last", True)
        self._on_all_sockets(sockets, replace=int(page["page"]) == 0)

    def _on_all_sockets(self, sockets: list[dict[str, Any]], *_: Any, replace: bool = True) -> None:
        now = self.clock()
        if replace:
            self.sockets = {}
            self.dirty_ids = set()
            self._by_client = {}
        for raw in sockets:
            if isinstance(raw, dict):
                sock = SocketInfo.from_wire(raw, now)
                self._forget_client(self.sockets.get(sock.id))
                self.sockets[sock.id] = sock
                self._by_client.setdefault(sock.client_id, {})[sock.nsp] = sock.id
                self.dirty_ids.add(sock.id)  # a page: only its own rows, not all so far
        self.structure_changed = True
        self.sockets_version += 1
        self.rooms_version += 1
        self._order_for = None

    def _on_socket_connected(self, raw: dict[str, Any], ts: Any = None, *_: Any) -> None:
        now = self.clock()
        sock = SocketInfo.from_wire(raw, now)
        self._forget_client(self.sockets.get(sock.id))
        self.sockets[sock.id] = sock
        self._by_client.setdefault(sock.client_id, {})[sock.nsp] = sock.id
        self._touch(sock.id, structural=True)
        self._info(ts, sock, "connect", 0, sock.transport)

    def _on_socket_updated(self, partial: dict[str, Any], *_: Any) -> None:
        sock = self.sockets.get(str(partial.get("id")))
        if sock is None:
            return
        if "transport" in partial:
            sock.transport = str(partial["transport"])
        if isinstance(partial.get("data"), dict):
            deep_merge(sock.data, partial["data"])
        if isinstance(partial.get("rooms"), list):
            sock.rooms = [str(r) for r in partial["rooms"]]
            self.rooms_version += 1
        if isinstance(partial.get("handshake"), dict):
            deep_merge(sock.handshake, partial["handshake"])
        sock.changed()
        self._touch(sock.id)

    def _on_socket_disconnected(self, nsp: str, sid: str, reason: str = "", ts: Any = None) -> None:
        sock = self.sockets.pop(str(sid), None)
        if sock is None:
            return
        self._forget_client(sock)
        self._touch(sock.id, structural=True)
        self._info(ts, sock, "disconnect", 0, str(reason))

    def _on_room_joined(self, nsp: str, room: str, sid: str, ts: Any = None) -> None:
        sock = self.sockets.get(str(sid))
        if sock is None or room in sock.rooms:
            return
        sock.rooms.append(str(room))
        self.rooms_version += 1
        sock.changed()
        self._touch(sock.id)

    def _on_room_left(self, nsp: str, room: str, sid: str, ts: Any = None) -> None:
        sock = self.sockets.get(str(sid))
        if sock is None or room not in sock.rooms:
            return
        sock.rooms.remove(room)
        self.rooms_version += 1
        sock.changed()
        self._touch(sock.id)

    def _event_record(self, direction: str, nsp: str, sid: str, args: list[Any], ts: Any) -> None:
        """Node has no packet stream: its per-socket events fill the packet log instead."""
        if self.has_packet_stream:
            return
        sock = self.sockets.get(str(sid))
        text = compact_json(args)
        if direction == "out":
            # Node reports a broadcast as one event_sent per recipient, one after the
            # other with the same arguments (and times a loop apart): such a run within
            # NODE_FANOUT_MS is shown as one fan-out line (rule 10), as our stream's are.
            key = (str(nsp), text)
            group = self._node_fanouts.get(key)
            stamp = parse_timestamp(ts, self.clock())
            if (
                group is not None
                and group.socket_id != str(sid)
                and 0 <= stamp - group.ts <= NODE_FANOUT_MS / 1000
            ):
                if not group.recipients:
                    group.recipients.append((group.socket_id, group.client_id))
                if all(r[0] != str(sid) for r in group.recipients):
                    group.recipients.append((str(sid), sock.client_id if sock else ""))
                    self.packets.version += 1
                    return
        first = args[0] if isinstance(args, list) and args else None
        name = first if isinstance(first, str) else None
        rec = PacketRecord(
            ts=parse_timestamp(ts, self.clock()),
            client_id=sock.client_id if sock else "",
            direction=direction,
            type="event",
            size=len(text.encode()),
            preview=text[:120],
            socket_id=str(sid),
            nsp=str(nsp),
            sio="EVENT",
            event=name,
            args=args[1:] if name is not None else args,
            server_id=sock.server_id if sock else "",
        )
        if direction == "out":
            self._node_fanouts = {(str(nsp), text): rec}  # only the latest
        self.packets.append([rec])

    def _on_event_received(self, nsp: str, sid: str, args: list[Any], ts: Any = None) -> None:
        self._event_record("in", nsp, sid, args, ts)

    def _on_event_sent(self, nsp: str, sid: str, args: list[Any], ts: Any = None) -> None:
        self._event_record("out", nsp, sid, args, ts)

    def _info(self, ts: Any, sock: SocketInfo, kind: str, size: int, detail: str) -> None:
        if self.has_packet_stream:
            return
        self.packets.append(
            [
                PacketRecord(
                    ts=parse_timestamp(ts, self.clock()),
                    client_id=sock.client_id,
                    direction="info",
                    type=f"{kind}:{detail}" if detail else kind,
                    size=size,
                    preview=None,
                    socket_id=sock.id,
                    nsp=sock.nsp,
                    server_id=sock.server_id,
                )
            ]
        )

    def _on_server_stats(self, stats: dict[str, Any], *_: Any) -> None:
        now = self.clock()
        sid = str(stats.get("serverId", "?"))
        server = self.servers.get(sid) or ServerInfo(sid)
        server.hostname = str(stats.get("hostname", ""))
        server.pid = int(stats.get("pid", 0) or 0)
        server.uptime = float(stats.get("uptime", 0.0) or 0.0)
        server.clients = int(stats.get("clientsCount", 0) or 0)
        server.polling_clients = int(stats.get("pollingClientsCount", 0) or 0)
        server.namespaces = {
            str(n.get("name")): int(n.get("socketsCount", 0))
            for n in stats.get("namespaces", [])
            if isinstance(n, dict)
        }
        self.servers[sid] = server
        counts: dict[str, float] = {}
        for agg in stats.get("aggregatedEvents", []):
            if not isinstance(agg, dict) or agg.get("type") not in AGGREGATED_SERIES:
                continue
            second = int(parse_timestamp(agg.get("timestamp"), now))
            series = AGGREGATED_SERIES[agg["type"]]
            self.series[series].add(second, float(agg.get("count", 0)))
            counts[series] = counts.get(series, 0.0) + float(agg.get("count", 0))
        server.observe(now, counts)  # last_seen, the measured interval, per-server rates
        cluster.offer_server_column(self)
        for name in AGGREGATED_SERIES.values():  # the stats cover every second until now
            self.series[name].cover(int(now) - 1)
        ws, polling = self.clients()
        second = int(now)
        self.series["clients"].set(second, ws + polling)
        self.series["websocket"].set(second, ws)
        self.series["polling"].set(second, polling)

    def _on_snapshot(self, info: Any = None, *_: Any) -> None:
        server = info.get("serverId") if isinstance(info, dict) else None
        if isinstance(server, str):
            self.connected_server = server
        self.seq_expected = 1
        self.snapshots += 1

    def _on_packets(self, batch: dict[str, Any], *_: Any) -> None:
        seq = int(batch.get("seq", 0))
        remote = batch.get("serverId")
        server = remote if isinstance(remote, str) else self.connected_server
        if isinstance(remote, str):
            # another server of the cluster: its own sequence (docs/admin-extension.md);
            # a gap there is counted, but a resync of ours would not restart it
            expected = self.remote_seq.get(remote)
            if expected is not None and seq != expected:
                self.gaps += 1
            self.remote_seq[remote] = seq + 1
        else:
            if self.seq_expected is not None and seq != self.seq_expected:
                self.gaps += 1
                self.resync_needed = True
            self.seq_expected = seq + 1
        self.dropped += int(batch.get("dropped", 0) or 0)
        records = []
        for rec in batch.get("records", []):
            if isinstance(rec, list) and len(rec) >= 6:
                out = self._packet_record(rec, server)
                if out is not None:
                    records.append(out)
        self.packets.append(records)

    def _packet_record(self, rec: list[Any], server: str = "") -> PacketRecord | None:
        """One stream record of ``server`` as a log line (rule 10); None when it joins
        another line (an attachment of a binary packet, one more recipient of a fan-out)."""
        ts, cid, kind, ptype, size, preview = rec[:6]
        cid, size = str(cid), int(size or 0)
        preview = preview if isinstance(preview, str) else None
        stamp = parse_timestamp(ts, self.clock())
        if kind not in (protocol.KIND_IN, protocol.KIND_OUT):
            if kind == protocol.KIND_CLOSE:  # the connection is gone: so are its decoders
                self._decoders.pop((cid, protocol.KIND_IN), None)
                self._decoders.pop((cid, protocol.KIND_OUT), None)
            sid = self._socket_of(cid, None)
            sock = self.sockets.get(sid) if sid else None
            return PacketRecord(
                ts=stamp,
                client_id=cid,
                direction="info",
                type=f"{kind}:{ptype}" if ptype is not None else str(kind),
                size=size,
                preview=preview,
                socket_id=sock.id if sock else "",
                nsp=sock.nsp if sock else "",
                engine_only=kind == protocol.KIND_DRAIN,
                server_id=server,
            )
        meaning: Meaning | None = None
        fanout_of_header: Any = _NO_HEADER
        if ptype == "message":
            payload = wire_payload(rec[6]) if len(rec) > 6 else None
            key = (cid, str(kind))
            decoder = self._decoders.get(key)
            text = payload if payload is not None else preview
            if decoder is None and type(text) is str and text[:1] not in ("5", "6"):
                # A packet without attachments never leaves a decoder waiting: one
                # shared decoder serves them, so a connection costs nothing until it
                # sends a binary packet.
                decoder = self._text_decoder
            elif decoder is None:
                decoder = self._decoders[key] = ConnectionDecoder()
            meaning = decoder.feed(payload, preview, size)
            if meaning is None:  # a binary packet waits for its attachments
                pending = self._pending.get(key)
                if pending is None:
                    self._pending[key] = (stamp, size, preview, rec[7] if len(rec) > 7 else None)
                else:
                    p_stamp, p_size, p_preview, p_fanout = pending
                    self._pending[key] = (p_stamp, p_size + size, p_preview, p_fanout)
                return None
            if decoder is not self._text_decoder:
                pending = self._pending.pop(key, None)
                if pending is not None:  # the last attachment: the packet is its header's
                    stamp, p_size, preview, fanout_of_header = pending
                    size += p_size
        # A message names its namespace; other packets (ping, pong, upgrade…) belong to
        # the client's only socket when it has one, else to the client.
        nsp = meaning.nsp if meaning is not None and meaning.sio else None
        sid = self._socket_of(cid, nsp)
        sock = self.sockets.get(sid) if sid else None
        if fanout_of_header is not _NO_HEADER:
            fanout = fanout_of_header if isinstance(fanout_of_header, int) else None
        else:
            fanout = rec[7] if len(rec) > 7 and isinstance(rec[7], int) else None
        if fanout is not None:
            group = self._fanouts.get((server, fanout))
            if group is not None:  # one more recipient of one encoding (rule 10)
                if not group.recipients:
                    group.recipients.append((group.socket_id, group.client_id))
                group.recipients.append((sock.id if sock else "", cid))
                self.packets.version += 1
                return None
        out = PacketRecord(
            ts=stamp,
            client_id=cid,
            direction=str(kind),
            type=str(ptype),
            size=size,
            preview=preview,
            socket_id=sock.id if sock else "",
            nsp=sock.nsp if sock else (nsp or ""),
            engine_only=ptype in ENGINE_ONLY,
            fanout=fanout,
            server_id=server,
        )
        if meaning is not None:
            out.sio, out.ack_id, out.event = meaning.sio, meaning.ack_id, meaning.event
            out.args, out.frames, out.error = meaning.args, meaning.frames, meaning.error
        if fanout is not None:
            self._fanouts[(server, fanout)] = out
            if len(self._fanouts) > FANOUT_MEMORY:
                del self._fanouts[next(iter(self._fanouts))]
        return out

    def _socket_of(self, client_id: str, nsp: str | None) -> str | None:
        """The socket of ``client_id`` on ``nsp``; with no namespace, the client's only
        socket (None when it has several: the record is the client's, not a socket's)."""
        per_nsp = self._by_client.get(client_id)
        if not per_nsp:
            return None
        if nsp is None:
            return next(iter(per_nsp.values())) if len(per_nsp) == 1 else None
        return per_nsp.get(nsp)

    def _forget_client(self, sock: SocketInfo | None) -> None:
        """Take ``sock`` out of the client index (it left, or is being replaced)."""
        if sock is None:
            return
        per_nsp = self._by_client.get(sock.client_id)
        if per_nsp is not None and per_nsp.get(sock.nsp) == sock.id:
            del per_nsp[sock.nsp]
            if not per_nsp:
                del self._by_client[sock.client_id]

    def _on_diagnostics(self, message: dict[str, Any], *_: Any) -> None:
        """Latency, owed bytes, exchanges, refusals (``diagnostics``); the sockets of
        every client whose latency or owed bytes changed are touched, so their rows are
        drawn again and a sort by those columns stays right (rule 4)."""
        if not isinstance(message, dict):
            raise TypeError("diagnostics: not an object")
        changed = self.diag.apply(message, lambda cid, nsp: self._socket_of(cid, nsp) or "")
        for cid in changed:
            for sid in list(self._by_client.get(cid, {}).values()):
                self._touch(sid)

    # -- export

    def export_sockets(self) -> list[dict[str, Any]]:
        """The visible (filtered, sorted) sockets in their wire shape."""
        return [self.sockets[i].to_json() for i in self.visible_ids() if i in self.sockets]

    def server_health(self) -> list[tuple[ServerInfo, bool]]:
        now = self.clock()
        return [
            (s, s.healthy(now)) for s in sorted(self.servers.values(), key=lambda s: s.server_id)
        ]
