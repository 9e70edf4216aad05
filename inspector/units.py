"""How the inspector writes durations and sizes: short, fixed-width friendly, no locale."""

from __future__ import annotations


def human_age(seconds: float) -> str:
    """``42s``, ``3m07s``, ``2h05m``: an age or an uptime, never negative."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def human_size(n: float) -> str:
    """``512 B``, ``1.5 KB``, ... ``3.2 GB``: byte counts and rates."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
