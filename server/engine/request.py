"""The request the public hooks see, on every host: ``Request``, ``Headers``, ``Query``.

``allow_request(request)``, ``engine.use(fn)``'s ``fn(request)``, the ``headers`` and
``initial_headers`` events, ``conn.request``, ``socket.request`` and the handshake are
all built from this one type, so a hook written for the aiohttp driver runs unchanged
on the ASGI driver. Each driver builds one ``Request`` per HTTP request (or WebSocket
handshake) from what its host gives it; nothing here imports a host library.

Rules:

1. ``headers`` keep every header line in the order received; lookups are
   case-insensitive and return the first value (``getall`` returns them all), as
   aiohttp's ``CIMultiDict`` does, so the handshake can join repeats as Node does.
2. ``query`` keeps every pair in order; ``get`` and ``[]`` return the first value,
   ``items()`` all of them (aiohttp's ``MultiDict``). The engine itself reads the
   query as Node does (``Object.fromEntries``: the last value of a key wins).
3. ``remote`` is the peer of the TCP connection (``None`` when the host does not
   know it); ``X-Forwarded-For`` is read only by the engine's ``trust_forwarded``.
4. ``secure`` is true when this hop is TLS (``https`` / ``wss``), never from a
   header.
5. A ``Request`` is a mutable mapping of application data, like aiohttp's request:
   a middleware may store ``request[KEY] = value`` and a later hook read it back from
   ``conn.request`` (the handshake's request).
6. ``native`` is the host's own object (an ``aiohttp.web.Request``, or the ASGI
   scope ``dict``), for what this type does not carry; code that reads it is tied to
   one host.
7. Nothing is parsed before it is read: ``headers`` builds its name index on the
   first lookup, ``query`` is split from ``query_string`` on first use, and
   ``query_dict`` (the engine's view, rule 2) once. Most requests of an open polling
   session are answered from the sid, the transport and one or two headers, so
   building every view up front was most of what a ``Request`` cost.
8. What every connection would otherwise hold its own copy of is shared: a header
   line that every client of a server sends alike (``Upgrade: websocket``,
   ``Sec-WebSocket-Version: 13``, ``Host``, a browser's ``User-Agent``) is one
   ``(name, value)`` tuple for all of them, other lines share their name
   (``decode_header``), and the index's lower-case keys are one string per name. An
   idle WebSocket then keeps only what is its own (its key, its cookies). The caches
   are bounded: past their size a line is decoded as before, never cached.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any, TypeVar, overload
from urllib.parse import parse_qsl

_T = TypeVar("_T")
_M = TypeVar("_M", bound="_MultiMapping")

_SCAN_MAX = 6
"""Header lines up to which ``Headers.get`` scans instead of building the index."""

__all__ = ["Headers", "Query", "Request", "decode_header"]

_CACHE_SIZE = 512
"""Entries per string cache of rule 8 (a server sees a few dozen distinct ones)."""

_SHARED_VALUES = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "connection",
        "content-type",
        "host",
        "origin",
        "pragma",
        "sec-fetch-dest",
        "sec-fetch-mode",
        "sec-fetch-site",
        "sec-websocket-extensions",
        "sec-websocket-version",
        "upgrade",
        "user-agent",
    }
)
"""Headers whose values are usually the same for every client (rule 8): every other
header's value (``Sec-WebSocket-Key``, ``Cookie``, ``Authorization``) is its own."""

# raw name -> (name, the shared lines of that name by raw value, or None)
_names: dict[bytes, tuple[str, dict[bytes, tuple[str, str]] | None]] = {}
_lines = 0  # shared lines cached, all names together
_lower: dict[str, str] = {}


def decode_header(raw_name: bytes, raw_value: bytes) -> tuple[str, str]:
    """A header line from the wire (Latin-1) as ``(name, value)`` (rule 8): the very
    tuple of every earlier identical line when every client sends that header alike,
    else a new tuple with the shared name."""
    global _lines
    entry = _names.get(raw_name)
    if entry is None:
        name = raw_name.decode("latin-1")
        entry = (name, {} if name.lower() in _SHARED_VALUES else None)
        if len(_names) < _CACHE_SIZE:
            _names[raw_name] = entry
    name, shared = entry
    if shared is None:
        return name, raw_value.decode("latin-1")
    line = shared.get(raw_value)
    if line is None:
        line = (name, raw_value.decode("latin-1"))
        if _lines < _CACHE_SIZE and len(raw_value) <= 256:
            shared[raw_value] = line
            _lines += 1
    return line


