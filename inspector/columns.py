"""The Sockets table's columns, as data: what each shows, how it sorts, how wide it may be.

One registry (``COLUMNS``) feeds the table, the sort key (``s`` cycles through the shown
columns that sort), the column chooser (``C``) and the model's sort order, so a column is
added in one place. Rules:

1. A column is a :class:`Column`: an ``id`` (the model's sort key and the chooser's
   value), a header ``title``, a ``cell`` function and an optional ``sort`` function,
   both of ``(model, socket)``. A sort value is a tuple of comparable parts; the model
   appends the socket id, so equal values keep a stable, unique order.
2. The registry's order is the display order. Another part of the inspector adds a
   column with :func:`register` (``after=`` places it), at import time.
3. ``data`` fields are columns too, made on demand: the id ``data.user.name`` shows
   ``socket.data["user"]["name"]`` (:func:`data_column`); :func:`data_fields` lists the
   paths the current sockets have, for the chooser.
4. A column that needs a server feature (``feature``) is shown only when the server
   advertises it; the chooser lists it with the reason it is empty.
5. Widths by need (:func:`layout`): each column wants the widest of its header and its
   cells on screen, kept between ``min_width`` and ``max_width``; space left over goes
   to the ``flex`` column. When the terminal is too narrow, over-wide headers and cells
   and then the flex column give way first, then whole columns leave in ``keep`` order
   (the largest ``keep`` first), so the ID and the ROOMS stay longest and no column is
   cut to a stub while another could have left.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sioscope.inspector.records import SocketInfo
from sioscope.inspector.units import human_age, human_size
from sioscope.server.admin import protocol

if TYPE_CHECKING:
    from sioscope.inspector.model import Model

Cell = Callable[["Model", SocketInfo], str]
SortValue = Callable[["Model", SocketInfo], tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the Sockets table (rule 1)."""

    id: str
    title: str
    cell: Cell
    sort: SortValue | None = None
    min_width: int = 4
    max_width: int = 24
    flex: bool = False
    """Takes the space the others leave (rule 5)."""
    keep: int = 5
    """Squeeze order when the terminal is narrow: the largest gives way first."""
    default: bool = False
    """Shown until the user chooses otherwise."""
    feature: str | None = None
    """The ``supportedFeatures`` entry the column's data needs (rule 4)."""
    help: str = ""
    """What the chooser says about it."""


COLUMNS: dict[str, Column] = {}
"""Every registered column, in display order (rule 2)."""


def register(column: Column, *, after: str | None = None) -> Column:
    """Add ``column`` to the registry, at the end or right after the column ``after``."""
    if column.id in COLUMNS:
        raise ValueError(f"column {column.id!r} is already registered")
    if after is None or after not in COLUMNS:
        COLUMNS[column.id] = column
        return column
    items = list(COLUMNS.items())
    at = [cid for cid, _ in items].index(after) + 1
    items.insert(at, (column.id, column))
    COLUMNS.clear()
    COLUMNS.update(items)
    return column


DATA_PREFIX = "data."


def column(column_id: str) -> Column | None:
    """The registered column ``column_id``, or the ``data.`` column it names (rule 3)."""
    found = COLUMNS.get(column_id)
    if found is None and column_id.startswith(DATA_PREFIX) and len(column_id) > len(DATA_PREFIX):
        return data_column(column_id[len(DATA_PREFIX) :])
    return found


def default_columns() -> list[str]:
    """The ids shown before the user chooses (registry order)."""
    return [c.id for c in COLUMNS.values() if c.default]


# -- data fields (rule 3) ----------------------------------------------------------------

_MISSING = object()


def _lookup(data: dict[str, Any], path: Sequence[str]) -> Any:
    value: Any = data
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)


def _sort_value(value: Any) -> tuple[Any, ...]:
    """Numbers before strings before the rest, missing last; never compares across types."""
    if value is _MISSING or value is None:
        return (3, "")
    if isinstance(value, bool):
        return (2, str(value).lower())
    if isinstance(value, int | float):
        return (0, float(value))
    if isinstance(value, str):
        return (1, value)
    return (2, _text(value))


