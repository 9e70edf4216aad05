"""The instrument's tasks are the server's: ``io.close()`` leaves none of them running.

The stats timer, the packet stream's flush task and each resync answer are tasks of
``io.tasks``; closing the server (and nothing else: nobody calls ``admin.close()``)
cancels and awaits them, so no coroutine of the admin package is left on the loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sioscope.server.admin

from .apps import PASSWORD, running_server
from .client import AdminClient

AUTH = {"username": "admin", "password": PASSWORD, "sioscope": {"packets": True}}


ADMIN_DIR = str(Path(sioscope.server.admin.__file__).parent)


def admin_tasks() -> list[asyncio.Task[object]]:
    """Unfinished tasks on the loop that run a coroutine of the admin package."""
    found = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if not task.done() and code is not None and code.co_filename.startswith(ADMIN_DIR):
            found.append(task)
    return found


async def test_io_close_leaves_no_admin_task_running() -> None:
    async with running_server(stats_interval=0.05) as srv:
        admin = AdminClient()
        await admin.connect(srv.url, AUTH)
        await admin.wait_for("server_stats")
        mark = len(admin.events)
        await admin.command("sioscope:resync")
        await admin.wait_for("sioscope:snapshot", since=mark)
        running = {srv.admin.stats_task, srv.admin.flush_task}
        assert None not in running
        # Owned by the server: both are tasks of io.tasks, and the loop runs them.
        assert len(srv.io.tasks) >= 2
        assert running <= set(admin_tasks())
        await admin.command("sioscope:resync")  # one more answer, in flight or not
        await srv.io.close()  # no sleep, no admin.close(): io.close() alone
        assert admin_tasks() == []
        assert len(srv.io.tasks) == 0
        assert all(t is not None and t.done() for t in running)
        await admin.close()