def _lower_key(name: str) -> str:
    """``name.lower()``, one shared string per name (rule 8)."""
    key = _lower.get(name)
    if key is None:
        key = name.lower()
        if len(_lower) < _CACHE_SIZE:
            _lower[name] = key
    return key


class _MultiMapping(Mapping[str, str]):
    """An ordered list of (name, value) pairs, looked up by name (first value wins)."""

    __slots__ = ("_index", "_pairs")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._pairs: list[tuple[str, str]] = list(pairs)
        self._index: dict[str, str] | None = None  # built by the first lookup (rule 7)

    @classmethod
    def owning(cls: type[_M], pairs: list[tuple[str, str]]) -> _M:
        """A mapping over ``pairs`` itself, not a copy: for a driver whose list is made
        for this request and never touched again."""
        mapping = cls.__new__(cls)
        mapping._pairs = pairs
        mapping._index = None
        return mapping

    def _lookup(self) -> dict[str, str]:
        """The name index (first value wins), built once, on the first lookup."""
        index = self._index
        if index is None:
            key = self._key
            index = self._index = {key(name): value for name, value in reversed(self._pairs)}
        return index

    @staticmethod
    def _key(name: str) -> str:
        return name

    def __getitem__(self, name: str) -> str:
        return self._lookup()[self._key(name)]

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, /, default: str | _T) -> str | _T: ...
    def get(self, name: str, /, default: object = None) -> object:
        """The first value of ``name``, or ``default`` (a dict lookup: ``Mapping.get``
        would raise and catch ``KeyError`` for every absent name)."""
        return self._lookup().get(self._key(name), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self._lookup()

    def __iter__(self) -> Iterator[str]:
        """Every name, repeats included, in order (as a multidict iterates)."""
        return (name for name, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]  # a list of every pair, repeats included, like a multidict's view
        """Every (name, value) pair, repeats included, in order."""
        return list(self._pairs)

    def keys(self) -> list[str]:  # type: ignore[override]  # repeats included, like a multidict's view
        """Every name, repeats included, in order."""
        return [name for name, _ in self._pairs]

    def values(self) -> list[str]:  # type: ignore[override]  # repeats included, like a multidict's view
        """Every value, in order."""
        return [value for _, value in self._pairs]

    def getall(self, name: str) -> list[str]:
        """Every value of ``name``, in order (empty when absent)."""
        key = self._key(name)
        return [value for n, value in self._pairs if self._key(n) == key]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._pairs!r}>"


class Headers(_MultiMapping):
    """Request headers: case-insensitive names, every line kept (rule 1)."""

    __slots__ = ()

    @staticmethod
    def _key(name: str) -> str:
        return _lower_key(name)

    def _lookup(self) -> dict[str, str]:
        index = self._index
        if index is None:  # _MultiMapping's, with the key function inlined
            # lower-case keys shared by every index (rule 8)
            index = self._index = {_lower_key(name): value for name, value in reversed(self._pairs)}
        return index

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, /, default: str | _T) -> str | _T: ...
    def get(self, name: str, /, default: object = None) -> object:
        """The first value of ``name`` (any case), or ``default``.

        The engine reads one or two headers of every request (``Origin``,
        ``Content-Type``): with few lines, scanning them (names of another length
        skipped without lowering) is cheaper than building the index that a third
        lookup would pay for; with more (a browser sends ten or so) the index is built."""
        index = self._index
        if index is None:
            pairs = self._pairs
            if len(pairs) > _SCAN_MAX:
                index = self._lookup()
            else:
                key = name.lower()
                size = len(key)
                for line, value in pairs:
                    if len(line) == size and line.lower() == key:
                        return value
                return default
        return index.get(name.lower(), default)


