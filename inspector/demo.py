"""``sioscope demo``: our server with ``instrument()``, and a crowd of real clients on it.

The clients are real Engine.IO connections (python-engineio's AsyncClient, framed with
``server/parser.py``): they connect over polling and upgrade (a few stay on polling),
join and leave rooms, chat, and now and then leave and come back, so every view of the
inspector has something live to show. Everything binds 127.0.0.1 on a free port.

The server runs on either host driver: attached to aiohttp (``host="aiohttp"``, the
default), or as ``io.asgi_app()`` on uvicorn (``host="asgi"``, ``sioscope demo
--host-driver asgi``; uvicorn comes with the ``asgi`` extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket as socket_module
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import engineio
from aiohttp import web

from sioscope.server import Server, Socket
from sioscope.server.admin import instrument
from sioscope.server.collector import tune_collector
from sioscope.server.namespace import ConnectionRefused
from sioscope.server.parser import Decoder, Packet, PacketType, encode

log = logging.getLogger("sioscope.demo")

ROOMS = ("lobby", "general", "random", "support", "game-1", "game-2", "vip")
NAMES = ("ada", "bob", "cleo", "dev", "eve", "finn", "gus", "hana", "ivo", "jules", "kai")
HOSTS = ("aiohttp", "asgi")


def build_server(
    *, readonly: bool = False, ping_interval: float = 5.0
) -> tuple[web.Application, Server]:
    """The demo application on aiohttp (see ``build_io``)."""
    app = web.Application()
    io = build_io(readonly=readonly, ping_interval=ping_interval)
    io.attach(app)
    return app, io


def build_io(
    *,
    readonly: bool = False,
    ping_interval: float = 5.0,
    server_id: str = "sioscope-demo",
    adapter: Any = None,
) -> Server:
    """The demo server: a chat on ``/`` and ``/chat``, instrumented, auth disabled; with
    ``adapter`` (a cluster adapter factory) one server of ``sioscope demo --cluster``."""
    options: dict[str, Any] = {} if adapter is None else {"adapter": adapter}
    io = Server(cors_allowed_origins="*", ping_interval=ping_interval, ping_timeout=5.0, **options)
    instrument(io, auth=False, readonly=readonly, server_id=server_id, ack_timeout=5.0)

    def setup(socket: Socket) -> None:
        auth = socket.handshake.get("auth") or {}
        socket.data["user"] = {"name": str(auth.get("name", "anon"))}
        socket.join("lobby")

        @socket.on("join")
        def join(room: str) -> None:
            if isinstance(room, str) and room:
                socket.join(room)

        @socket.on("leave")
        def leave(room: str) -> None:
            if isinstance(room, str) and room:
                socket.leave(room)

        @socket.on("chat")
        def chat(room: str, text: str) -> None:
            socket.data["messages"] = int(socket.data.get("messages", 0)) + 1
            socket.to(str(room)).emit("chat", socket.data["user"]["name"], text)

        @socket.on("whoami")
        def whoami(ack: Any = None) -> None:
            # An event with an ack: the Exchanges view pairs the question and the answer.
            if callable(ack):
                ack(socket.data["user"]["name"])

    def members_only(socket: Socket) -> None:
        # A middleware that refuses: the Errors view shows its message and data.
        raise ConnectionRefused("not authorized", {"plan": "free"})

    io.on("connection", setup)
    io.of("/chat").on("connection", setup)
    io.of("/vip").use(members_only)
    return io


@dataclass
class Bot:
    """One demo user: an Engine.IO connection with one or two namespace sockets."""

    url: str
    name: str
    rng: random.Random
    polling_only: bool = False
    namespaces: list[str] = field(default_factory=lambda: ["/"])
    eio: engineio.AsyncClient | None = None
    rooms: set[str] = field(default_factory=set)
    asked: int = 0
    tasks: set[asyncio.Future[None]] = field(default_factory=set)

    async def connect(self) -> None:
        eio = engineio.AsyncClient(handle_sigint=False, request_timeout=5)
        decoder = Decoder()

        def on_message(msg: str | bytes) -> None:
            with contextlib.suppress(Exception):
                packet = decoder.feed(msg)  # the bots care only for questions with an ack
                if packet is not None and packet.type == PacketType.EVENT and packet.id is not None:
                    if self.rng.random() < 0.9:  # one in ten is never answered
                        reply = Packet(PacketType.ACK, packet.nsp, ["pong"], packet.id)
                        task = asyncio.ensure_future(self._send(reply))
                        self.tasks.add(task)  # the bot owns it; close() cancels what is left
                        task.add_done_callback(self.tasks.discard)

        eio.on("message", on_message)
        transports = ["polling"] if self.polling_only else ["polling", "websocket"]
        await eio.connect(self.url, transports=transports, engineio_path="socket.io")
        self.eio = eio
        for nsp in self.namespaces:
            await self._send(Packet(PacketType.CONNECT, nsp, {"name": self.name}))

    async def _send(self, packet: Packet) -> None:
        if self.eio is None:
            return
        for part in encode(packet):
            await self.eio.send(part)

    async def act(self) -> None:
        """One random action: chat (most often), join, leave, ask with an ack, and now
        and then a CONNECT the server refuses (a middleware's, an unknown namespace)."""
        nsp = self.rng.choice(self.namespaces)
        roll = self.rng.random()
        if roll < 0.1:
            self.asked += 1
            await self._send(Packet(PacketType.EVENT, nsp, ["whoami"], self.asked))
        elif roll < 0.13:
            refused = "/vip" if self.rng.random() < 0.7 else "/nope"
            await self._send(Packet(PacketType.CONNECT, refused, {"name": self.name}))
        elif roll < 0.6:
            room = self.rng.choice(sorted(self.rooms | {"lobby"}))
            word = self.rng.choice(("hi", "hello", "gg", "brb", "lol"))
            text = f"{word} #{self.rng.randint(1, 999)}"
            await self._send(Packet(PacketType.EVENT, nsp, ["chat", room, text]))
        elif roll < 0.8 or not self.rooms:
            room = self.rng.choice(ROOMS)
            self.rooms.add(room)
            await self._send(Packet(PacketType.EVENT, nsp, ["join", room]))
        else:
            room = self.rng.choice(sorted(self.rooms))
            self.rooms.discard(room)
            await self._send(Packet(PacketType.EVENT, nsp, ["leave", room]))

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.eio is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.eio.disconnect(), 2.0)
            self.eio = None