def data_column(path: str) -> Column:
    """The column of ``socket.data`` at the dotted ``path`` (``user.name``)."""
    parts = tuple(path.split("."))

    def cell(model: Model, sock: SocketInfo) -> str:
        return _text(_lookup(sock.data, parts))

    def sort(model: Model, sock: SocketInfo) -> tuple[Any, ...]:
        return _sort_value(_lookup(sock.data, parts))

    return Column(
        DATA_PREFIX + path,
        path.upper(),
        cell,
        sort,
        min_width=4,
        max_width=24,
        keep=6,
        help=f"socket.data.{path}",
    )


def data_fields(sockets: Iterable[SocketInfo], *, limit: int = 40, sample: int = 500) -> list[str]:
    """The dotted paths of the leaf values in the first ``sample`` sockets' ``data``
    (nested objects are walked three levels deep), at most ``limit``, sorted."""
    found: set[str] = set()

    def walk(value: dict[str, Any], prefix: str, depth: int) -> None:
        for key, item in value.items():
            path = f"{prefix}{key}"
            if isinstance(item, dict) and item and depth < 3:
                walk(item, path + ".", depth + 1)
            elif "." not in str(key):
                found.add(path)

    for i, sock in enumerate(sockets):
        if i >= sample or len(found) >= limit:
            break
        walk(sock.data, "", 1)
    return sorted(found)[:limit]


# -- widths by need (rule 5) -------------------------------------------------------------


def layout(columns: Sequence[Column], needs: Sequence[int], total: int) -> list[int]:
    """The width of each column in a line of ``total`` cells; 0 = left out.

    ``needs`` are the widest cells on screen. A line is one leading space, then the cells
    separated by one space. Each column wants room for its cells and its header (plus a
    sort arrow), within its bounds; when that does not fit, in turn until it does:
    headers wider than their cells are cut; cells wider than ``WIDE`` are cut to it (but
    the socket id's); the flex column shrinks to its minimum; columns leave, least kept
    first; the rest shrink to their minimum, least kept first."""
    n = len(columns)
    content = [
        max(c.min_width, min(c.max_width, need)) for c, need in zip(columns, needs, strict=True)
    ]
    widths = [
        max(w, min(c.max_width, len(c.title) + 1)) for c, w in zip(columns, content, strict=True)
    ]
    order = sorted(range(n), key=lambda i: (-columns[i].keep, -i))

    def used() -> int:
        shown = [w for w in widths if w]
        return 1 + sum(shown) + max(0, len(shown) - 1)

    def shrink(i: int, floor: int) -> None:
        if widths[i] > floor and used() > total:
            widths[i] = max(floor, widths[i] - (used() - total))

    for i in order:
        shrink(i, content[i])
    for i in order:
        if columns[i].keep > 0:  # the first-kept (the socket id) is never cut for this
            shrink(i, max(columns[i].min_width, min(content[i], WIDE)))
    for i in order:
        if columns[i].flex:
            shrink(i, columns[i].min_width)
    for i in order:
        if used() <= total or sum(1 for w in widths if w) <= 1:
            break
        widths[i] = 0
    for i in order:
        shrink(i, columns[i].min_width)
    spare = total - used()
    shown = [i for i, w in enumerate(widths) if w]
    if spare > 0 and shown:
        flex = [i for i in shown if columns[i].flex]
        widths[(flex or shown)[-1]] += spare
    return widths


WIDE = 16
"""Cells wider than this are cut before a column leaves the screen (an IPv6 address)."""


# -- the built-in columns ----------------------------------------------------------------


def _rooms(model: Model, sock: SocketInfo) -> str:
    rooms = ", ".join(sock.public_rooms)
    if sock.id == model.own_socket_id:
        return f"◆ this inspector  {rooms}".rstrip()
    return rooms


def _user_agent(sock: SocketInfo) -> str:
    headers = sock.handshake.get("headers")
    if not isinstance(headers, dict):
        return ""
    # Node and ours: "user-agent"; python-socketio: the WSGI name "user_agent".
    value = headers.get("user-agent", headers.get("user_agent", ""))
    return value if isinstance(value, str) else ""


