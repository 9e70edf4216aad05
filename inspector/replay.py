"""``sioscope replay FILE --socket ID URL``: a captured client session, sent again.

To reproduce a bug, the captured client is played back against a server: a new
Engine.IO connection with the captured handshake query, a CONNECT to the socket's
namespace with its auth, then its client-to-server packets at their captured pace, and
every packet the server sends back printed as it comes. Rules:

1. The auth is the one the captured CONNECT carried (the packet stream holds it whole),
   else ``handshake.auth`` when the capture has it (Node's admin namespace leaves it
   out), else none. The query is the handshake's, without Engine.IO's own parameters.
2. The packets are the socket's ``in`` packets (``traffic``), CONNECT excepted (the
   replay sends its own, and waits for the answer before anything else), sent as the
   very frames that were captured: the same text, the same attachments, the same ack
   ids. A packet the capture did not hold whole is not sent, and is reported.
3. Timing: each packet leaves at its captured offset from the first one, divided by
   ``speed``. After the last, the replay waits ``linger`` seconds for answers, then
   disconnects (unless the session itself ended with a DISCONNECT).
4. Everything the server sends on the namespace is decoded with the server's parser
   and printed, one line a packet; so are the packets sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import engineio

from sioscope.inspector.decoding import Meaning, meaning
from sioscope.inspector.records import compact_json
from sioscope.inspector.traffic import SioPacket, Traffic
from sioscope.server.parser import Decoder, Packet, PacketType, ParseError, encode

CONNECT_TIMEOUT = 10.0
_TRANSPORT_QUERY = frozenset({"EIO", "transport", "t", "sid", "j", "b64"})
_log = logging.getLogger("sioscope.inspector.replay")
_log.addHandler(logging.NullHandler())


class ReplayError(Exception):
    """The replay could not run (unreachable server, refused CONNECT); one line."""


def describe(m: Meaning) -> str:
    """``EVENT /chat #3 hello ["world"]``: one packet on one line."""
    parts = [m.sio or "?", m.nsp]
    if m.ack_id is not None:
        parts.append(f"#{m.ack_id}")
    if m.event is not None:
        parts.append(m.event)
    if m.args is not None:
        parts.append(compact_json(m.args))
    return " ".join(parts)


@dataclass
class Plan:
    """What a replay of one socket sends (rules 1 and 2)."""

    traffic: Traffic
    auth: Any
    query: dict[str, str]
    sends: list[SioPacket]
    skipped: list[SioPacket]

    @property
    def nsp(self) -> str:
        return self.traffic.nsp


def plan(traffic: Traffic) -> Plan:
    """Rules 1 and 2 for ``traffic``."""
    sent = [p for p in traffic.packets if p.direction == "in"]
    connects = [p for p in sent if p.meaning.sio == PacketType.CONNECT.name]
    auth: Any = None
    if connects and connects[-1].whole:
        auth = connects[-1].meaning.args
    elif isinstance(traffic.handshake.get("auth"), dict) and traffic.handshake["auth"]:
        auth = traffic.handshake["auth"]
    raw_query = traffic.handshake.get("query")
    query = {
        str(k): str(v)
        for k, v in (raw_query.items() if isinstance(raw_query, dict) else ())
        if k not in _TRANSPORT_QUERY
    }
    rest = [p for p in sent if p.meaning.sio != PacketType.CONNECT.name]
    return Plan(
        traffic,
        auth,
        query,
        [p for p in rest if p.whole],
        [p for p in rest if not p.whole],
    )


