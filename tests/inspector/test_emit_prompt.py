"""The emit prompt: one syntax, errors keep the text, acks shown in place, a history."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from sioscope.inspector.actions import EMIT_EXAMPLE, parse_emit
from sioscope.inspector.app import InspectorApp
from sioscope.inspector.screens.prompt import PromptScreen
from tests.inspector.conftest import NodeAdminServer, wait_for
from tests.inspector.test_dialogs import screen_text
from tests.inspector.test_pilot import SIZE, attach, table

pytestmark = pytest.mark.interop


def test_the_one_syntax() -> None:
    assert parse_emit(EMIT_EXAMPLE) == ("chat", ["hi", 2, {"ok": True}])
    assert parse_emit('"my event" 1, null') == ("my event", [1, None])
    assert parse_emit("ping") == ("ping", [])
    with pytest.raises(ValueError, match="column 12"):
        parse_emit('chat "hi", x')


async def test_emit_prompt_keeps_a_bad_text_shows_the_ack_and_remembers(our_demo) -> None:
    model, client = await attach(our_demo.url, username=None)
    peer = socketio.AsyncClient(reconnection=False)
    got: list[tuple[object, ...]] = []

    @peer.on("ping?")
    async def answer(*args: object) -> dict[str, object]:
        got.append(args)
        return {"pong": list(args)}

    await asyncio.wait_for(peer.connect(our_demo.url, transports=["websocket"]), 10)
    app = InspectorApp(model, client)
    try:
        async with app.run_test(size=SIZE) as pilot:
            sid = peer.get_sid("/")
            await wait_for(lambda: table(app).select_key(sid))
            await pilot.press("e")
            await wait_for(lambda: isinstance(app.screen, PromptScreen))
            prompt = app.screen
            assert prompt.answer.placeholder == EMIT_EXAMPLE
            assert any(EMIT_EXAMPLE in line for line in screen_text(app))  # hint: the same

            await pilot.press(*'ping? "a", {', "enter")
            await pilot.pause(0.1)
            assert app.screen is prompt and prompt.answer.value == 'ping? "a", {'
            assert "column" in str(prompt.query_one("#error").render())

            await pilot.press("backspace", "backspace", "backspace", "ctrl+t")
            await wait_for(lambda: "ack:" in str(prompt.query_one("#result").render()))
            assert str(prompt.query_one("#result").render()) == 'ack: {"pong": ["a"]}'
            assert got == [("a",)] and app.screen is prompt  # in place: still open
            await pilot.press("escape")

            await pilot.press("e")
            await wait_for(lambda: isinstance(app.screen, PromptScreen))
            await pilot.press("up")
            assert app.screen.answer.value == 'ping? "a"'  # the session's history
            await pilot.press("down")
            assert app.screen.answer.value == ""
            await pilot.press("escape")
    finally:
        await peer.disconnect()
        await client.close()


async def test_node_cannot_report_acks_and_says_so(node_admin: NodeAdminServer) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: table(app).select_key(node_admin.sockets[0]))
            await pilot.press("e")
            await wait_for(lambda: isinstance(app.screen, PromptScreen))
            await pilot.press(*"hello", "ctrl+t")
            await pilot.pause(0.1)
            assert "cannot report acks" in str(app.screen.query_one("#result").render())
    finally:
        await client.close()
