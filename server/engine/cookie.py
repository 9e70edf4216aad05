"""The ``cookie`` option: the engine sid in a cookie on the handshake, as Node's engine.io.

Load balancers route a session's later requests to the same server by this cookie
(sticky sessions), which a cluster of polling servers needs. Off by default, like Node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CookieOption = None | bool | str | Mapping[str, Any]


@dataclass(frozen=True)
class Cookie:
    """Node's defaults: ``{name: "io", path: "/", httpOnly: true, sameSite: "lax"}``."""

    name: str = "io"
    path: str | None = "/"
    http_only: bool = True
    same_site: str | None = "lax"
    secure: bool = False
    domain: str | None = None
    max_age: int | None = None

    @classmethod
    def from_option(cls, option: CookieOption) -> Cookie | None:
        """``None``/``False``: off; ``True``: defaults; a str: the name; a mapping: fields.

        Mapping keys may be Node's (``httpOnly``, ``sameSite``, ``maxAge``) or Python's.
        """
        if option is None or option is False:
            return None
        if option is True:
            return cls()
        if isinstance(option, str):
            return cls(name=option)
        aliases = {"httpOnly": "http_only", "sameSite": "same_site", "maxAge": "max_age"}
        fields = {aliases.get(key, key): value for key, value in option.items()}
        try:
            return cls(**fields)
        except TypeError as exc:
            raise ValueError(f"bad cookie option: {exc}") from None

    def serialize(self, value: str) -> str:
        """The ``Set-Cookie`` value, attributes in the npm ``cookie`` package's order."""
        parts = [f"{self.name}={value}"]
        if self.max_age is not None:
            parts.append(f"Max-Age={int(self.max_age)}")
        if self.domain:
            parts.append(f"Domain={self.domain}")
        if self.path:
            parts.append(f"Path={self.path}")
        if self.http_only:
            parts.append("HttpOnly")
        if self.same_site:
            parts.append(f"SameSite={self.same_site.capitalize()}")
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)
