"""The wire vocabulary module stays pure, and both ends draw their names from it."""

from __future__ import annotations

import ast
from pathlib import Path

from sioscope.inspector.model import Model
from sioscope.server.admin import protocol

SOURCE = Path(protocol.__file__).read_text()


def test_protocol_imports_nothing_but_typing() -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(SOURCE)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported <= {"__future__", "typing"}, imported


def test_every_event_the_server_sends_has_a_handler_in_the_model() -> None:
    extension = {v for k, v in vars(protocol).items() if k.startswith("EV_")}
    # Everything the server broadcasts or sends as state is folded into the model
    # (sioscope:command_error answers one command: no model state, so not listed).
    sent = protocol.OFFICIAL_EVENTS | (extension - {protocol.EV_COMMAND_ERROR})
    handlers = set(Model().handlers)
    assert sent <= handlers, sent - handlers
    assert handlers <= sent, handlers - sent


def test_extension_names_carry_their_prefix() -> None:
    names = {v for k, v in vars(protocol).items() if k.startswith(("EV_", "CMD_"))}
    ours = names - set(protocol.COMMANDS)
    assert {protocol.EV_PACKETS, protocol.CMD_RESYNC} <= ours
    for name in ours:
        assert name.startswith("sioscope:"), name
    assert protocol.PACKET_FEATURE.startswith("X_SIOSCOPE_")
    assert not {n for n in protocol.OFFICIAL_EVENTS if n.startswith("sioscope")}
