"""Keys typed in one burst (a terminal delivers them in one read) never bypass a guard."""

from __future__ import annotations

import pytest
from textual import events

from sioscope.inspector.app import InspectorApp
from sioscope.inspector.screens.confirm import ConfirmScreen
from tests.inspector.conftest import NodeAdminServer, wait_for
from tests.inspector.test_pilot import SIZE, attach, table

pytestmark = pytest.mark.interop


def burst(app: InspectorApp, text: str) -> None:
    """Post every key at once, as the driver does for one read of the terminal."""
    for ch in text:
        key = {"/": "slash"}.get(ch, ch)
        app.post_message(events.Key(key, ch))


async def test_d_then_y_in_one_burst_does_not_confirm(node_admin: NodeAdminServer) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: len(table(app).keys) == 4)
            burst(app, "dy")
            await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.pause(0.3)
            assert isinstance(app.screen, ConfirmScreen), "the y typed ahead answered it"
            with pytest.raises(TimeoutError):
                await node_admin.next_line(lambda line: "disconnect" in line, timeout=0.5)
            await pilot.press("y")  # a y pressed once the dialog is up does confirm
            await node_admin.next_line(lambda line: "disconnect" in line, timeout=5)
    finally:
        await client.close()


async def test_keys_right_after_slash_go_to_the_filter(node_admin: NodeAdminServer) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: len(table(app).keys) == 4)
            burst(app, "/dy")
            await wait_for(lambda: model.filter.expression == "dy")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, ConfirmScreen), "d reached the shortcuts"
            assert model.filter.expression == "dy"
    finally:
        await client.close()
