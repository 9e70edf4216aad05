"""What ``server_stats`` says about the process: host name, pid and uptime.

``uptime`` is Node's ``process.uptime()``: seconds since the *process* started, not since
``instrument()`` ran, so the value matches what a Node server in the same situation would
report. Linux gives the start time in ``/proc/self/stat`` on the ``CLOCK_BOOTTIME``
scale; elsewhere the import time of this module stands in for it.
"""

from __future__ import annotations

import os
import socket
import time


def _boottime() -> float:
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return time.monotonic()


def _process_start() -> float:
    """When this process started, on the CLOCK_BOOTTIME scale (Linux), else now."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of proc(5): starttime, in clock ticks
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return _boottime()


_PROCESS_START = _process_start()


def uptime() -> float:
    """Node's ``process.uptime()``: seconds since the process started."""
    return max(0.0, _boottime() - _PROCESS_START)


def hostname() -> str:
    """Node's ``os.hostname()``; also the default ``serverId``."""
    return socket.gethostname()


def pid() -> int:
    """Node's ``process.pid``."""
    return os.getpid()


def now_ms() -> int:
    """Wall-clock epoch milliseconds, the unit of every admin timestamp (Node's
    ``Date.now()``)."""
    return int(time.time() * 1000)
