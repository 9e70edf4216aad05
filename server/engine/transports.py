"""The two Engine.IO transports: HTTP long-polling and WebSocket, on any host.

They speak to the host only through ``host.py``'s ``HttpExchange`` and
``WebSocketChannel``, which each driver implements, so the same logic runs on
aiohttp and on ASGI.

A transport moves packets; it knows nothing of heartbeats, upgrades or reasons.
Its owner (a ``Conn``, or a Conn's upgrade attempt) plugs four callbacks in, as
Node's engine.io ``Transport`` emits ``packet``, ``error``, ``close`` and ``ready``:

* ``on_packet(packet)``: a decoded packet arrived.
* ``on_error(TransportError)``: the transport failed; the owner closes.
* ``on_close()``: the transport is closed (peer closed, or our own close finished).
* ``on_ready()``: the transport became writable again; the owner flushes.

The server also plugs ``on_headers(headers, request)`` in, called before each
successful polling response, where Node's transport emits ``headers``.

``detach()`` swaps them for no-ops, the way Node's ``clearTransport`` removes its
listeners, so a discarded transport can no longer reach the connection.

Polling keeps at most one pending GET (a future the next ``send`` resolves with the
encoded payload, or, on a host that answers without a task, a callback ``send`` calls:
``park_get``) and one POST in flight. WebSocket has one reader loop (the request
handler) and one writer coroutine per connection that drains a frame list, so no
task is created per packet; where the host allows it (``can_write_now``), frames go
straight to the socket with no task at all.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import struct
import weakref
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

from .host import CallbackChannel, ChannelError, HttpExchange, Response, WebSocketChannel
from .packets import Packet, decode_packet, decode_payload, encode_packet, encode_payload
from .request import Request

log = logging.getLogger("sioscope.engine")

POLL_WATCH_INTERVAL = 0.5
"""Seconds between checks that a parked GET's client is still connected.

A host need not cancel a handler when its client goes away (aiohttp does so only
with ``handler_cancellation=True``; ASGI servers report it as a message nobody reads
while the GET is parked); this check of ``exchange.gone()`` is what notices an aborted
long-poll (Node's ``"poll connection closed prematurely"``) either way. One sweep per
loop checks every parked GET (``_PollWatch``), so parking a GET costs a set insertion,
not a timer: most GETs are answered within milliseconds.
"""

COMPRESSION_THRESHOLD = 1024

WRITE_HIGH_WATER = 64 * 1024
"""Above this many bytes in the host's socket buffer, WebSocket frames wait in the
transport (as references) until the socket drains."""

FRAME_CHUNK = 256 * 1024
"""Frames larger than this are handed to the host's socket in slices of this size
(memoryviews of the shared frame), so a socket whose peer stopped reading gets at most
one slice plus the high-water mark copied into its buffer (the standard loop copies
what the kernel did not take; uvloop keeps the slice by reference). Smaller slices copy
less but cost more system calls: on loopback, 16 KB slices made a 300-socket broadcast
of 1 MB block the loop about twice as long as 256 KB ones (bench ``slow_reader``)."""


class TransportError(Exception):
    """A transport failure, Node's ``TransportError``: a message plus a description."""

    def __init__(self, message: str, description: object = None) -> None:
        super().__init__(message)
        self.type = "TransportError"
        self.description = description


_COMPRESS = {"compress": True}


def _noop(*_args: Any) -> None:
    return None


class _PollWatch:
    """The loop's sweep over parked GETs, every ``POLL_WATCH_INTERVAL`` while any is."""

    __slots__ = ("__weakref__", "handle", "loop", "parked")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.parked: set[PollingTransport] = set()
        self.handle: asyncio.TimerHandle | None = None

    def add(self, transport: PollingTransport) -> None:
        self.parked.add(transport)
        if self.handle is None:
            self.handle = self.loop.call_later(POLL_WATCH_INTERVAL, self.sweep)

    def sweep(self) -> None:
        self.handle = None
        for transport in list(self.parked):
            try:
                transport.check_poll()
            except Exception:  # one transport's failure must not stop the sweep
                log.exception("poll check of %r failed", transport)
        if self.parked:
            self.handle = self.loop.call_later(POLL_WATCH_INTERVAL, self.sweep)


_poll_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _PollWatch] = (
    weakref.WeakKeyDictionary()
)


