"""The EventEmitter that Server, Namespace, Socket, Adapter and Conn share.

Node's ``EventEmitter`` semantics, with one Python twist: a listener may be a
coroutine function. Its coroutine is started as a task, so ``emit`` stays
synchronous (as in Node, listeners run in registration order and ``emit`` returns
whether there was any). The task belongs to the emitter's owner, the
:class:`~sioscope.server.tasks.TaskSet` given as ``EventEmitter(tasks)``: the server's
``io.tasks`` for its namespaces, sockets and adapters, the EngineServer's own set for
the engine and its connections. The set keeps the task referenced until it ends (an
un-referenced task could be garbage-collected mid-flight), logs its exception (a
user's handler must never take the server down), and cancels it when its owner
closes. An emitter built without an owner owns its tasks: ``emitter.tasks`` is a
TaskSet of its own, closed by whoever closes the emitter's object (the EngineServer
does, in ``close()``).

A listener that raises synchronously is logged and the next one still runs. Node
would let the exception escape, but here the emitter is usually called from a
transport's read loop, where an escaping exception would kill a connection that
did nothing wrong.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, overload

from sioscope.server.tasks import TaskSet

log = logging.getLogger("sioscope")

Listener = Callable[..., Any]
F = TypeVar("F", bound=Listener)


def run_listener(tasks: TaskSet, listener: Listener, *args: Any) -> Any:
    """Call ``listener``; start what it returns as a task of ``tasks`` if it is awaitable.

    Returns the task (for a coroutine listener) or the listener's return value.
    """
    result = listener(*args)
    if result is not None and inspect.isawaitable(result):  # most listeners return None
        return start_awaitable(tasks, result)
    return result


def start_awaitable(tasks: TaskSet, result: Awaitable[Any]) -> Any:
    """Run ``result`` (what a listener or handler returned) as a task of ``tasks``."""
    coro = result if inspect.iscoroutine(result) else _awaited(result)
    return tasks.spawn(coro)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    """A coroutine of any awaitable: a task needs one."""
    return await awaitable


def call_safely(tasks: TaskSet, fn: Listener, *args: Any) -> None:
    """Call a user's callback (sync or coroutine) and log its exception instead of raising.

    For callbacks called from a timer or a read loop (ack replies, ack timeouts,
    catch-all listeners): whatever the callback does wrong, the caller keeps working.
    """
    try:
        run_listener(tasks, fn, *args)
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
    """Node's EventEmitter: ``on``/``once``/``off``/``emit`` and friends.

    ``tasks`` owns the tasks of coroutine listeners (see the module docstring); without
    it the emitter owns them in a TaskSet of its own.
    """

    def __init__(self, tasks: TaskSet | None = None) -> None:
        self._events: dict[str, list[Listener]] = {}
        self._owner = tasks

    @property
    def tasks(self) -> TaskSet:
        """Where the coroutine listeners of this emitter run (module docstring): the
        owner given at construction, else a TaskSet of the emitter's own (made on first
        use). A subclass whose owner is found later may override this property."""
        owner = self._owner
        if owner is None:
            owner = self._owner = TaskSet()
        return owner

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
        for entry in taken:  # a loop, not any(<genexpr>): this runs for every event
            if isinstance(entry, _Once):
                break
        else:
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
        if len(listeners) == 1:  # the common case, without the copy
            listener = listeners[0]
            try:
                result = listener(*args)
                if result is not None and inspect.isawaitable(result):
                    start_awaitable(self.tasks, result)
            except Exception:
                log.exception("listener for %r failed", event)
            return True
        for listener in tuple(listeners):
            try:
                result = listener(*args)
                if result is not None and inspect.isawaitable(result):
                    start_awaitable(self.tasks, result)  # the owner is looked up only here
            except Exception:
                log.exception("listener for %r failed", event)
        return True
