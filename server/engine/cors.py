"""CORS headers as Node's ``cors`` package computes them (engine.io's ``cors`` option).

The Engine.IO server applies these to every response on its path, errors included,
because in Node the ``cors`` middleware runs before engine.io looks at the request.
With no ``cors`` option Node sends no CORS headers at all and checks no origin, so
``allowed_origins=None`` does exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

CorsOrigins = None | bool | str | Sequence[str]

DEFAULT_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE"


class CorsPolicy:
    """``origin``: ``None`` (off), ``"*"``, a fixed origin, a list, or ``True`` (reflect)."""

    def __init__(self, allowed_origins: CorsOrigins = None, credentials: bool = False) -> None:
        if isinstance(allowed_origins, list | tuple | set | frozenset):
            origins: CorsOrigins = list(allowed_origins)
            if origins == ["*"]:
                origins = "*"
        else:
            origins = allowed_origins
        self.origins = origins
        self.credentials = credentials

    @property
    def enabled(self) -> bool:
        """Whether any CORS handling is configured (Node: the ``cors`` option is set)."""
        return self.origins is not None and self.origins is not False

    def headers(self, request_headers: Mapping[str, str]) -> dict[str, str]:
        """Headers for an actual (non-preflight) response."""
        origins = self.origins
        if origins is None or origins is False:  # ``enabled``, without a property call
            return {}
        headers = self._origin_headers(request_headers)
        if self.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    def preflight_headers(self, request_headers: Mapping[str, str]) -> dict[str, str]:
        """Headers for an ``OPTIONS`` preflight answer (status 204, empty body)."""
        headers = self.headers(request_headers)
        headers["Access-Control-Allow-Methods"] = DEFAULT_METHODS
        requested = request_headers.get("Access-Control-Request-Headers")
        if requested:
            headers["Access-Control-Allow-Headers"] = requested
            _vary(headers, "Access-Control-Request-Headers")
        headers["Content-Length"] = "0"
        return headers

    def _origin_headers(self, request_headers: Mapping[str, str]) -> dict[str, str]:
        origins = self.origins
        if origins == "*":
            return {"Access-Control-Allow-Origin": "*"}
        if isinstance(origins, str):
            return {"Access-Control-Allow-Origin": origins, "Vary": "Origin"}
        request_origin = request_headers.get("Origin")
        headers: dict[str, str] = {"Vary": "Origin"}
        if origins is True:
            allowed = request_origin is not None
        else:
            allowed = request_origin is not None and request_origin in (origins or ())
        if allowed and request_origin is not None:
            headers["Access-Control-Allow-Origin"] = request_origin
        return headers


def _vary(headers: dict[str, str], field: str) -> None:
    current = headers.get("Vary")
    headers["Vary"] = f"{current}, {field}" if current else field
