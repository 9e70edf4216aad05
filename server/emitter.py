"""The EventEmitter that Server, Namespace, Socket, Adapter and Conn share.

Node's ``EventEmitter`` semantics, with one Python twist: a listener may be a
coroutine function. Its coroutine is started as a task, so ``emit`` stays
synchronous (as in Node, listeners run in registration order and ``emit`` returns
whether there was any). The task is kept referenced until it ends and its
exception, if any, is logged: a user's handler must never take the server down,
and an un-referenced task could be garbage-collected mid-flight.

A listener that raises synchronously is logged and the next one still runs. Node
would let the exception escape, but here the emitter is usually called from a
transport's read loop, where an escaping exception would kill a connection that
did nothing wrong.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

log = logging.getLogger("sioscope")

Listener = Callable[..., Any]
F = TypeVar("F", bound=Listener)

_background: set[asyncio.Task[Any]] = set()


def _log_task_result(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("listener task failed", exc_info=exc)


def run_listener(listener: Listener, *args: Any) -> Any:
    """Call ``listener``; start its coroutine as a task if it returns one.

    Returns the task (for a coroutine listener) or the listener's return value.
    """
    result = listener(*args)
    if result is not None and inspect.isawaitable(result):  # most listeners return None
        task = asyncio.ensure_future(result)
        _background.add(task)
        task.add_done_callback(_log_task_result)
        return task
    return result


def call_safely(fn: Listener, *args: Any) -> None:
    """Call a user's callback (sync or coroutine) and log its exception instead of raising.

    For callbacks called from a timer or a read loop (ack replies, ack timeouts,
    catch-all listeners): whatever the callback does wrong, the caller keeps working.
    """
    try:
        run_listener(fn, *args)
    except Exception:
        log.exception("listener %r failed", fn)


async def finish_chain(pending: Any, rest: Sequence[Callable[[Any], Any]], arg: Any) -> None:
    """Await ``pending`` (the first middleware that returned an awaitable), then run the
    ``rest`` of the chain on ``arg`` in order, awaiting each that is async. The first
    exception propagates, which is how a middleware refuses (connection or packet)."""
    await pending
    for fn in rest:
        result = fn(arg)
        if inspect.isawaitable(result):
            await result


def _same(a: Listener, b: Listener) -> bool:
    """Node's ``===`` on functions. A bound method is a new object at each access
    (``obj.handler is obj.handler`` is False), so methods match by ``==``: the same
    function bound to the same object. Anything else matches by identity only."""
    if a is b:
        return True
    return inspect.ismethod(a) and inspect.ismethod(b) and a == b


class _Once:
    """Wraps a ``once`` listener so ``off(event, original)`` still finds it."""

    __slots__ = ("emitter", "event", "listener")

    def __init__(self, emitter: EventEmitter, event: str, listener: Listener) -> None:
        self.emitter = emitter
        self.event = event
        self.listener = listener

    def __call__(self, *args: Any) -> Any:
        self.emitter.off(self.event, self)
        return self.listener(*args)


class EventEmitter:
    """Node's EventEmitter: ``on``/``once``/``off``/``emit`` and friends."""

    def __init__(self) -> None:
        self._events: dict[str, list[Listener]] = {}

    @overload
    def on(self, event: str) -> Callable[[F], F]: ...
    @overload
    def on(self, event: str, listener: F) -> F: ...

    def on(self, event: str, listener: Listener | None = None) -> Any:
        """Add a listener; without one, return a decorator that adds it."""
        if listener is None:
            return lambda fn: self.on(event, fn)
        self._events.setdefault(event, []).append(listener)
        return listener

    add_listener = on

    @overload
    def once(self, event: str) -> Callable[[F], F]: ...
    @overload
    def once(self, event: str, listener: F) -> F: ...

    def once(self, event: str, listener: Listener | None = None) -> Any:
        """Add a listener removed after its first call."""
        if listener is None:
            return lambda fn: self.once(event, fn)
        self._events.setdefault(event, []).append(_Once(self, event, listener))
        return listener

    def prepend_listener(self, event: str, listener: Listener) -> Listener:
        """Add a listener in front of the others."""
        self._events.setdefault(event, []).insert(0, listener)
        return listener

    def off(self, event: str, listener: Listener) -> None:
        """Remove the most recently added occurrence of ``listener`` (Node's rule)."""
        listeners = self._events.get(event)
        if not listeners:
            return
        for i in range(len(listeners) - 1, -1, -1):
            entry = listeners[i]
            if _same(entry, listener) or (
                isinstance(entry, _Once) and _same(entry.listener, listener)
            ):
                del listeners[i]
                break
        if not listeners:
            del self._events[event]

    remove_listener = off

    def remove_all_listeners(self, event: str | None = None) -> None:
        """Remove every listener of ``event``, or of all events."""
        if event is None:
            self._events.clear()
        else:
            self._events.pop(event, None)

    def listeners(self, event: str) -> list[Listener]:
        """A copy of the listeners of ``event``, ``once`` wrappers unwrapped."""
        return [e.listener if isinstance(e, _Once) else e for e in self._events.get(event, ())]

    def listener_count(self, event: str) -> int:
        """How many listeners ``event`` has."""
        return len(self._events.get(event, ()))

    def event_names(self) -> list[str]:
        """The events that have listeners."""
        return list(self._events)

    def take_listeners(self, event: str) -> tuple[Listener, ...]:
        """The listeners of ``event`` as ``emit`` would call them now, in order, with the
        ``once`` ones unwrapped and already removed (so each runs at most once).

        For dispatchers that call listeners their own way (the Socket's handler-arity
        rules) yet must keep ``on``/``once``/``off`` semantics.
        """
        listeners = self._events.get(event)
        if not listeners:
            return ()
        taken = tuple(listeners)
        if not any(isinstance(entry, _Once) for entry in taken):
            return taken
        for entry in taken:
            if isinstance(entry, _Once):
                self.off(event, entry)  # this wrapper, not a plain `on` of the same function
        return tuple(e.listener if isinstance(e, _Once) else e for e in taken)

    def has_listeners(self, event: str) -> bool:
        """Cheap check used on hot paths to skip building event payloads."""
        return event in self._events

    def emit(self, event: str, *args: Any) -> bool:
        """Call each listener of ``event`` in order; ``True`` if there was one."""
        listeners = self._events.get(event)
        if not listeners:
            return False
        for listener in tuple(listeners):
            try:
                run_listener(listener, *args)
            except Exception:
                log.exception("listener for %r failed", event)
        return True
