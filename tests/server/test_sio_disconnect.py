"""Each of Node's disconnect reasons, produced by a test that causes it (socketio-api §5.2)."""

from __future__ import annotations

from typing import Any

import aiohttp

from sioscope.server import Server, Socket
from tests.server.sio_rawpeer import RawPolling, RawWs
from tests.server.sio_support import Factory, Recorder, serve_fixture  # noqa: F401


async def connected(
    serve: Factory, peer_kind: str = "ws", namespaces: tuple[str, ...] = ("/",), **opts: Any
) -> tuple[Server, RawWs, list[Socket], Recorder]:
    """A server, a raw ws peer connected to ``namespaces``, their sockets, and a recorder
    of (event, reason, description) for every disconnecting/disconnect/error."""
    events = Recorder()
    sockets: list[Socket] = []
    joined = Recorder()

    def setup(io: Server) -> None:
        for name in namespaces:

            @io.of(name).on("connection")
            def on_connection(socket: Socket) -> None:
                sockets.append(socket)
                socket.on("disconnecting", lambda r, d, s=socket: events("disconnecting", r, d))
                socket.on("disconnect", lambda r, d, s=socket: events("disconnect", r, d))
                socket.on("error", lambda err: events("error", err))
                joined(socket)

    io, url = await serve(setup, **opts)
    peer = await RawWs.open(url)
    for name in namespaces:
        await peer.send("0" if name == "/" else f"0{name},")
    await joined.wait(len(namespaces))
    for _ in namespaces:
        reply = await peer.recv()
        assert isinstance(reply, str) and reply.startswith("0")
    return io, peer, sockets, events


def reasons(events: Recorder) -> list[tuple[str, str]]:
    return [(c[0], c[1]) for c in events.calls if c[0] != "error"]


async def test_server_namespace_disconnect_sends_packet_first(serve: Factory) -> None:
    _, peer, (socket,), events = await connected(serve, namespaces=("/custom",))
    socket.disconnect()
    assert await peer.recv() == "1/custom,"
    await events.wait(2)
    assert reasons(events) == [
        ("disconnecting", "server namespace disconnect"),
        ("disconnect", "server namespace disconnect"),
    ]
    assert socket.conn.ready_state == "open"  # the engine connection stays


async def test_disconnect_close_true_disconnects_every_namespace(serve: Factory) -> None:
    _, peer, sockets, events = await connected(serve, namespaces=("/", "/custom"))
    sockets[0].disconnect(close=True)
    assert {await peer.recv(), await peer.recv()} == {"1", "1/custom,"}
    assert await peer.closed()
    await events.wait(4)
    assert [r for _, r in reasons(events)] == ["server namespace disconnect"] * 4


async def test_client_namespace_disconnect_keeps_engine(serve: Factory) -> None:
    _, peer, (socket,), events = await connected(serve)
    await peer.send("1")
    await events.wait(2)
    assert reasons(events)[-1] == ("disconnect", "client namespace disconnect")
    assert socket.conn.ready_state == "open"
    assert await peer.recv_frame(timeout=2) == "2"  # heartbeat goes on


async def test_server_shutting_down_sends_no_disconnect_packet(serve: Factory) -> None:
    io, peer, _, events = await connected(serve)
    await io.close()
    await events.wait(2)
    assert reasons(events) == [
        ("disconnecting", "server shutting down"),
        ("disconnect", "server shutting down"),
    ]
    frames = []
    try:
        while True:
            frames.append(await peer.recv_frame(timeout=2))
    except Exception:
        pass
    assert not any(isinstance(f, str) and f.startswith("41") for f in frames)


async def test_ping_timeout(serve: Factory) -> None:
    _, peer, _, events = await connected(serve, ping_interval=0.2, ping_timeout=0.2)
    peer.auto_pong = False
    await events.wait(2)
    assert reasons(events)[-1] == ("disconnect", "ping timeout")


async def test_transport_close(serve: Factory) -> None:
    _, peer, _, events = await connected(serve)
    await peer.close()
    await events.wait(2)
    assert reasons(events)[-1] == ("disconnect", "transport close")


async def test_transport_error_with_description(serve: Factory) -> None:
    _, peer, _, events = await connected(serve)
    await peer.send_raw("2")  # a ping from the client is an error in EIO4
    await events.wait(2)
    event, reason, description = events.calls[-1]
    assert (event, reason) == ("disconnect", "transport error")
    assert "invalid heartbeat direction" in str(description)


async def test_parse_error_from_engine_garbage(serve: Factory) -> None:
    _, peer, _, events = await connected(serve)
    await peer.send_raw("9")  # no such Engine.IO packet type
    await events.wait(2)
    assert reasons(events)[-1] == ("disconnect", "parse error")


async def test_forced_close_from_conn_close(serve: Factory) -> None:
    _, peer, (socket,), events = await connected(serve)
    socket.conn.close()
    await events.wait(2)
    assert reasons(events)[-1] == ("disconnect", "forced close")
    assert await peer.closed()


async def test_decoder_error_emits_error_then_parse_error(serve: Factory) -> None:
    _, peer, _, events = await connected(serve, namespaces=("/", "/custom"))
    await peer.send("2{}")
    await events.wait(6)
    errors = [c[1] for c in events.calls if c[0] == "error"]
    assert len(errors) == 2 and all(str(e) == "invalid payload" for e in errors)
    assert events.calls[0][0] == "error" and events.calls[1][0] == "error"
    assert [r for _, r in reasons(events)] == ["parse error"] * 4
    assert await peer.closed()


async def test_forced_server_close_on_invalid_state_over_polling(serve: Factory) -> None:
    events = Recorder()

    def setup(io: Server) -> None:
        io.on("connection", lambda s: s.on("disconnect", lambda r, d: events(r)))

    _, url = await serve(setup)
    async with aiohttp.ClientSession() as session:
        peer = await RawPolling.open(url, session)
        await peer.post("40")
        status, packets = await peer.get()
        assert status == 200 and packets[0].startswith("40{")
        await peer.post("40")  # CONNECT for a namespace already connected: invalid state
        assert await events.wait() == [("forced server close",)]
        status, packets = await peer.get()  # the close waited for this GET
        assert status == 200 and packets[-1] in ("1", "6")


async def test_reasons_are_delivered_once(serve: Factory) -> None:
    io, peer, (socket,), events = await connected(serve)
    socket.disconnect()
    socket.disconnect()
    await peer.close()
    await io.close()
    await events.wait(2)
    assert len(reasons(events)) == 2