class Replayer:
    """One replay against one server (module rules 3 and 4)."""

    def __init__(
        self,
        the_plan: Plan,
        url: str,
        *,
        path: str = "/socket.io",
        speed: float = 1.0,
        linger: float = 1.0,
        out: Callable[[str], None] = print,
    ) -> None:
        if speed <= 0:
            raise ValueError("--speed must be more than 0")
        self.plan = the_plan
        self.url = url
        self.path = path.strip("/") or "socket.io"
        self.speed = speed
        self.linger = linger
        self.out = out
        self.received: list[Meaning] = []
        self._decoder = Decoder()
        self._frames: list[str | bytes] = []
        self._connected: asyncio.Future[Meaning] | None = None
        self._started = 0.0

    def _say(self, arrow: str, m: Meaning) -> None:
        self.out(f"{time.monotonic() - self._started:8.3f}s {arrow} {describe(m)}")

    def _on_message(self, data: str | bytes) -> None:
        try:
            if isinstance(data, str):
                self._frames = [data]
            else:
                self._frames.append(data)
            packet = self._decoder.feed(data)
        except ParseError as exc:
            self.out(f"sioscope: the server sent what the parser refuses ({exc})")
            self._decoder.reset()
            return
        if packet is None or packet.nsp != self.plan.nsp:
            return
        got = meaning(packet, len(self._frames) > 1, self._frames)
        self.received.append(got)
        waiting = self._connected
        if (
            waiting is not None
            and not waiting.done()
            and packet.type
            in (
                PacketType.CONNECT,
                PacketType.CONNECT_ERROR,
            )
        ):
            waiting.set_result(got)
            return
        self._say("←", got)

    async def run(self) -> int:
        """Connect, send, print; 0 when every packet was sent."""
        self._started = time.monotonic()
        http = aiohttp.ClientSession()
        eio = engineio.AsyncClient(
            logger=_log, handle_sigint=False, request_timeout=CONNECT_TIMEOUT, http_session=http
        )
        eio.on("message", self._on_message)
        self._connected = asyncio.get_running_loop().create_future()
        base = self.url.rstrip("/")
        query = f"?{urlencode(self.plan.query)}" if self.plan.query else ""
        try:
            try:
                await asyncio.wait_for(
                    eio.connect(base + query, engineio_path=self.path), CONNECT_TIMEOUT
                )
            except (
                engineio.exceptions.ConnectionError,
                aiohttp.ClientError,
                RuntimeError,
                ValueError,
                OSError,
                TimeoutError,
            ) as exc:
                # python-engineio's ConnectionError carries (message, response) as args
                first = exc.args[0] if exc.args else None
                why = first if isinstance(first, str) else (str(exc) or type(exc).__name__)
                raise ReplayError(f"cannot reach {base} (path /{self.path}): {why}") from None
            return await self._session(eio)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(eio.disconnect(abort=True), 2.0)
            await http.close()

    async def _session(self, eio: engineio.AsyncClient) -> int:
        the_plan = self.plan
        connect = Packet(PacketType.CONNECT, the_plan.nsp, the_plan.auth)
        for part in encode(connect):
            await eio.send(part)
        self._say("→", meaning(connect, False, []))
        assert self._connected is not None
        try:
            answer = await asyncio.wait_for(self._connected, CONNECT_TIMEOUT)
        except TimeoutError:
            raise ReplayError(f"no answer to CONNECT {the_plan.nsp} from {self.url}") from None
        self._say("←", answer)
        if answer.sio == PacketType.CONNECT_ERROR.name:
            raise ReplayError(f"{the_plan.nsp} refused the connection: {compact_json(answer.args)}")
        for skipped in the_plan.skipped:
            what = describe(skipped.meaning)
            self.out(f"sioscope: not sent, the capture did not hold it whole: {what}")
        first = the_plan.sends[0].ts_ms if the_plan.sends else 0
        begun = time.monotonic()
        for packet in the_plan.sends:
            due = begun + (packet.ts_ms - first) / 1000 / self.speed
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            for frame in packet.frames:
                if frame.data is not None:
                    await eio.send(frame.data)
            self._say("→", packet.meaning)
        await asyncio.sleep(self.linger)
        ended = bool(the_plan.sends) and the_plan.sends[-1].meaning.sio == "DISCONNECT"
        if not ended:
            for part in encode(Packet(PacketType.DISCONNECT, the_plan.nsp)):
                await eio.send(part)
        host = urlsplit(self.url).netloc or self.url
        self.out(
            f"sioscope: replayed {len(the_plan.sends)} packet(s) of {the_plan.traffic.socket_id} "
            f"to {host}{the_plan.nsp}; {len(self.received) - 1} packet(s) back"
        )
        return 0
