"""socket.data that reports its changes, at any depth, and stays a plain dict to users."""

from __future__ import annotations

import copy
import json
import pickle

from sioscope.server.admin.tracked import TrackedDict, TrackedList


def test_every_mutation_reports_once_at_any_depth() -> None:
    calls: list[int] = []
    d = TrackedDict({"user": {"tags": ["a"]}}, lambda: calls.append(1))
    d["score"] = 1
    d["user"]["name"] = "alice"
    d["user"]["tags"].append("b")
    d["user"]["tags"][0] = "z"
    d["new"] = {"deep": {}}
    d["new"]["deep"]["x"] = 1
    d.update(a=1, b=2)
    d.setdefault("a", 5)  # exists: no change
    d.setdefault("c", 3)
    d.pop("nothing", None)  # absent: no change
    d.pop("c")
    del d["b"]
    d |= {"z": 0}
    d["user"]["tags"] += ["c"]
    assert len(calls) == 13  # "+=" is extend, then a store into d["user"]: two
    assert isinstance(d["new"]["deep"], TrackedDict)
    assert isinstance(d["user"]["tags"], TrackedList)


def test_it_is_still_a_dict_for_json_and_copies() -> None:
    d = TrackedDict({"a": [1, {"b": 2}]}, lambda: None)
    assert isinstance(d, dict)
    assert json.loads(json.dumps(d)) == {"a": [1, {"b": 2}]}
    for clone in (copy.copy(d), copy.deepcopy(d), pickle.loads(pickle.dumps(d))):
        assert type(clone) is dict and clone == d
