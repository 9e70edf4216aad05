"""Handler arity: how a Socket calls an event handler, resolved once per function.

Rules:

1. **Resolved once, at the first call, never by retrying on ``TypeError``.** The
   signature of a handler is read once and cached per function (per underlying function
   for bound methods), so a handler whose body raises ``TypeError`` is not called twice.
2. A handler for a client event gets the event's arguments. If the client asked for an
   ack, the ack function is passed as the keyword ``ack=`` when the handler has a
   parameter named ``ack`` (``async def chat(text, ack=None)``), else it is appended as
   the last positional argument when the handler can take one more (Node's convention:
   ``def chat(text, callback)``).
3. Arguments beyond what a handler accepts are dropped, as JavaScript drops them;
   ``*args`` takes everything. Missing ones are ``None``, as JavaScript binds
   ``undefined``, so the handler still runs.
4. A handler's exception is logged, never raised into the read loop that called it; a
   coroutine handler starts as a task of the emitter's owner (``io.tasks`` for a
   socket), like every coroutine listener of the EventEmitter.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sioscope.server.emitter import EventEmitter, start_awaitable

__all__ = ["HandlerSpec", "call_handler", "emit_to_listeners", "handler_spec"]

log = logging.getLogger("sioscope")


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """How one function takes arguments and acks (rules 2-3)."""

    ack_keyword: bool
    max_positional: int | None  # None: *args
    required: int = 0  # positional parameters without a default (``ack`` aside)


_bound_specs: weakref.WeakKeyDictionary[Any, HandlerSpec] = weakref.WeakKeyDictionary()
_UNKNOWN = HandlerSpec(False, None)


def _compute_spec(fn: Callable[..., Any]) -> HandlerSpec:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return _UNKNOWN
    ack_keyword = False
    positional = required = 0
    var_positional = False
    for param in params:
        if param.name == "ack" and param.kind in (
            param.POSITIONAL_OR_KEYWORD,
            param.KEYWORD_ONLY,
        ):
            ack_keyword = True
        elif param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            positional += 1
            if param.default is param.empty:
                required = positional
        elif param.kind == param.VAR_POSITIONAL:
            var_positional = True
    return HandlerSpec(ack_keyword, None if var_positional else positional, required)


# Plain functions, the common case, keyed by a weak reference in a dict of our own
# (what WeakKeyDictionary does, without its Python-level __getitem__ on every event):
# a reference hashes and compares as its function, and its callback drops the entry
# when the function goes (a socket's closure handlers go with their socket).
_plain_by_ref: dict[weakref.ref[Any], HandlerSpec] = {}
_ref = weakref.ref


def _forget(ref: weakref.ref[Any]) -> None:
    _plain_by_ref.pop(ref, None)


def handler_spec(fn: Callable[..., Any]) -> HandlerSpec:
    """How ``fn`` takes arguments and acks; computed once per function (rule 1)."""
    func = getattr(fn, "__func__", None)
    if func is None:
        try:
            ref = _ref(fn)
        except TypeError:  # not weak-referenceable: recomputed every time
            return _compute_spec(fn)
        spec = _plain_by_ref.get(ref)
        if spec is None:
            spec = _plain_by_ref[_ref(fn, _forget)] = _compute_spec(fn)
        return spec
    try:  # a bound method: cached per underlying function
        return _bound_specs[func]
    except (KeyError, TypeError):
        spec = _compute_spec(fn)
        try:
            _bound_specs[func] = spec
        except TypeError:
            pass  # not weak-referenceable: recomputed next time
        return spec


def call_handler(fn: Callable[..., Any], args: list[Any] | tuple[Any, ...], ack: Any) -> Any:
    """Call ``fn`` per the rules above and return what it returned (``None`` if it
    raised: the exception is logged, rule 4). A coroutine handler's coroutine is
    returned unstarted; :func:`emit_to_listeners` runs it on the emitter's tasks."""
    spec = handler_spec(fn)
    limit = spec.max_positional
    try:
        if spec.ack_keyword:
            if limit is not None and len(args) > limit:
                args = args[:limit]
            if len(args) < spec.required:  # JavaScript passes undefined for the rest
                args = [*args, *[None] * (spec.required - len(args))]
            return fn(*args, ack=ack)
        if ack is not None and (limit is None or limit > len(args)):
            args = [*args, ack]
        elif limit is not None and len(args) > limit:
            args = args[:limit]
        if len(args) < spec.required:
            args = [*args, *[None] * (spec.required - len(args))]
        return fn(*args)
    except Exception:
        log.exception("handler %r failed", fn)
        return None


def emit_to_listeners(emitter: EventEmitter, event: str, args: list[Any], ack: Any) -> bool:
    """EventEmitter dispatch with the handler rules (``once`` listeners honoured)."""
    listeners = emitter.take_listeners(event)
    if not listeners:
        return False
    for listener in listeners:
        result = call_handler(listener, args, ack)
        if result is not None and inspect.isawaitable(result):
            start_awaitable(emitter.tasks, result)
    return True