class Demo:
    """The embedded server plus its bots; ``await start()``, ``await stop()``."""

    def __init__(
        self, clients: int = 36, *, readonly: bool = False, seed: int = 1, host: str = "aiohttp"
    ) -> None:
        if host not in HOSTS:
            raise ValueError(f"host must be one of {', '.join(HOSTS)}, not {host!r}")
        self.n_clients = clients
        self.readonly = readonly
        self.host = host
        self._uvicorn: Any = None
        self._uvicorn_task: asyncio.Task[None] | None = None
        self.rng = random.Random(seed)
        self.probe_rng = random.Random(seed + 1)
        """For the diagnostics traffic, so the bots' lives stay what ``seed`` made them."""
        self.port = 0
        self.runner: web.AppRunner | None = None
        self.io: Server | None = None
        self.bots: list[Bot] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        await self.serve()
        await self.populate()

    async def populate(self) -> None:
        """Connect the bots and start their life (once the servers listen)."""
        await asyncio.gather(*(self._spawn(i) for i in range(self.n_clients)))
        self._task = asyncio.ensure_future(self._life())

    def spawn_url(self, i: int) -> str:
        """The server the ``i``-th new bot connects to (a cluster demo spreads them)."""
        return self.url

    async def serve(self) -> None:
        """Start the demo's server."""
        if self.host == "asgi":
            self.io = build_io(readonly=self.readonly)
            await self._start_uvicorn(self.io)
        else:
            app, self.io = build_server(readonly=self.readonly)
            # A short shutdown: quitting the demo must not wait a minute for a bot's
            # long-poll or websocket to drain.
            self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.port = int(self.runner.addresses[0][1])

    async def _spawn(self, i: int) -> None:
        name = f"{self.rng.choice(NAMES)}{i}"
        namespaces = ["/", "/chat"] if self.rng.random() < 0.3 else ["/"]
        bot = Bot(
            self.spawn_url(i),
            name,
            random.Random(self.rng.random()),
            polling_only=self.rng.random() < 0.15,
            namespaces=namespaces,
        )
        try:
            await bot.connect()
        except Exception as exc:  # a bot that cannot connect is logged, the demo goes on
            log.warning("demo bot %s could not connect: %s", name, exc)
            return
        self.bots.append(bot)

    def reconnect_url(self, bot: Bot) -> str:
        """Where a bot that left comes back: the same server (a cluster demo sends it
        to another one)."""
        return bot.url

    async def _life(self) -> None:
        """Ticks ~5 times a second: bots chat and move; some leave (half of them come
        back a few seconds later, as a flaky mobile client does), newcomers arrive."""
        i = self.n_clients
        away: list[tuple[float, Bot]] = []
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.2)
            for bot in self.rng.sample(self.bots, min(len(self.bots), 4)):
                with contextlib.suppress(Exception):
                    await bot.act()
            if self.io is not None and self.probe_rng.random() < 0.3:
                self._ask_someone(self.io)
            if self.probe_rng.random() < 0.01:
                await self._stray_request()
            if self.bots and self.rng.random() < 0.08:
                bot = self.rng.choice(self.bots)
                self.bots.remove(bot)
                await bot.close()
                if self.rng.random() < 0.5:
                    away.append((loop.time() + self.rng.uniform(1.0, 4.0), bot))
            for entry in [e for e in away if e[0] <= loop.time()]:
                away.remove(entry)
                bot = entry[1]
                bot.rooms.clear()
                bot.url = self.reconnect_url(bot)
                try:
                    await bot.connect()  # the same user again: a new socket id
                except Exception as exc:
                    log.warning("demo bot %s could not reconnect: %s", bot.name, exc)
                    continue
                self.bots.append(bot)
            if len(self.bots) + len(away) < self.n_clients and self.rng.random() < 0.15:
                await self._spawn(i)
                i += 1

    def _ask_someone(self, io: Server) -> None:
        """The server asks one socket a question with an ack (and a timeout)."""
        sockets = list(io.of("/").sockets.values())
        if sockets:
            target = self.probe_rng.choice(sockets)
            target.timeout(5).emit("ping", callback=lambda *_: None)

    async def _stray_request(self) -> None:
        """A request the engine refuses (an unknown transport), as a scanner sends."""
        url = f"{self.url}/socket.io/?EIO=4&transport=carrier-pigeon"
        with contextlib.suppress(Exception):
            async with aiohttp.ClientSession(headers={"User-Agent": "demo-scanner/0.1"}) as http:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    await resp.read()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*(b.close() for b in self.bots), return_exceptions=True)
        self.bots.clear()
        if self.io is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.io.close(), 3.0)
        if self.runner is not None:
            await self.runner.cleanup()
        if self._uvicorn is not None and self._uvicorn_task is not None:
            self._uvicorn.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._uvicorn_task, 3.0)

    async def _start_uvicorn(self, io: Server) -> None:
        """``io.asgi_app()`` on uvicorn in this loop, on a socket bound here (port 0)."""
        import uvicorn

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:  # the inspector owns the terminal
                yield

        sock = socket_module.socket(socket_module.AF_INET, socket_module.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            io.asgi_app(),
            lifespan="on",
            log_level="critical",  # the inspector's screen is the demo's output
            access_log=False,
            proxy_headers=False,
            ws_per_message_deflate=False,
            ws_ping_interval=None,
            timeout_graceful_shutdown=1,
        )
        self._uvicorn = server = Quiet(config)
        self._uvicorn_task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started:
            if self._uvicorn_task.done():
                self._uvicorn_task.result()
                raise RuntimeError("uvicorn stopped during startup")
            await asyncio.sleep(0.01)


