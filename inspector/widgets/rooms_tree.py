"""The Rooms view: namespace -> shared room -> socket, as a :class:`Tree`.

The tree is brought up to date in place (it holds at most ``ROOM_LEAF_LIMIT`` leaves
per room, so that stays cheap) at most once a second or when the model changed, and only
when room membership (``Model.rooms_version``) or what passes the socket filter did;
nodes that stay are kept, so what was expanded and the node under the cursor survive
every update. A socket's own-id room is
not listed: it holds that socket only.
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
        self._labels: dict[Any, str] = {}
        """The label last set on the node of each data (``_placed``)."""

    def on_mount(self) -> None:
        self.show_root = False

    def sync(self, frame: Frame) -> None:
        if not (frame.tick or frame.dirty):
            return
        model = self.model
        # The tree shows room membership: a socket_updated that changes data only (most
        # of them) leaves it alone. Under a filter, what passes it counts too.
        passing = None
        if model.filter:
            model.visible_ids()  # brings visible_version up to date
            passing = model.visible_version
        drawn = (model.rooms_version, model.filter.expression, passing)
        if drawn != self._drawn:
            self._drawn = drawn
            self.rebuild()

    def invalidate(self) -> None:
        self._drawn = _UNSEEN

    def rebuild(self) -> None:
        """Bring the tree in line with the model (filtered), *in place*.

        Clearing and refilling the tree put its cursor back on the first line several
        times a second (an emit to "the room under the cursor" then went to the first
        room). Nodes that stay are kept (their expansion with them) and relabelled; only
        the nodes that came or went are added or removed, at their sorted place, and the
        cursor is put back on the node it was on, wherever that node is now.
        """
        selected = self._cursor_data()
        first = not self.root.children
        wanted: list[tuple[Any, str, bool, list[tuple[Any, str, bool, list[Any]]]]] = []
        for nsp, rooms in self.model.rooms(filtered=True).items():
            public = {r: ids for r, ids in rooms.items() if not (len(ids) == 1 and ids[0] == r)}
            children: list[tuple[Any, str, bool, list[Any]]] = []
            for room, ids in public.items():
                leaves: list[tuple[Any, str]] = [
                    (("socket", nsp, sid), sid) for sid in ids[:ROOM_LEAF_LIMIT]
                ]
                if len(ids) > ROOM_LEAF_LIMIT:
                    more = f"[dim]… {len(ids) - ROOM_LEAF_LIMIT} more[/dim]"
                    leaves.append((("more", nsp, room), more))
                label = f"{room}  [dim]({len(ids)})[/dim]"
                children.append((("room", nsp, room), label, False, leaves))
            label = f"[b]{nsp}[/b]  {len(rooms)} rooms, {len(public)} shared"
            wanted.append((("nsp", nsp), label, first, children))
        labels = self._labels
        for data, _label, _expand, children in _placed(self.root, wanted, labels):
            node = _node(self.root, data)
            for room_data, _, _, leaves in _placed(node, children, labels):
                room_node = _node(node, room_data)
                _placed(room_node, [(d, lbl, False, None) for d, lbl in leaves], labels)
        if selected is not None and (self.cursor_node is None or self.cursor_node.data != selected):
            target = next((n for n in walk(self.root) if n.data == selected), None)
            if target is not None:
                _ = self.last_line  # lay the lines out now, so the node knows its line
                self.move_cursor(target)

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


def _node(parent: TreeNode[Any], data: Any) -> TreeNode[Any]:
    return next(c for c in parent.children if c.data == data)


def _placed(parent: TreeNode[Any], wanted: list[Any], labels: dict[Any, str]) -> list[Any]:
    """Make ``parent``'s children the ``(data, label, expand, children)`` of ``wanted``,
    in that order: keep (and relabel, when ``labels``, the last label set per node
    data, differs) those already there, remove the others, add the missing ones at their
    place (a leaf when ``children`` is None). Returns ``wanted``."""
    keep = {w[0] for w in wanted}
    for child in list(parent.children):
        if child.data not in keep:
            child.remove()
    have = {c.data: c for c in parent.children}
    for index, (data, label, expand, children) in enumerate(wanted):
        node = have.get(data)
        if node is None:
            before = index if index < len(parent.children) else None
            if children is None:
                parent.add_leaf(label, data=data, before=before)
            else:
                parent.add(label, data=data, expand=expand, before=before)
            labels[data] = label
            continue
        elif labels.get(data) != label:
            node.set_label(label)
        labels[data] = label
    return wanted
