"""The Rooms view: namespace -> shared room -> socket, as a :class:`Tree`.

The tree is rebuilt (it holds at most ``ROOM_LEAF_LIMIT`` leaves per room, so a rebuild
stays cheap) at most once a second or when the model changed, and only when the socket
set or the socket filter did; what was expanded and the node under the cursor survive
the rebuild. A socket's own-id room is not listed: it holds that socket only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from sioscope.inspector.frame import Frame
from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo

ROOM_LEAF_LIMIT = 200
"""Sockets listed under one room in the tree; the count is always exact."""

_UNSEEN = object()


def walk(node: TreeNode[Any]) -> Iterable[TreeNode[Any]]:
    """``node`` and every node under it, depth first."""
    yield node
    for child in node.children:
        yield from walk(child)


class RoomsTree(Tree[Any]):
    """Node data: ``("nsp", nsp)``, ``("room", nsp, room)`` or ``("socket", nsp, sid)``."""

    def __init__(self, model: Model, *, id: str | None = None) -> None:
        super().__init__("namespaces", id=id)
        self.model = model
        self._drawn: object = _UNSEEN

    def on_mount(self) -> None:
        self.show_root = False

    def sync(self, frame: Frame) -> None:
        if not (frame.tick or frame.dirty):
            return
        drawn = (self.model.sockets_version, self.model.filter.expression)
        if drawn != self._drawn:
            self._drawn = drawn
            self.rebuild()

    def invalidate(self) -> None:
        self._drawn = _UNSEEN

    def rebuild(self) -> None:
        """Build the tree again from the model (filtered), keeping expansion and cursor."""
        expanded = {str(n.data) for n in walk(self.root) if n.is_expanded and n.data}
        selected = self.cursor_node.data if self.cursor_node is not None else None
        self.clear()
        for nsp, rooms in self.model.rooms(filtered=True).items():
            public = {r: ids for r, ids in rooms.items() if not (len(ids) == 1 and ids[0] == r)}
            nsp_node = self.root.add(
                f"[b]{nsp}[/b]  {len(rooms)} rooms, {len(public)} shared",
                data=("nsp", nsp),
                expand=repr(("nsp", nsp)) in expanded or len(expanded) == 0,
            )
            for room, ids in public.items():
                room_node = nsp_node.add(
                    f"{room}  [dim]({len(ids)})[/dim]",
                    data=("room", nsp, room),
                    expand=repr(("room", nsp, room)) in expanded,
                )
                for sid in ids[:ROOM_LEAF_LIMIT]:
                    room_node.add_leaf(sid, data=("socket", nsp, sid))
                if len(ids) > ROOM_LEAF_LIMIT:
                    room_node.add_leaf(f"[dim]… {len(ids) - ROOM_LEAF_LIMIT} more[/dim]")
        if selected is not None:
            for node in walk(self.root):
                if node.data == selected:
                    self.move_cursor(node)
                    break

    def _cursor_data(self) -> Any:
        node = self.cursor_node
        return node.data if node is not None else None

    def selected_socket(self) -> SocketInfo | None:
        data = self._cursor_data()
        if isinstance(data, tuple) and data[0] == "socket":
            return self.model.sockets.get(data[2])
        return None

    def selected_room(self) -> tuple[str, str] | None:
        data = self._cursor_data()
        if isinstance(data, tuple) and data[0] == "room":
            return data[1], data[2]
        return None
