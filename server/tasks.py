"""Background tasks, owned by the object whose lifetime they share.

Rules:

1. A task is started through the :class:`TaskSet` of its owner (``io.tasks`` for the
   Socket.IO server and what it holds: namespaces, sockets, adapters, the admin
   instrument; ``engine.tasks`` for the EngineServer and its connections), never
   with a bare ``asyncio.ensure_future`` kept in a module global: two servers in one
   process share nothing, and closing one leaves the other's work running.
2. The set keeps a strong reference to each task until it is done (asyncio keeps only a
   weak one), and forgets it when it is.
3. ``await tasks.close()`` cancels every task still running and waits for all of them, so
   ``await io.close()`` returns with nothing of that server left on the loop. A task
   spawned while closing is cancelled at once.
4. A task's own exception is logged once (it has no one else to tell), never raised into
   ``close``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger("sioscope")

T = TypeVar("T")


class TaskSet:
    """The background tasks of one owner; see the module rules."""

    __slots__ = ("_closed", "_tasks")

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Run ``coro`` as a task of this set (rule 1); after :meth:`close` began, the
        task is cancelled before it runs (rule 3)."""
        task = asyncio.ensure_future(coro)
        if name is not None:
            task.set_name(name)
        if self._closed:
            task.cancel()
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def __len__(self) -> int:
        """How many tasks are still running."""
        return len(self._tasks)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` began."""
        return self._closed

    async def close(self) -> None:
        """Cancel every running task and wait for all of them (rule 3). Tasks that the
        cancelled ones spawn while they unwind are cancelled and awaited too."""
        self._closed = True
        current = asyncio.current_task()
        while True:
            pending = [t for t in self._tasks if t is not current and not t.done()]
            if not pending:
                return
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
