"""The official commands, wired: registered on an admin socket, checked, then run.

``commands`` decides whether a command may run (sans-I/O); this module is the I/O around
it. Rules:

1. Registered only when the instrument is not read-only (Node registers nothing then).
2. No official command is ever acknowledged, even when the admin client asks for an ack:
   Node never acks a command.
3. A refused command is logged and told to its sender only, as ``sioscope:command_error``
   (the official UI ignores it), unless the sender is backlogged (``backpressure``): a
   flood of refused commands from a client that does not read costs nothing. Node would
   instead create the namespace named in the command (``io.of``), or hit a whole
   namespace on ``""``.
4. A command targets only a namespace that exists and is not the admin namespace itself,
   which the instrument keeps out of sight.
5. Ours, ``sioscope:emit_ack``, is acknowledged: the official ``emit`` cannot tell the
   inspector what its target answered, so this one waits for the targets' acks (up to
   its timeout) and acks the command with them, or with why it was refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sioscope.server.admin import protocol
from sioscope.server.admin.backpressure import Backpressure
from sioscope.server.admin.commands import (
    Command,
    CommandRefused,
    parse_command,
    parse_emit_ack,
)

log = logging.getLogger("sioscope.admin")


class Control:
    """Runs the official commands of the admin sockets of ``io``'s namespace ``nsp``."""

    def __init__(self, io: Any, nsp: Any, backpressure: Backpressure) -> None:
        self.io = io
        self.nsp = nsp
        self.backpressure = backpressure

    def register(self, admin_socket: Any) -> None:
        """Listen for the four official commands on one admin socket (rule 1)."""
        for name in protocol.COMMANDS:
            admin_socket.on(name, self._handler(admin_socket, name))
        admin_socket.on(protocol.CMD_EMIT_ACK, self._emit_ack_handler(admin_socket))

    def _handler(self, admin_socket: Any, name: str) -> Callable[..., None]:
        def handler(*args: Any, ack: Any = None) -> None:  # rule 2: ``ack`` is never called
            try:
                cmd = parse_command(name, args, self.is_target_namespace)
            except CommandRefused as err:
                log.warning("admin command refused: %s", err)
                error: protocol.CommandError = {"command": name, "message": str(err)}
                self.backpressure.send(admin_socket, protocol.EV_COMMAND_ERROR, error)
                return
            try:
                self.run(cmd)
            except Exception as err:
                log.exception("admin command %s failed", name)
                error = {"command": name, "message": str(err)}
                admin_socket.emit(protocol.EV_COMMAND_ERROR, error)

        return handler

    def _emit_ack_handler(self, admin_socket: Any) -> Callable[..., None]:
        """``sioscope:emit_ack`` (rule 5): the one command that is acknowledged."""
        name = protocol.CMD_EMIT_ACK

        def reply(ack: Any, answer: protocol.EmitAckReply) -> None:
            if ack is not None:
                ack(answer)

        def handler(*args: Any, ack: Any = None) -> None:
            try:
                cmd = parse_emit_ack(args, self.is_target_namespace)
            except CommandRefused as err:
                log.warning("admin command refused: %s", err)
                error: protocol.CommandError = {"command": name, "message": str(err)}
                self.backpressure.send(admin_socket, protocol.EV_COMMAND_ERROR, error)
                reply(ack, {"responses": [], "timedOut": False, "error": str(err)})
                return

            def done(err: Any, responses: Any) -> None:
                answers = list(responses) if isinstance(responses, list) else []
                reply(ack, {"responses": answers, "timedOut": err is not None})

            assert cmd.rooms is not None and cmd.event is not None and cmd.timeout is not None
            target = self.io.namespaces[cmd.nsp].in_(list(cmd.rooms)).timeout(cmd.timeout)
            target.emit(cmd.event, *cmd.args, callback=done)

        return handler

    def is_target_namespace(self, name: str) -> bool:
        """Rule 4: an existing namespace (never created by a command), not the admin one."""
        nsp = self.io.namespaces.get(name)
        return nsp is not None and nsp is not self.nsp

    def run(self, cmd: Command) -> None:
        """Apply a validated command through the namespace's broadcast operator."""
        nsp = self.io.namespaces[cmd.nsp]
        target = nsp if cmd.rooms is None else nsp.in_(list(cmd.rooms))
        if cmd.name == protocol.CMD_EMIT:
            target.emit(cmd.event, *cmd.args)
        elif cmd.name == protocol.CMD_JOIN:
            target.sockets_join(cmd.room)
        elif cmd.name == protocol.CMD_LEAVE:
            target.sockets_leave(cmd.room)
        else:
            target.disconnect_sockets(cmd.close)
