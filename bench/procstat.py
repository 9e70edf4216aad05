"""Reading a process's CPU time and RSS from /proc, the way the load generator does.

CPU is the sum of ``/proc/<pid>/task/*/schedstat`` run times (nanoseconds, every thread,
so Node's GC and libuv threads count too); RSS is ``VmRSS`` from ``/proc/<pid>/status``.
Plugin scenarios written in Python use these to bill the server exactly as the Node
generator bills it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path


def cpu_ns(pid: int) -> int:
    """CPU time consumed so far by every live thread of ``pid``, in nanoseconds."""
    total = 0
    task_dir = Path(f"/proc/{pid}/task")
    for tid in os.listdir(task_dir):
        try:
            total += int((task_dir / tid / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # a thread that exited between listdir and read
    return total


def rss_kb(pid: int) -> int:
    """Resident set size of ``pid`` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for pid {pid}")


@dataclass
class Window:
    """Server and own CPU over one measured phase; ``stop()`` returns the loadgen fields."""

    pid: int
    t0: float = 0.0
    server0: int = 0
    self0: float = 0.0

    def __post_init__(self) -> None:
        self.t0 = time.perf_counter()
        self.server0 = cpu_ns(self.pid)
        self.self0 = time.process_time()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.t0
        server = (cpu_ns(self.pid) - self.server0) / 1e9
        own = time.process_time() - self.self0
        return {
            "wall_s": wall,
            "server_cpu_s": server,
            "server_cpu_util": server / wall if wall else 0.0,
            "loadgen_cpu_s": own,
            "loadgen_cpu_util": own / wall if wall else 0.0,
        }