class Query(_MultiMapping):
    """The query string's pairs, blank values kept (rule 2)."""

    __slots__ = ()

    @classmethod
    def parse(cls, query_string: str) -> Query:
        """Parse a raw query string (``a=1&b=&a=2``) as aiohttp and Node's URL do.

        The engine's own queries (``EIO=4&transport=polling&sid=...``) need no
        unquoting: those pairs are split here, anything with ``%`` or ``+`` goes
        through ``parse_qsl`` (the same result, at a third of the cost)."""
        if "%" in query_string or "+" in query_string:
            return cls(parse_qsl(query_string, keep_blank_values=True))
        pairs = []
        for part in query_string.split("&"):
            if part:
                name, _, value = part.partition("=")
                pairs.append((name, value))
        return cls(pairs)


class Request(MutableMapping[Any, Any]):
    """One HTTP request (or WebSocket handshake) as every engine hook sees it.

    Attributes: ``method`` (upper case), ``path`` (decoded, without the query),
    ``raw_path`` (the request target as sent: path and query), ``query_string``,
    ``query``, ``headers``, ``remote``, ``secure``, ``scheme`` (``http``/``https``,
    ``ws``/``wss``), ``native`` (the host's object). See the module rules.
    """

    __slots__ = (
        "_query",
        "_query_dict",
        "_state",
        "headers",
        "method",
        "native",
        "path",
        "query_string",
        "raw_path",
        "remote",
        "scheme",
        "secure",
    )

    def __init__(
        self,
        *,
        method: str,
        path: str,
        query_string: str,
        headers: Headers,
        remote: str | None,
        scheme: str,
        raw_path: str | None = None,
        native: Any = None,
        query: Query | None = None,
        query_dict: dict[str, str] | None = None,
    ) -> None:
        self.method = method.upper()
        self.path = path
        self.query_string = query_string
        self.raw_path = raw_path if raw_path is not None else _target(path, query_string)
        # rule 7: split on first use; a driver may pass the parsed pairs of this
        # query_string (a Query is never changed, so requests may share one)
        self._query: Query | None = query
        self._query_dict: dict[str, str] | None = query_dict  # shareable the same way
        self.headers = headers
        self.remote = remote
        self.scheme = scheme
        self.secure = scheme in ("https", "wss")
        self.native = native
        self._state: dict[Any, Any] | None = None  # most requests never store anything

    @property
    def query(self) -> Query:
        """Every pair of the query string, in order (rule 2), parsed on first use."""
        query = self._query
        if query is None:
            query = self._query = Query.parse(self.query_string)
        return query

    @property
    def query_dict(self) -> dict[str, str]:
        """The query as the engine reads it, Node's ``Object.fromEntries(searchParams)``:
        the last value of a repeated key wins (rule 2). Computed once, shared by every
        check of the request; do not mutate it."""
        found = self._query_dict
        if found is None:
            found = self._query_dict = _last_values(self.query_string)
        return found

    @property
    def content_length(self) -> int | None:
        """``Content-Length`` as an int, ``None`` when absent or not a number."""
        value = self.headers.get("Content-Length")
        if value is None or not value.strip().isdigit():
            return None
        return int(value)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.raw_path}>"

    # -- application data (rule 5) -----------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        if self._state is None:
            raise KeyError(key)
        return self._state[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        if self._state is None:
            self._state = {}
        self._state[key] = value

    def __delitem__(self, key: Any) -> None:
        if self._state is None:
            raise KeyError(key)
        del self._state[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._state or ())

    def __len__(self) -> int:
        return len(self._state) if self._state is not None else 0

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


def _last_values(query_string: str) -> dict[str, str]:
    """``query_string`` as a dict, the last value of a key winning (``Query.parse``'s
    pairs, without the list in between for the engine's own plain queries)."""
    if "%" in query_string or "+" in query_string:
        return dict(parse_qsl(query_string, keep_blank_values=True))
    found: dict[str, str] = {}
    for part in query_string.split("&"):
        if part:
            name, _, value = part.partition("=")
            found[name] = value
    return found


def _target(path: str, query_string: str) -> str:
    return f"{path}?{query_string}" if query_string else path