def _poll_watch() -> _PollWatch:
    loop = asyncio.get_running_loop()
    watch = _poll_watches.get(loop)
    if watch is None:
        watch = _poll_watches[loop] = _PollWatch(loop)
    return watch


PollPayload = tuple[str, bool]
"""What a parked GET is answered with: the encoded payload, and whether it may be
compressed."""


class _Callback:
    """A parked GET answered by a function instead of a future (``park_get``).

    It has the two methods of a future that the transport uses, so a GET parks the
    same way whichever the host; ``set_result`` calls the function at once, where a
    future would schedule its callbacks on the loop: no future, no done-callback and
    no extra loop iteration per long-poll."""

    __slots__ = ("_done", "_fn")

    def __init__(self, fn: Callable[[PollPayload], None]) -> None:
        self._fn = fn
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, payload: PollPayload) -> None:
        if not self._done:
            self._done = True
            self._fn(payload)


class Transport:
    """What both transports share: state, owner callbacks and the close protocol."""

    name = ""
    handles_upgrades = False
    #: Whether a packet handed over while ``writable`` reaches the socket within
    #: ``send`` (a WebSocket on a host that takes ready-made frames), so the
    #: connection may flush the first message of a tick at once (``Conn``, rule 1).
    writes_at_once = False

    def __init__(self, request: Request) -> None:
        self.request = request
        self.writable = False
        self.ready_state = "open"
        self.discarded = False
        self.on_packet: Callable[[Packet], Any] = _noop
        self.on_error: Callable[[TransportError], Any] = _noop
        self.on_close: Callable[[], Any] = _noop
        self.on_ready: Callable[[], Any] = _noop
        self.on_headers: Callable[[dict[str, str], Request], Any] = _noop

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.ready_state} writable={self.writable}>"

    def detach(self) -> None:
        """Drop the owner's callbacks: later errors and packets go nowhere."""
        self.on_packet = self.on_error = self.on_close = self.on_ready = _noop

    def discard(self) -> None:
        """Mark as replaced by an upgrade, so closing it does not wait for a GET."""
        self.discarded = True

    def close(self, fn: Callable[[], Any] | None = None) -> None:
        """Close once; ``fn`` runs when the close is complete (maybe synchronously)."""
        if self.ready_state in ("closed", "closing"):
            return
        self.ready_state = "closing"
        self._do_close(fn or _noop)

    def send(self, packets: list[Packet]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def pending_writes(self) -> asyncio.Task[None] | None:
        """The task still writing this transport's last frames, if one was started
        (the server's ``close`` waits for it, bounded)."""
        return None

    #: Bytes this transport holds for its client beyond the host's socket buffer.
    owed_bytes = 0

    def prepare(self, packet: Packet) -> None:
        """Get a packet that will wait in the connection's buffer ready for this
        transport (nothing to do for polling)."""

    def abort(self) -> None:
        """Drop anything owed and close without waiting for the client."""
        self.close()

    def _do_close(self, fn: Callable[[], Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _error(self, message: str, description: object = None) -> None:
        self.on_error(TransportError(message, description))

    def _closed(self) -> None:
        self.ready_state = "closed"
        self.on_close()


class PollingTransport(Transport):
    """HTTP long-polling: GETs carry server packets, POSTs carry client packets."""

    name = "polling"

    def __init__(
        self,
        request: Request,
        *,
        max_http_buffer_size: int,
        http_compression: bool,
        close_timeout: float = 30.0,
    ) -> None:
        super().__init__(request)
        self.max_http_buffer_size = max_http_buffer_size
        self.http_compression = http_compression
        self.close_timeout = close_timeout
        self._poll: asyncio.Future[PollPayload] | _Callback | None = None
        self._poll_exchange: HttpExchange | None = None
        self._sweeper = _poll_watch()  # the loop's, looked up once per session
        self._watch: _PollWatch | None = None
        self._posting = False
        self._should_close: Callable[[], None] | None = None
        self._close_timer: asyncio.TimerHandle | None = None

    # -- GET ---------------------------------------------------------------------------

    def start_get(self, exchange: HttpExchange) -> asyncio.Future[PollPayload] | None:
        """Park a GET (the synchronous half); ``None`` means refused (overlap)."""
        fut: asyncio.Future[PollPayload] = self._sweeper.loop.create_future()
        return fut if self._park(exchange, fut) else None

    def park_get(self, exchange: HttpExchange, on_payload: Callable[[PollPayload], None]) -> bool:
        """Park a GET that ``on_payload`` answers, called (maybe before this returns)
        with what ``start_get``'s future would hold; False means refused (overlap).

        For a host that answers without a task (``EngineServer.answer_now``): the
        payload goes to the response from the ``send`` that produced it."""
        return self._park(exchange, _Callback(on_payload))

    def _park(self, exchange: HttpExchange, poll: asyncio.Future[PollPayload] | _Callback) -> bool:
        if self._poll is not None:
            if _gone(self._poll_exchange):
                self._poll_gone()  # a cancelled GET closes the session, like Node
            else:
                self._error("overlap from client")
            return False
        self._poll = poll
        self._poll_exchange = exchange
        self.request = exchange.request
        self.writable = True
        self.on_ready()
        if self.writable and self._should_close is not None:
            self.send([{"type": "noop"}])
        if not poll.done():
            self._watch = watch = self._sweeper
            watch.add(self)
        return True

    async def finish_get(
        self,
        exchange: HttpExchange,
        fut: asyncio.Future[PollPayload] | None,
        headers: dict[str, str],
    ) -> Response:
        """Wait for the payload of a parked GET and answer it."""
        if fut is None:
            return Response(400, headers)
        try:
            body, compress = await fut
        except asyncio.CancelledError:
            # the host cancelled the handler: its client went away (aiohttp's
            # handler_cancellation)
            if self._poll is fut:
                self._poll_gone()
            raise
        return self.get_response(exchange.request, (body, compress), headers)

    def get_response(
        self, request: Request, payload: PollPayload, headers: dict[str, str]
    ) -> Response:
        """The answer of a GET once its payload is ready (what its future holds)."""
        body, compress = payload
        headers["Content-Type"] = "text/plain; charset=UTF-8"
        headers["Cache-Control"] = "no-store"
        self.on_headers(headers, request)
        data = body.encode()
        if compress and self.http_compression and len(data) >= COMPRESSION_THRESHOLD:
            data = _compress(request, data, headers)
        return Response(200, headers, data)

    def check_poll(self) -> None:
        """The loop's sweep (``_PollWatch``): notice a parked GET whose client left."""
        if self._poll is None:
            self._release_poll()
        elif _gone(self._poll_exchange):
            self._poll_gone()

    def _poll_gone(self) -> None:
        fut = self._poll
        self._release_poll()
        if fut is not None and not fut.done():
            fut.set_result(("6", False))  # nobody reads it: the client is gone
        self._error("poll connection closed prematurely")

    def _release_poll(self) -> None:
        self._poll = None
        self._poll_exchange = None
        self.writable = False
        if self._watch is not None:
            self._watch.parked.discard(self)
            self._watch = None

    # -- POST --------------------------------------------------------------------------

    async def handle_post(self, exchange: HttpExchange, headers: dict[str, str]) -> Response:
        """Read a POSTed payload (bounded), hand its packets over, answer ``ok``."""
        request = exchange.request
        if self._posting:
            self._error("data request overlap from client")
            return Response(400, headers)
        if request.headers.get("Content-Type") == "application/octet-stream":
            self._error("invalid content")
            return Response(400, headers)
        length = request.content_length
        if length is not None and length > self.max_http_buffer_size:
            return Response(413, headers)
        self._posting = True
        try:
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = await exchange.read()
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_http_buffer_size:
                    return Response(413, headers)
                chunks.append(chunk)
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
            self._error("data request connection closed prematurely", exc)
            return Response(400, headers)
        except asyncio.CancelledError:  # the host cancelled: the client went away
            self._error("data request connection closed prematurely")
            raise
        finally:
            self._posting = False
        return self._posted(request, b"".join(chunks), headers)

    def take_post(self, request: Request, body: bytes, headers: dict[str, str]) -> Response:
        """``handle_post`` for a body the host already holds whole: no reading, so
        nothing to await (``EngineServer.answer_now``); the same checks and answers."""
        if self._posting:
            self._error("data request overlap from client")
            return Response(400, headers)
        if request.headers.get("Content-Type") == "application/octet-stream":
            self._error("invalid content")
            return Response(400, headers)
        if len(body) > self.max_http_buffer_size:
            return Response(413, headers)
        return self._posted(request, body, headers)

    def _posted(self, request: Request, body: bytes, headers: dict[str, str]) -> Response:
        self._on_data(body.decode("utf-8", errors="replace"))
        headers["Content-Type"] = "text/html"
        headers["Cache-Control"] = "no-store"
        self.on_headers(headers, request)
        return Response(200, headers, b"ok")

    def _on_data(self, body: str) -> None:
        for packet in decode_payload(body):
            if packet["type"] == "close":
                self._closed()
            else:
                self.on_packet(packet)

    # -- sending and closing -----------------------------------------------------------

    def send(self, packets: list[Packet]) -> None:
        """Answer the parked GET with ``packets`` (plus a close packet when one is due)."""
        if self._poll is not None and _gone(self._poll_exchange):
            self._poll_gone()  # never hand packets to a client that went away
            return
        poll = self._poll
        self._release_poll()
        should_close = self._should_close
        if should_close is not None:
            packets = [*packets, {"type": "close"}]
            self._should_close = None
            should_close()  # before the answer is written, as Node's polling send does
        if poll is not None and not poll.done():
            # Node compresses a response if any of its packets may be compressed (only
            # asked when compression is on: get_response reads it only then)
            compress = self.http_compression and any(
                p.get("options", _COMPRESS)["compress"] for p in packets
            )
            poll.set_result((encode_payload(packets), compress))

    def _closed(self) -> None:
        if self.writable:
            self.send([{"type": "noop"}])
        super()._closed()

    def _do_close(self, fn: Callable[[], Any]) -> None:
        def on_close() -> None:
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._close_timer = None
            self._should_close = None
            fn()
            self._closed()

        if self.writable:
            self.send([{"type": "close"}])
            on_close()
        elif self.discarded:
            on_close()
        else:
            self._should_close = on_close
            self._close_timer = asyncio.get_running_loop().call_later(self.close_timeout, on_close)


class WebSocketTransport(Transport):
    """One WebSocket: a reader loop (``run``) and, when frames must wait, one writer.

    Backpressure (what a client that stops reading costs). What the transport owes
    its client lives in ``_owed``, a queue of *references*: for a host that takes
    ready-made frames (``channel.raw_frames``), the frame bytes, which a broadcast
    builds once and every recipient shares; else the encoded messages, equally
    shared. Frames go into the host's socket buffer only while it is below the
    high-water mark, large ones in slices of ``FRAME_CHUNK`` (memoryviews of the
    shared frame), so a socket whose peer stopped reading holds at most about one
    slice of copied bytes, and a broadcast to it costs a queue append.
    ``owed_bytes`` is what is queued and not yet handed to the host; the connection
    caps it (``Conn``, ``max_write_buffer_size``).
    """

    name = "websocket"
    handles_upgrades = True

    def __init__(self, channel: WebSocketChannel) -> None:
        super().__init__(channel.request)
        self.channel = channel
        self.writable = True
        self.writes_at_once = channel.raw_frames
        # frame bytes when channel.raw_frames, else encoded messages (str or bytes)
        # made by the first frame that must wait (an empty deque is 760 bytes, and most
        # connections never owe anything): None until then
        self._owed: deque[Any] | None = None
        self._offset = 0  # bytes of _owed[0] already written (raw frames only)
        #: Bytes queued here and not yet handed to the host.
        self.owed_bytes = 0
        self._wake: asyncio.Future[None] | None = None
        self._close_ws = False
        # Started on the first write that cannot go straight out (or on close): most
        # connections never need it, so none pays a task for it.
        self._writer: asyncio.Task[None] | None = None
        self._callbacks: CallbackChannel | None = None  # the channel, when start()ed

    def pending_writes(self) -> asyncio.Task[None] | None:
        """The writer task, when one was started."""
        return self._writer

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def prepare(self, packet: Packet) -> None:
        """Attach its frame to a message packet that will wait in the connection's
        buffer, while the broadcast that made it still shares one frame (Node's
        ``wsPreEncodedFrame``): built later, each waiting socket would build its own."""
        if self.channel.raw_frames and packet["type"] == "message":
            packet["frame"] = _frame_of(packet)

    def send(self, packets: list[Packet]) -> None:
        """One frame per packet, in order: written at once when possible, else owed.

        Fast path: when the host lets us write to the socket (``can_write_now``: no
        compression negotiated, its buffer below the high-water mark) and nothing is
        owed, small frames are handed over in one write, so an echo costs no task
        switch. Otherwise the frames are queued (references, no copy) and the writer
        coroutine hands them over as the socket drains, then calls ``on_ready``, as
        Node's transport emits ``ready`` after its last frame.
        """
        channel = self.channel
        owed = self._owed
        if not self.writes_at_once:
            self.writable = False
            owed = self._queue()
            for packet in packets:
                message = encode_packet(packet)
                owed.append(message)
                self.owed_bytes += len(message)
            self._start_writer()
            self._wakeup()
            return
        if len(packets) == 1:
            packet = packets[0]
            frame: bytes = packet.get("frame") or _frame_of(packet)
            if (
                not owed
                and len(frame) <= FRAME_CHUNK
                and self.ready_state == "open"
                and not self._close_ws
                and channel.write_if_ready(frame)
            ):
                return
            owed = self._queue()
            owed.append(frame)
            self.owed_bytes += len(frame)
        else:
            owed = self._queue()
            for packet in packets:
                frame = packet.get("frame") or _frame_of(packet)
                owed.append(frame)
                self.owed_bytes += len(frame)
        if self.ready_state == "open" and not self._close_ws and self._pump():
            return
        self.writable = False
        self._start_writer()
        self._wakeup()

    def _queue(self) -> deque[Any]:
        """What is owed, made when the first frame must wait."""
        owed = self._owed
        if owed is None:
            owed = self._owed = deque()
        return owed

    def _pump(self) -> bool:
        """Hand owed frames to the host while its buffer is below the high-water mark;
        small consecutive frames go in one write. True when nothing is owed any more."""
        owed = self._owed
        channel = self.channel
        while owed:
            if not channel.can_write_now():
                return False
            first = owed[0]
            offset = self._offset
            left = len(first) - offset
            if left > FRAME_CHUNK:  # a slice of the shared frame, never a copy of it
                channel.write_now(memoryview(first)[offset : offset + FRAME_CHUNK])
                self._offset = offset + FRAME_CHUNK
                self.owed_bytes -= FRAME_CHUNK
                continue
            owed.popleft()
            self._offset = 0
            self.owed_bytes -= left
            if offset:
                channel.write_now(memoryview(first)[offset:])
                continue
            batch = [first]
            room = FRAME_CHUNK - left
            while owed and len(owed[0]) <= room:
                frame = owed.popleft()
                room -= len(frame)
                self.owed_bytes -= len(frame)
                batch.append(frame)
            channel.write_now(first if len(batch) == 1 else b"".join(batch))
        return True

    def _wakeup(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _ready(self) -> None:
        if not self._owed and self.ready_state == "open" and not self.writable:
            self.writable = True
            self.on_ready()

    async def _write_loop(self) -> None:
        channel = self.channel
        owed = self._queue()  # the one queue from now on: send appends to it
        try:
            while True:
                if not owed:
                    if self._close_ws:
                        break
                    self._ready()
                    if owed:  # on_ready flushed more
                        continue
                    self._wake = asyncio.get_running_loop().create_future()
                    await self._wake
                    self._wake = None
                    continue
                if channel.raw_frames:
                    if not self._pump():
                        await channel.drain()
                        if channel.closed:
                            raise ConnectionError("websocket closed with frames owed")
                        if not channel.can_write_now():
                            # a host whose drain returned early (its socket closing,
                            # or its high-water mark above ours): wait, never spin
                            await asyncio.sleep(0.01)
                else:
                    message = owed.popleft()
                    self.owed_bytes -= len(message)
                    await channel.send(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._drop_owed()
            self._error("write error", exc)
        if not channel.closed:
            try:
                await channel.close()
            except Exception:  # the peer may be gone; the reader reports that
                log.debug("websocket close failed", exc_info=True)

    def _drop_owed(self) -> None:
        if self._owed is not None:
            self._owed.clear()
        self._offset = 0
        self.owed_bytes = 0

    def abort(self) -> None:
        """Drop what is owed and close at once: the connection gave up on this client
        (its cap on owed bytes), so nothing more is waited for."""
        self._drop_owed()
        self.close()

    async def run(self) -> None:
        """The reader: runs in the request handler until the socket closes; each
        message is handed over as the host delivers it (``host.py``, rule 6)."""
        try:
            try:
                await self.channel.deliver(self._on_message)
            except ChannelError as exc:
                self._error("websocket error", exc.description)
        finally:
            if self.ready_state != "closed":
                self._closed()
            await self._stop_writer()

    def _on_message(self, data: str | bytes) -> None:
        self.on_packet(decode_packet(data))

    def start(self, channel: CallbackChannel) -> None:
        """``run`` without a coroutine, on a host that calls back (``host.py``, rule 7;
        ``channel`` is this transport's): messages reach ``on_packet`` as the host reads
        them, and the end of the socket is ``_on_end``, so an open WebSocket holds no
        task and no coroutine frames."""
        self._callbacks = channel
        channel.listen(self._on_message, self._on_end)

    def _on_end(self, error: BaseException | None) -> None:
        """What ``run`` does once ``deliver`` is over, for ``start``: the error
        reported, the transport closed, then the websocket (after the frames owed, as
        ``_stop_writer`` waits for the writer, at most 2 s)."""
        channel = self._callbacks
        assert channel is not None  # only start() makes the channel call this
        if isinstance(error, ChannelError):
            self._error("websocket error", error.description)
        elif error is not None:
            log.error("websocket reader failed", exc_info=error)
        if self.ready_state != "closed":
            self._closed()
        self._close_ws = True
        writer = self._writer
        if writer is None or writer.done():
            channel.close_now()
            return
        self._wakeup()
        give_up = asyncio.get_running_loop().call_later(2.0, writer.cancel)

        def finished(_: asyncio.Task[None]) -> None:
            give_up.cancel()
            channel.close_now()

        writer.add_done_callback(finished)

    async def _stop_writer(self) -> None:
        self._close_ws = True
        writer = self._writer
        if writer is None:  # nothing was ever queued: close here, no task needed
            if not self.channel.closed:
                try:
                    await self.channel.close()
                except Exception:  # the peer may be gone; the reader reported that
                    log.debug("websocket close failed", exc_info=True)
            return
        self._wakeup()
        if not writer.done():
            done, _ = await asyncio.wait({writer}, timeout=2.0)
            if not done:
                writer.cancel()

    def _do_close(self, fn: Callable[[], Any]) -> None:
        self._close_ws = True
        self._start_writer()  # it sends what is owed, then closes the websocket
        self._wakeup()
        fn()


# The last message frame built, keyed by the identity of its data: a broadcast hands
# the same str object to every recipient's Conn, so its frame is built once and written
# to each socket (Node's "encode once, write many", carried down to the wire bytes).
_last_data: object = None
_last_frame: bytes = b""

# The first two bytes of every small server frame (FIN + opcode, then the length):
# a text ack or event of under 126 bytes is one concatenation, no header built.
_TEXT_HEADS = tuple(bytes((0x81, size)) for size in range(126))
_BINARY_HEADS = tuple(bytes((0x82, size)) for size in range(126))


def _frame_of(packet: Packet) -> bytes:
    """The frame of one packet: a text message (the hot path: every event, ack and
    broadcast delivery) in one encode and one concatenation, the rest by the codec."""
    global _last_data, _last_frame
    data = packet.get("data")
    if type(data) is str and packet["type"] == "message":
        if data is _last_data:
            return _last_frame
        payload = ("4" + data).encode()  # Engine.IO's message digit, then the data
        size = len(payload)
        frame = _TEXT_HEADS[size] + payload if size < 126 else _frame(0x81, payload)
        _last_data, _last_frame = data, frame
        return frame
    return ws_frame(encode_packet(packet))


def ws_frame(data: str | bytes) -> bytes:
    """One unmasked, unfragmented server WebSocket frame (RFC 6455 section 5.2)."""
    if isinstance(data, str):
        payload = data.encode()
        if len(payload) < 126:
            return _TEXT_HEADS[len(payload)] + payload
        return _frame(0x81, payload)  # FIN + text
    if len(data) < 126:
        return _BINARY_HEADS[len(data)] + data
    return _frame(0x82, data)  # FIN + binary


def _frame(first: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


def _gone(exchange: HttpExchange | None) -> bool:
    """Whether the client of ``exchange`` has disconnected."""
    return exchange is None or exchange.gone()


def _compress(request: Request, data: bytes, headers: dict[str, str]) -> bytes:
    accept = request.headers.get("Accept-Encoding", "")
    if "gzip" in accept:
        headers["Content-Encoding"] = "gzip"
        return gzip.compress(data)
    if "deflate" in accept:
        headers["Content-Encoding"] = "deflate"
        return zlib.compress(data)
    return data
