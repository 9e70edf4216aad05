"""The dialogs (confirm, prompt, help) and the keys that leave them, against our server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import socketio

from sioscope.inspector.app import InspectorApp
from sioscope.inspector.screens.confirm import ConfirmScreen
from sioscope.inspector.screens.help import HelpScreen
from sioscope.inspector.screens.prompt import PromptScreen
from tests.inspector.conftest import wait_for
from tests.inspector.test_pilot import SIZE, attach, table

pytestmark = pytest.mark.interop


def screen_text(app: InspectorApp) -> list[str]:
    """What the terminal shows, line by line (the dialog and the screen under it)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def footer(app: InspectorApp) -> str:
    return screen_text(app)[-1]


@contextlib.asynccontextmanager
async def peer_socket(url: str) -> AsyncIterator[socketio.AsyncClient]:
    """A socket of our own on "/": the demo's bots come and go at random, and a test
    whose target left by itself would fail for the wrong reason."""
    peer = socketio.AsyncClient(reconnection=False)
    await asyncio.wait_for(peer.connect(url, transports=["websocket"]), 10)
    try:
        yield peer
    finally:
        await peer.disconnect()


async def test_q_in_a_dialog_does_what_its_footer_says(our_demo) -> None:
    model, client = await attach(our_demo.url, username=None)
    app = InspectorApp(model, client)
    try:
        async with peer_socket(our_demo.url) as peer, app.run_test(size=SIZE) as pilot:
            victim = peer.get_sid("/")
            await wait_for(lambda: table(app).select_key(victim))
            await wait_for(lambda: "q Quit" in footer(app))

            await pilot.press("d")
            await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
            await wait_for(lambda: "n Cancel" in footer(app))
            assert "Quit" not in footer(app)
            await pilot.press("q")  # cancels, as n and Esc do: nothing is sent
            await wait_for(lambda: not isinstance(app.screen, ConfirmScreen))
            await pilot.pause(0.3)
            assert app.is_running and victim in our_demo.io.of("/").sockets

            await pilot.press("question_mark")
            await wait_for(lambda: isinstance(app.screen, HelpScreen))
            await wait_for(lambda: "esc Close" in footer(app))
            assert "Quit" not in footer(app)
            await pilot.press("q")
            await wait_for(lambda: not isinstance(app.screen, HelpScreen))
            assert app.is_running

            await pilot.press("e")  # in a prompt q is a letter of the answer
            await wait_for(lambda: isinstance(app.screen, PromptScreen))
            await wait_for(lambda: "esc Cancel" in footer(app))
            assert "Quit" not in footer(app)
            await pilot.press("q")
            assert app.screen.query_one("#answer").value == "q"
            await pilot.press("ctrl+c")  # ctrl+c quits from anywhere, a dialog too
            await pilot.pause(0.1)
            assert app.return_code == 0
    finally:
        await client.close()


async def test_ctrl_c_quits_from_a_confirmation(our_demo) -> None:
    model, client = await attach(our_demo.url, username=None)
    app = InspectorApp(model, client)
    try:
        async with peer_socket(our_demo.url) as peer, app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: table(app).select_key(peer.get_sid("/")))
            await pilot.press("d")
            await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("ctrl+c")
            await pilot.pause(0.1)
            assert app.return_code == 0
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("keys", "screen"),
    [
        ((), "Screen"),
        (("enter",), "DetailScreen"),
        (("enter", "down", "enter"), "ValueScreen"),  # a value opened from the tree
        (("question_mark",), "HelpScreen"),
        (("5",), "Screen"),
        (("slash", "x"), "Screen"),
        (("C",), "ColumnsScreen"),
    ],
    ids=["sockets", "detail", "value", "help", "clients", "filter", "columns"],
)
async def test_ctrl_c_quits_from_every_screen(keys: tuple[str, ...], screen: str) -> None:
    from sioscope.inspector.screenshots import SampleApp

    app = SampleApp(sockets=5, packets=False)
    async with app.run_test(size=SIZE) as pilot:
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        assert type(app.screen).__name__ == screen
        await pilot.press("ctrl+c")
        await pilot.pause(0.1)
        assert app.return_code == 0, (keys, type(app.screen).__name__)
