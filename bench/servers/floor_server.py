"""The floor: bare asyncio on aiohttp, just enough Engine.IO/Socket.IO to answer the load.

No sessions, no namespaces, no validation, no polling: one websocket handler that answers
the open packet, the namespace CONNECT, ``echo`` acks and ``broadcast``. Whatever a real
server spends above this is protocol and bookkeeping; what this spends is aiohttp and the
event loop, which no Socket.IO server on this stack can go below.
"""

from __future__ import annotations

import json
import secrets

from aiohttp import WSMsgType, web

from bench.servers._common import serve


def dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


OPEN = "0" + json.dumps(
    {"upgrades": [], "pingInterval": 25000, "pingTimeout": 20000, "maxPayload": 1000000},
    separators=(",", ":"),
)


def make_app() -> web.Application:
    room: set[web.WebSocketResponse] = set()

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("transport") != "websocket":
            return web.Response(status=400, text="the floor speaks websocket only")
        ws = web.WebSocketResponse(compress=False, autoping=False)
        await ws.prepare(request)
        await ws.send_str(OPEN[:1] + '{"sid":"' + secrets.token_urlsafe(15) + '",' + OPEN[2:])
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data: str = msg.data
                if data.startswith("42"):
                    body = data[2:]
                    i = 0
                    while i < len(body) and body[i].isdigit():
                        i += 1
                    ack_id, event = body[:i], json.loads(body[i:])
                    if event[0] == "echo" and ack_id:
                        await ws.send_str("43" + ack_id + dumps(event[1:]))
                    elif event[0] == "broadcast":
                        frame = '42["broadcast",' + dumps(event[1]) + "]"
                        for peer in list(room):
                            if not peer.closed:
                                await peer.send_str(frame)
                elif data == "2":
                    await ws.send_str("3")
                elif data.startswith("40"):
                    room.add(ws)
                    await ws.send_str('40{"sid":"' + secrets.token_urlsafe(15) + '"}')
        finally:
            room.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/socket.io/", handler)
    return app


if __name__ == "__main__":
    serve(make_app)
