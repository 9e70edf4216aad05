"""The inspector's actions on the server, and on what it shows (copy).

The App binds the keys (``keys``) and delegates each ``action_*`` here, so the App stays
the layout, the flush and the filter, and this module is everything a key *does* to the
attached server. Rules:

1. Every destructive action names its target in a confirmation or a prompt first
   (``screens.confirm``, ``screens.prompt``); nothing typed ahead answers one.
2. A command goes out in the App's ``commands`` worker group; what it did (or why it
   failed) comes back as one notification.
3. Selection comes from the App (``selected_socket``, ``selected_room``): the view on
   screen or the detail screen decides what "the selected socket" is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sioscope.inspector import clipboard
from sioscope.inspector import keys as keymod
from sioscope.inspector.client import AdminConnectError
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.screens.bulk import BulkScreen
from sioscope.inspector.screens.confirm import ConfirmScreen
from sioscope.inspector.screens.prompt import Extra, PromptScreen
from sioscope.server.admin import protocol

EMIT_EXAMPLE = 'chat "hi", 2, {"ok": true}'
"""The one emit syntax, by example: the prompt's placeholder and its hint show it alike."""
EMIT_HINT = f"the event name, then JSON values separated by commas:  {EMIT_EXAMPLE}"
BULK_CHUNK = 100
"""Socket ids per bulk command (our server refuses filters of over 100 rooms)."""
BULK_FEATURES = {
    "disconnect": protocol.FEATURE_MDISCONNECT,
    "join": protocol.FEATURE_MJOIN,
    "leave": protocol.FEATURE_MLEAVE,
}
"""The ``supportedFeatures`` entry a bulk verb needs (Node and ours offer all three)."""
ACK_TIMEOUT = 5.0
"""Seconds ``ctrl+t`` in the emit prompt waits for the targets' acks."""


def parse_emit(text: str) -> tuple[str, list[Any]]:
    """``chat "hi", 2`` -> ``("chat", ["hi", 2])``; a name with spaces is a JSON string
    (``"my event" 1``). ``ValueError`` says what is wrong and where."""
    text = text.strip()
    if not text:
        raise ValueError("an event name is needed")
    if text.startswith('"'):
        try:
            name, end = json.JSONDecoder().raw_decode(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"event name: {exc.msg}") from None
        rest, offset = text[end:], end
    else:
        name, _, rest = text.partition(" ")
        offset = len(name) + 1
    if not isinstance(name, str) or not name:
        raise ValueError("an event name is needed")
    stripped = rest.strip()
    if not stripped:
        return name, []
    offset += len(rest) - len(rest.lstrip())
    try:
        args = json.loads(f"[{stripped}]")
    except json.JSONDecodeError as exc:
        column = offset + exc.colno - 1  # the "[" we added is column 1
        raise ValueError(
            f"arguments must be JSON values separated by commas: {exc.msg} at column {column}"
        ) from None
    return name, args


def describe_acks(reply: protocol.EmitAckReply, timeout: float, *, one: bool) -> str:
    """The reply of an emit with an ack, as the prompt shows it in place."""
    if "error" in reply:
        return f"refused: {reply['error']}"
    responses = reply["responses"]
    lines = [json.dumps(r, default=str) for r in responses]
    if one:
        if responses:
            return f"ack: {lines[0]}"
        return f"no ack within {timeout:g} s (the client's handler did not call back)"
    head = f"{len(responses)} ack(s)"
    if reply["timedOut"]:
        head += f"; not every socket answered within {timeout:g} s"
    return "\n".join([head, *(f"  {line}" for line in lines[:20])])


if TYPE_CHECKING:
    from sioscope.inspector.app import InspectorApp