async def run_demo(
    clients: int = 36, readonly: bool = False, host: str = "aiohttp", cluster: int = 0
) -> int:
    """Start the demo (its server on ``host``; with ``cluster``, that many servers on
    one local Redis: ``cluster_demo``) and open the inspector on it; returns the exit
    status."""
    from sioscope.inspector.app import InspectorApp
    from sioscope.inspector.client import AdminClient, AdminConnectError, ClientOptions
    from sioscope.inspector.cluster_demo import ClusterDemo, MissingRedis
    from sioscope.inspector.model import Model

    demo = (
        ClusterDemo(cluster, clients, readonly=readonly)
        if cluster
        else Demo(clients, readonly=readonly, host=host)
    )
    try:
        await demo.start()
    except MissingRedis as exc:
        await demo.stop()
        print(f"sioscope: {exc}", file=sys.stderr)
        return 1
    model = Model()
    client = AdminClient(ClientOptions(demo.url), model)
    try:
        await client.connect()
    except AdminConnectError as exc:
        await demo.stop()
        print(f"sioscope: {exc}")
        return 1
    client.start()
    source = f"demo {demo.url}" + (" (asgi)" if host == "asgi" else "")
    if cluster:
        source = f"demo cluster of {cluster} (attached to {demo.url})"
    app = InspectorApp(model, client, readonly=readonly, source=source)
    tune_collector()  # as ``sioscope inspect`` does (sioscope.inspector.cli), for both sides
    try:
        await app.run_async()
    finally:
        await client.close()
        try:
            await asyncio.wait_for(demo.stop(), 8.0)
        except TimeoutError:
            log.warning("the demo server took too long to stop; leaving anyway")
    return 0
