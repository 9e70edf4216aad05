"""Keeping Python's cyclic garbage collector off a server's hot path: ``tune_collector()``.

A server process holds two kinds of objects the collector walks for nothing: what
start-up made (modules, classes, functions: tens of thousands of objects that live as
long as the process) and the objects of each live connection. CPython's collector walks
the whole oldest generation on every full collection, and starts one after every
``700 * 10 * 10`` net allocations once the long-lived objects grew by a quarter; during
a wall of handshakes, that is a walk of every import-time object and every live
connection again and again (the bench's profile of the handshake showed about a quarter
of its CPU there).

``tune_collector()`` does what Instagram's and Node's servers do in spirit (a young
generation sized for a server, an old one that is not rescanned for nothing):

1. ``gc.collect()`` then ``gc.freeze()``: what start-up made moves to the permanent
   generation, never walked again (call it once the server is set up, before it takes
   connections; calling it again later freezes what is alive then, which is harmless).
2. ``gc.set_threshold(young, 20, 10)``: a young generation of ``young`` net
   allocations (default 50,000 instead of 700) so a burst of packets or handshakes
   allocates and frees without a collection in between, and older generations
   collected proportionally less often. Garbage with cycles is still found, later;
   memory held by such garbage is bounded by about ``young`` objects.

It changes process-wide settings, so it is a function the application calls (the
bench's sioscope server does), never something importing sioscope does behind a
user's back.
"""

from __future__ import annotations

import gc

__all__ = ["tune_collector"]

YOUNG_THRESHOLD = 50_000
"""Net allocations between two young collections (CPython's default is 700)."""


def tune_collector(young: int = YOUNG_THRESHOLD, *, freeze: bool = True) -> None:
    """Freeze what exists now and size the generations for a server (module rules)."""
    if young < 1:
        raise ValueError(f"young must be >= 1, got {young!r}")
    if freeze:
        gc.collect()
        gc.freeze()
    gc.set_threshold(young, 20, 10)