class Actions:
    """What the action keys do; one per App."""

    def __init__(self, app: InspectorApp) -> None:
        self.app = app
        self.emit_history: list[str] = []
        """What was emitted this session, newest last (Up in the emit prompt)."""
        self.room_history: list[str] = []
        """Rooms joined or left this session (Up in the room prompt)."""

    def send(self, coro_factory: Callable[[], Any], done: str) -> None:
        """Run one command in the background and say how it went (rule 2)."""
        app = self.app

        async def run() -> None:
            try:
                await coro_factory()
            except (AdminConnectError, ValueError) as exc:
                app.notify(str(exc), severity="error")
                return
            app.notify(done, timeout=3)

        app.run_worker(run(), group="commands")

    # -- one socket

    def disconnect(self, close: bool) -> None:
        app = self.app
        sock = app.selected_socket()
        if sock is None or app.client is None:
            app.notify("no socket selected", severity="warning")
            return
        close = close or app.view == keymod.CLIENTS  # a row there is a whole client
        client = app.client
        own = app.model.own_socket_id
        what = "whole client (every namespace)" if close else "socket"
        target = (
            f"socket    {sock.id}\nnamespace {sock.nsp}\naddress   {sock.address}\n"
            f"client    {sock.client_id}   transport {sock.transport}"
        )
        going = [sock]
        if close:  # the whole Engine.IO client: every socket of it goes
            going = [s for s in app.model.sockets.values() if s.client_id == sock.client_id]
            going.sort(key=lambda s: (s.nsp, s.id))
            target += f"\n\n{len(going)} socket(s) will go:\n" + "\n".join(
                f"  {s.id} on {s.nsp}" + ("  ◆ this inspector" if s.id == own else "")
                for s in going
            )
        ours = any(s.id == own for s in going)
        if ours:
            target += "\n\n[b]This is the inspector's own admin connection.[/b]"
        done = (
            f"disconnect sent for client {sock.client_id}: {len(going)} socket(s), "
            + ", ".join(s.id for s in going)
            if close
            else f"disconnect sent for {sock.id}"
        )

        def send() -> None:
            self.send(lambda: client.disconnect_socket(sock.nsp, sock.id, close), done)

        def again(yes: bool | None) -> None:
            if yes:
                send()
            else:
                app.notify("disconnect cancelled", timeout=1.5)

        def answered(yes: bool | None) -> None:
            if not yes:
                app.notify("disconnect cancelled", timeout=1.5)
            elif ours:  # cutting the branch it sits on: ask once more
                app.push_screen(
                    ConfirmScreen(
                        "Disconnect the inspector itself?",
                        "The inspector will lose its connection and reconnect.",
                    ),
                    again,
                )
            else:
                send()

        app.push_screen(ConfirmScreen(f"Force-disconnect this {what}?", target), answered)

    def room_command(self, verb: str) -> None:
        app = self.app
        sock = app.selected_socket()
        if sock is None or app.client is None:
            app.notify("no socket selected", severity="warning")
            return
        client = app.client
        default = sock.public_rooms[0] if verb == "leave" and sock.public_rooms else ""

        def answered(room: str | None) -> None:
            if not room:
                return
            if verb == "leave" and room not in sock.rooms:
                # The server would do nothing and say nothing: say it here.
                app.notify(
                    f"{sock.id} is not in room {room!r}: nothing to leave", severity="warning"
                )
                return
            fn = client.join if verb == "join" else client.leave
            self.send(lambda: fn(sock.nsp, room, sock.id), f"{verb} {room!r} sent for {sock.id}")

        app.push_screen(
            PromptScreen(
                f"{verb.title()} which room? (socket {sock.id} on {sock.nsp})",
                value=default,
                history=self.room_history,
            ),
            answered,
        )

    def emit(self) -> None:
        app = self.app
        room = app.selected_room()
        sock = app.selected_socket()
        if room is not None:
            nsp, target, label = room[0], room[1], f"room {room[1]!r} on {room[0]}"
        elif sock is not None:
            nsp, target, label = sock.nsp, sock.id, f"socket {sock.id} on {sock.nsp}"
        else:
            app.notify("select a socket or a room first", severity="warning")
            return
        client = app.client
        if client is None:
            return

        def check(text: str) -> str | None:
            try:
                parse_emit(text)
            except ValueError as exc:
                return str(exc)
            return None

        def answered(text: str | None) -> None:
            if not text:
                return
            name, args = parse_emit(text)  # checked by the prompt already
            self.send(lambda: client.emit(nsp, target, name, *args), f"emitted {name!r} to {label}")

        async def with_ack(text: str) -> str:
            name, args = parse_emit(text)
            reply = await client.emit_with_ack(nsp, target, name, *args, timeout=ACK_TIMEOUT)
            return describe_acks(reply, ACK_TIMEOUT, one=room is None)

        unavailable = None
        if not app.model.can(protocol.EMIT_ACK_FEATURE):
            unavailable = (
                "this server cannot report acks (the official admin protocol has none; "
                "sioscope's server has): Enter emits without one"
            )
        app.push_screen(
            PromptScreen(
                f"Emit to {label}",
                placeholder=EMIT_EXAMPLE,
                hint=EMIT_HINT,
                check=check,
                history=self.emit_history,
                extra=Extra(with_ack, unavailable),
            ),
            answered,
        )

    # -- every socket the filter matches (the Admin UI's bulk actions)

    def bulk(self) -> None:
        """Disconnect, join or leave every socket the socket filter matches: a choice,
        a room for join/leave, then a confirmation that gives the count (rule 1)."""
        app = self.app
        model = app.model
        client = app.client
        if client is None:
            return
        if not model.filter:
            app.notify(
                "bulk actions act on the sockets the filter matches: set one first (/)",
                severity="warning",
            )
            return
        expression = model.filter.expression
        own = model.own_socket_id
        matched = model.visible_ids()
        targets = [model.sockets[i] for i in matched if i != own and i in model.sockets]
        if not targets:
            app.notify(f"no socket matches {expression!r}", severity="warning")
            return
        left_out = own in matched
        unavailable = {
            verb: "the server does not offer it"
            for verb, feature in BULK_FEATURES.items()
            if model.config_received and not model.can(feature)
        }

        def confirm(verb: str, room: str | None) -> None:
            count = len(targets)
            what = {"disconnect": "Disconnect", "join": f"Make join {room!r}:"}.get(
                verb, f"Make leave {room!r}:"
            )
            title = f"{what} {count} socket(s) matching {expression!r}?"
            shown = "\n".join(f"  {s.id} on {s.nsp}" for s in targets[:8])
            more = f"\n  … and {count - 8} more" if count > 8 else ""
            note = (
                "\n\nThe inspector's own admin socket matches too; it is left out."
                if left_out
                else ""
            )
            label = {"disconnect": f"Disconnect {count}"}.get(verb, f"{verb.title()} {count}")

            def answered(yes: bool | None) -> None:
                if yes:
                    self._send_bulk(verb, room, targets)
                else:
                    app.notify(f"bulk {verb} cancelled", timeout=1.5)

            app.push_screen(ConfirmScreen(title, shown + more + note, label), answered)

        def chosen(verb: str | None) -> None:
            if verb is None:
                return
            if verb == "disconnect":
                confirm(verb, None)
                return

            def room_given(room: str | None) -> None:
                if room:
                    confirm(verb, room)

            app.push_screen(
                PromptScreen(
                    f"{verb.title()} which room? ({len(targets)} sockets matching {expression!r})",
                    history=self.room_history,
                ),
                room_given,
            )

        app.push_screen(BulkScreen(len(targets), expression, unavailable), chosen)

    def _send_bulk(self, verb: str, room: str | None, targets: list[SocketInfo]) -> None:
        """One command per namespace and per ``BULK_CHUNK`` ids: a list filter is a list
        of rooms, and each socket is in the room of its own id."""
        client = self.app.client
        if client is None:
            return
        by_nsp: dict[str, list[str]] = {}
        for sock in targets:
            by_nsp.setdefault(sock.nsp, []).append(sock.id)

        async def run() -> None:
            for nsp, ids in by_nsp.items():
                for i in range(0, len(ids), BULK_CHUNK):
                    chunk = ids[i : i + BULK_CHUNK]
                    if verb == "disconnect":
                        await client.command(protocol.CMD_DISCONNECT, nsp, False, chunk)
                    else:
                        name = protocol.CMD_JOIN if verb == "join" else protocol.CMD_LEAVE
                        await client.command(name, nsp, room, chunk)

        where = f" ({len(by_nsp)} namespaces)" if len(by_nsp) > 1 else ""
        room_text = f" {room!r}" if room else ""
        self.send(run, f"{verb}{room_text} sent for {len(targets)} socket(s){where}")

    def show_client(self, client_id: str) -> None:
        """Enter in the Clients view: the Sockets view filtered to that connection."""
        app = self.app
        app.action_view(keymod.SOCKETS)
        app.set_filter_text(f"client:{client_id}")

    # -- data

    def copy_handshake(self) -> None:
        sock = self.app.selected_socket()
        if sock is None:
            self.app.notify("no socket selected", severity="warning")
            return
        self._copy(json.dumps(sock.handshake, indent=2), f"the handshake of {sock.id}")

    def copy_id(self) -> None:
        sock = self.app.selected_socket()
        if sock is None:
            self.app.notify("no socket selected", severity="warning")
            return
        self._copy(sock.id, f"socket id {sock.id}")

    def _copy(self, text: str, what: str) -> None:
        """Copy and say what is known: "copied" only when a clipboard command confirmed
        it, else what was sent by OSC 52 and that the terminal must support it."""
        result = clipboard.copy(self.app, text, what)
        self.app.notify(
            result.message, severity="information" if result.ok else "warning", timeout=6
        )
