"""The engine core and the Socket.IO layer are host-independent: only a driver imports
its host library, and the request type the hooks see behaves as documented."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sioscope.server.engine import Headers, Query, Request

NO_AIOHTTP = textwrap.dedent(
    """
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "aiohttp" or name.startswith("aiohttp."):
                raise ImportError("aiohttp is blocked in this test")
            return None

    sys.meta_path.insert(0, Block())
    import sioscope.server
    import sioscope.server.admin
    from sioscope.server import Server
    from sioscope.server.engine import conn, host, request, server, transports

    io = Server()
    assert not [m for m in sys.modules if m.split(".")[0] == "aiohttp"]
    print("ok")
    """
)


def test_core_and_socketio_layer_import_no_aiohttp():
    done = subprocess.run(
        [sys.executable, "-c", NO_AIOHTTP], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_request_headers_and_query_keep_every_pair():
    headers = Headers([("X-A", "1"), ("x-a", "2"), ("Host", "h")])
    request = Request(
        method="get",
        path="/socket.io/",
        query_string="EIO=4&t=1&t=2&blank=",
        headers=headers,
        remote="127.0.0.1",
        scheme="https",
    )
    assert request.method == "GET"
    assert request.raw_path == "/socket.io/?EIO=4&t=1&t=2&blank="
    assert request.headers["x-A"] == "1"
    assert request.headers.getall("X-A") == ["1", "2"]
    assert request.headers.items() == [("X-A", "1"), ("x-a", "2"), ("Host", "h")]
    assert request.query.get("t") == "1"
    assert dict(request.query.items()) == {"EIO": "4", "t": "2", "blank": ""}
    assert "blank" in request.query and "nope" not in request.query
    assert request.secure is True
    assert Query.parse("a=%20b").get("a") == " b"
    request["user"] = "alice"
    assert request["user"] == "alice"
    assert list(request) == ["user"]


def test_request_views_are_built_on_first_use_and_agree_with_the_pairs():
    """Headers index and query are lazy (request.py, rule 7): what they answer must be
    what the eager versions did, the engine's ``query_dict`` the last value of a key."""
    for query_string in ("EIO=4&transport=polling&sid=a&sid=b&x", "sid=%41b&t=a+b&sid=c"):
        request = Request(
            method="POST",
            path="/",
            query_string=query_string,
            headers=Headers([("Origin", "o"), ("origin", "p")]),
            remote=None,
            scheme="http",
        )
        assert request.query_dict == dict(request.query.items())
        assert request.query_dict is request.query_dict  # computed once
    assert request.query_dict == {"sid": "c", "t": "a b"}
    assert request.headers.get("ORIGIN") == "o" and "origin" in request.headers
    assert len(request) == 0 and list(request) == [] and "k" not in request
    with pytest.raises(KeyError):
        del request["k"]
    pairs = [("A", "1")]
    shared = Query.parse("t=1")
    request = Request(
        method="GET",
        path="/",
        query_string="t=1",
        headers=Headers.owning(pairs),
        remote=None,
        scheme="http",
        query=shared,
    )
    assert request.query is shared and request.headers.items() == pairs
    assert request.headers.get("a") == "1"


def test_header_lookups_agree_whether_scanned_or_indexed():
    """Headers.get scans a few lines and indexes many: the answers are the same."""
    for count in (1, 3, 6, 7, 12):
        pairs = [(f"X-{i}", str(i)) for i in range(count)] + [("x-0", "again"), ("ORIGIN", "o")]
        headers = Headers(pairs)
        assert headers.get("x-0") == "0" and headers.get("Origin") == "o"
        assert headers.get("X-None") is None and headers.get("X-None", "d") == "d"
        assert headers["x-0"] == "0" and "origin" in headers
        assert headers.get("x-0") == "0"  # after the index exists too
