"""``socket.data`` that reports its own changes: the Python form of Node's Proxy.

Node's admin-ui replaces ``socket.data`` with a recursive ``Proxy`` whose ``set`` trap
emits ``socket_updated {id, nsp, data}``. ``socket.data`` is a public, writable
attribute in both servers, so we do the same with public means only: the instrument
assigns a :class:`TrackedDict` holding the same items. It *is* a ``dict`` (``isinstance``,
JSON encoding and ``fetch_sockets`` copies keep working); every mutating method, at
any depth (nested dicts and lists are wrapped as they are stored), calls ``on_change``
once after the change.

Differences from the Proxy, on purpose: deletions (``del``, ``pop``, ``clear``) are
reported too (Node has no ``deleteProperty`` trap, so the UI would keep a stale key);
``list.append`` reports once (a JS ``push`` sets the index and then ``length``: two).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, SupportsIndex

OnChange = Callable[[], None]


def track(value: Any, on_change: OnChange) -> Any:
    """Wrap dicts and lists (recursively) so their mutations call ``on_change``."""
    if isinstance(value, TrackedDict | TrackedList):
        if value.on_change is on_change:
            return value
        return type(value)(value, on_change)
    if isinstance(value, dict):
        return TrackedDict(value, on_change)
    if isinstance(value, list):
        return TrackedList(value, on_change)
    return value


class TrackedDict(dict[Any, Any]):
    """A dict that calls ``on_change()`` after each mutation."""

    __slots__ = ("_on_change",)

    def __init__(self, items: Any = (), on_change: OnChange | None = None) -> None:
        self._on_change: OnChange = on_change or _noop
        super().__init__()
        for key, value in dict(items).items():
            dict.__setitem__(self, key, track(value, self._on_change))

    @property
    def on_change(self) -> OnChange:
        """What this dict calls after each change (read-only)."""
        return self._on_change

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies (copy, deepcopy, pickle) are plain dicts: only the live socket.data
        # reports changes, and a copy must not carry the callback along.
        return (dict, (dict(self),))

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, track(value, self._on_change))
        self._on_change()

    def __delitem__(self, key: Any) -> None:
        dict.__delitem__(self, key)
        self._on_change()

    def update(self, *args: Any, **kwargs: Any) -> None:
        """``dict.update``, reported once."""
        for key, value in dict(*args, **kwargs).items():
            dict.__setitem__(self, key, track(value, self._on_change))
        self._on_change()

    # misc: typeshed's __or__ returns a plain dict; in place, the tracked dict is kept.
    def __ior__(self, other: Any) -> TrackedDict:  # type: ignore[misc]
        self.update(other)
        return self

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """``dict.setdefault``, reported only when it inserts."""
        if key in self:
            return dict.__getitem__(self, key)
        self[key] = default
        return dict.__getitem__(self, key)

    def pop(self, key: Any, *default: Any) -> Any:
        """``dict.pop``, reported only when a key was removed."""
        missing = key not in self
        value = dict.pop(self, key, *default)
        if not missing:
            self._on_change()
        return value

    def popitem(self) -> tuple[Any, Any]:
        """``dict.popitem``, reported."""
        item = dict.popitem(self)
        self._on_change()
        return item

    def clear(self) -> None:
        """``dict.clear``, reported."""
        dict.clear(self)
        self._on_change()


class TrackedList(list[Any]):
    """A list that calls ``on_change()`` after each mutation."""

    __slots__ = ("_on_change",)

    def __init__(self, items: Iterable[Any] = (), on_change: OnChange | None = None) -> None:
        self._on_change: OnChange = on_change or _noop
        super().__init__(track(v, self._on_change) for v in items)

    @property
    def on_change(self) -> OnChange:
        """What this list calls after each change (read-only)."""
        return self._on_change

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            list.__setitem__(self, index, [track(v, self._on_change) for v in value])
        else:
            list.__setitem__(self, index, track(value, self._on_change))
        self._on_change()

    def __delitem__(self, index: Any) -> None:
        list.__delitem__(self, index)
        self._on_change()

    # misc: typeshed's __add__ returns a plain list; in place, the tracked list is kept.
    def __iadd__(self, other: Iterable[Any]) -> TrackedList:  # type: ignore[misc]
        self.extend(other)
        return self

    def append(self, value: Any) -> None:
        """``list.append``, reported."""
        list.append(self, track(value, self._on_change))
        self._on_change()

    def extend(self, values: Iterable[Any]) -> None:
        """``list.extend``, reported once."""
        list.extend(self, [track(v, self._on_change) for v in values])
        self._on_change()

    def insert(self, index: SupportsIndex, value: Any) -> None:
        """``list.insert``, reported."""
        list.insert(self, index, track(value, self._on_change))
        self._on_change()

    def pop(self, index: SupportsIndex = -1) -> Any:
        """``list.pop``, reported."""
        value = list.pop(self, index)
        self._on_change()
        return value

    def remove(self, value: Any) -> None:
        """``list.remove``, reported."""
        list.remove(self, value)
        self._on_change()

    def clear(self) -> None:
        """``list.clear``, reported."""
        list.clear(self)
        self._on_change()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        """``list.sort``, reported."""
        list.sort(self, *args, **kwargs)
        self._on_change()

    def reverse(self) -> None:
        """``list.reverse``, reported."""
        list.reverse(self)
        self._on_change()


def _noop() -> None:
    return None
