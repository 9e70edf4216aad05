"""Node's ``base64id``: the one id generator of the engine and the Socket.IO layer.

Node's engine.io session ids and socket.io socket ids come from the same
``base64id.generateId()``, so they share one counter per process; so do ours.
"""

from __future__ import annotations

import base64
import itertools
import secrets

__all__ = ["generate_id"]

_sequence = itertools.count()


def generate_id() -> str:
    """20 chars of URL-safe base64: 12 random bytes and a 3-byte counter (Node's base64id).

    The random part makes ids unguessable; the counter makes two ids of one process
    differ even if the random bytes ever repeat.
    """
    raw = secrets.token_bytes(12) + (next(_sequence) & 0xFFFFFF).to_bytes(3, "big")
    return base64.urlsafe_b64encode(raw).decode("ascii")