def _ms(value: float) -> str:
    return f"{value:.0f}ms" if value >= 1 or value == 0 else f"{value:.1f}ms"


def _latency_column(column_id: str, title: str, part: str, help: str, default: bool) -> Column:
    """A heartbeat round-trip column (last, p50 or p99 over the server's window)."""

    def cell(model: Model, sock: SocketInfo) -> str:
        lat = model.diag.latency_of(sock.client_id)
        return _ms(getattr(lat, part)) if lat is not None else ""

    def sort(model: Model, sock: SocketInfo) -> tuple[Any, ...]:
        lat = model.diag.latency_of(sock.client_id)
        return (0, float(getattr(lat, part))) if lat is not None else (1, 0.0)

    return Column(
        column_id,
        title,
        cell,
        sort,
        min_width=5,
        max_width=8,
        keep=7 if default else 8,  # leaves before ADDRESS at 80 columns, after OWED
        default=default,
        feature=protocol.DIAGNOSTICS_FEATURE,
        help=help,
    )


def _owed(model: Model, sock: SocketInfo) -> str:
    owed = model.diag.owed_of(sock.client_id)
    return "" if owed is None else "▲" + human_size(owed).replace(" ", "")


def _owed_sort(model: Model, sock: SocketInfo) -> tuple[Any, ...]:
    owed = model.diag.owed_of(sock.client_id)
    return (0 if owed is None else -1, -(owed or 0))  # the slowest first, ascending


for _column in (
    Column(
        "id",
        "ID",
        lambda m, s: s.id,
        lambda m, s: (),
        min_width=8,
        max_width=22,
        keep=0,
        default=True,
        help="the socket id",
    ),
    Column(
        "client",
        "CLIENT",
        lambda m, s: s.client_id,
        lambda m, s: (s.client_id,),
        min_width=6,
        max_width=20,
        keep=7,
        help="the Engine.IO client id (every socket of one connection shares it)",
    ),
    Column(
        "nsp",
        "NAMESPACE",
        lambda m, s: s.nsp,
        lambda m, s: (s.nsp,),
        min_width=4,
        max_width=16,
        keep=2,
        default=True,
        help="the namespace",
    ),
    Column(
        "address",
        "ADDRESS",
        lambda m, s: s.address,
        lambda m, s: (s.address,),
        min_width=7,
        max_width=40,
        keep=6,
        default=True,
        help="the handshake's remote address",
    ),
    Column(
        "transport",
        "TRANSPORT",
        lambda m, s: s.transport,
        lambda m, s: (s.transport,),
        min_width=4,
        max_width=9,
        keep=3,
        default=True,
        help="websocket or polling",
    ),
    Column(
        "useragent",
        "USER AGENT",
        lambda m, s: _user_agent(s),
        lambda m, s: (_user_agent(s),),
        min_width=8,
        max_width=40,
        keep=8,
        help="the handshake's User-Agent header",
    ),
    Column(
        "rooms",
        "ROOMS",
        _rooms,
        lambda m, s: (len(s.rooms),),
        min_width=10,
        max_width=60,
        flex=True,
        keep=1,
        default=True,
        help="the rooms besides the socket's own",
    ),
    _latency_column("rtt", "RTT", "last", "the last heartbeat round trip (ping to pong)", True),
    _latency_column("rtt50", "RTT50", "p50", "the median heartbeat round trip", False),
    _latency_column("rtt99", "RTT99", "p99", "the 99th percentile heartbeat round trip", False),
    Column(
        "owed",
        "OWED",
        _owed,
        _owed_sort,
        min_width=4,
        max_width=9,
        keep=9,  # empty but for slow clients: the first to leave a narrow terminal
        default=True,
        feature=protocol.DIAGNOSTICS_FEATURE,
        help="bytes queued for a client that is not reading (over 64 KiB: slow)",
    ),
    Column(
        "age",
        "AGE",
        lambda m, s: human_age(m.clock() - s.issued),
        lambda m, s: (s.issued,),
        min_width=4,
        max_width=8,
        keep=4,
        default=True,
        help="time since the handshake",
    ),
):
    register(_column)
