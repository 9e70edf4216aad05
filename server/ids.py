"""Node's ``base64id``: the one id generator of the engine and the Socket.IO layer.

Node's engine.io session ids and socket.io socket ids come from the same
``base64id.generateId()``, so they share one counter per process; so do ours.

Its random bytes come from a pool, as Node's ``base64id`` takes them from a buffer of
``crypto.randomBytes``: one ``os.urandom`` (a system call) per 256 ids rather than one
per id, two of which every handshake needs. The pool is emptied in a forked child, so
two processes never hand out the same bytes.
"""

from __future__ import annotations

import binascii
import itertools
import os

__all__ = ["generate_id"]

_sequence = itertools.count()

_RANDOM_BYTES = 12
_POOL_SIZE = _RANDOM_BYTES * 256
_pool = b""
_offset = 0
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _empty_pool() -> None:
    global _pool, _offset
    _pool = b""
    _offset = 0


os.register_at_fork(after_in_child=_empty_pool)


def generate_id() -> str:
    """20 chars of URL-safe base64: 12 random bytes and a 3-byte counter (Node's base64id).

    The random part makes ids unguessable; the counter makes two ids of one process
    differ even if the random bytes ever repeat.
    """
    global _pool, _offset
    start = _offset
    if start + _RANDOM_BYTES > len(_pool):
        _pool = os.urandom(_POOL_SIZE)
        start = 0
    _offset = start + _RANDOM_BYTES
    raw = _pool[start : start + _RANDOM_BYTES] + (next(_sequence) & 0xFFFFFF).to_bytes(3, "big")
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).decode("ascii")
