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


def test_the_model_handles_every_official_event_and_only_protocol_events() -> None:
    extension = {v for k, v in vars(protocol).items() if k.startswith("EV_")}
    handlers = set(Model().handlers)
    # Every official event is folded into the model; the extension's events are handled
    # as the inspector grows to use them, but the table never names an event that the
    # protocol does not declare.
    assert protocol.OFFICIAL_EVENTS <= handlers, protocol.OFFICIAL_EVENTS - handlers
    assert {protocol.EV_PACKETS, protocol.EV_SNAPSHOT, protocol.EV_DIAGNOSTICS} <= handlers
    assert handlers <= protocol.OFFICIAL_EVENTS | extension, handlers - extension


def test_extension_names_carry_their_prefix() -> None:
    names = {v for k, v in vars(protocol).items() if k.startswith(("EV_", "CMD_"))}
    ours = names - set(protocol.COMMANDS)
    assert {protocol.EV_PACKETS, protocol.CMD_RESYNC} <= ours
    for name in ours:
        assert name.startswith("sioscope:"), name
    assert protocol.PACKET_FEATURE.startswith("X_SIOSCOPE_")
    assert not {n for n in protocol.OFFICIAL_EVENTS if n.startswith("sioscope")}
