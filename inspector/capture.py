"""Captures: what the inspector receives from an admin namespace, as a file.

A capture is JSON lines, gzip-compressed when asked or when the name ends in ``.gz``:

1. The first line is the header, an object: ``{"format": "sioscope-capture",
   "version": 1, "source": URL, "namespace": "/admin", "started": epoch_ms,
   "sioscope": version}``. A reader refuses a file whose first line is not one, and a
   version it does not know.
2. Every other line is one admin-namespace event as the inspector received it:
   ``[at_ms, event, args]``, ``at_ms`` the milliseconds since ``started`` (never
   decreasing), ``event`` its name (official or ``sioscope:``), ``args`` its arguments.
   Sockets, rooms, packets, errors, stats: everything is an event, so replaying the
   lines into a fresh :class:`~sioscope.inspector.model.Model` rebuilds what the
   inspector showed at any moment (:func:`replay`).
3. The live inspector's export (ctrl+s) writes the same format from its
   :class:`~sioscope.inspector.journal.Journal` (:func:`from_journal`,
   :func:`write_capture`), with a ``lost`` count in the header when its bound dropped
   the oldest events.
4. The writer flushes at most once a second (``FLUSH_EVERY``), so a killed recorder
   loses at most the last second; :meth:`CaptureWriter.close` writes the rest.
"""

from __future__ import annotations

import gzip
import io
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sioscope import __version__
from sioscope.inspector.journal import Journal
from sioscope.inspector.model import Model

FORMAT = "sioscope-capture"
VERSION = 1
FLUSH_EVERY = 1.0


class CaptureError(ValueError):
    """A capture file that cannot be read; the message is user-facing (one line)."""


def _is_gzip(path: Path, compress: bool | None) -> bool:
    return compress if compress is not None else path.suffix == ".gz"


def header(source: str, namespace: str, started_ms: int, **extra: Any) -> dict[str, Any]:
    """Rule 1's header line."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "source": source,
        "namespace": namespace,
        "started": started_ms,
        "sioscope": __version__,
        **extra,
    }


class CaptureWriter:
    """Writes one capture (module rules 1, 2 and 4)."""

    def __init__(
        self,
        path: Path,
        *,
        source: str,
        namespace: str,
        started_ms: int,
        compress: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.started_ms = started_ms
        self.events = 0
        self._clock = clock
        self._last_flush = clock()
        self._last_at = 0
        raw: IO[str]
        if _is_gzip(path, compress):
            raw = io.TextIOWrapper(gzip.open(path, "wb"), encoding="utf-8")
        else:
            raw = path.open("w", encoding="utf-8")
        self._file = raw
        self._file.write(json.dumps(header(source, namespace, started_ms)) + "\n")

    def write(self, at_epoch_ms: int, event: str, args: list[Any]) -> None:
        """One received event, stamped with the receive time (epoch ms)."""
        at = max(self._last_at, at_epoch_ms - self.started_ms)  # rule 2: never decreasing
        self._last_at = at
        line = json.dumps([at, event, args], separators=(",", ":"), default=str)
        self._file.write(line + "\n")
        self.events += 1
        now = self._clock()
        if now - self._last_flush >= FLUSH_EVERY:
            self._last_flush = now
            self._file.flush()

    def close(self) -> None:
        """Write what is buffered and close the file."""
        if not self._file.closed:
            self._file.close()


class RecordingModel(Model):
    """A :class:`Model` that writes each event to a capture before applying it, so a
    recorder keeps the model's own rules (resync on a gap, the snapshot pages)."""

    def __init__(self, writer: CaptureWriter, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        self.writer = writer

    def apply(self, event: str, args: list[Any]) -> None:
        self.writer.write(int(self.clock() * 1000), event, args)
        super().apply(event, args)


@dataclass
class Capture:
    """A capture read back: its header and its events ``(at_ms, event, args)``."""

    header: dict[str, Any]
    events: list[tuple[int, str, list[Any]]] = field(default_factory=list)

    @property
    def duration_ms(self) -> int:
        return self.events[-1][0] if self.events else 0


def from_journal(journal: Journal, *, source: str, namespace: str) -> Capture:
    """What the live inspector received (its :class:`Journal`) as a capture; a journal
    that dropped its oldest events says how many in the header (``lost``)."""
    events = journal.all()
    started = events[0][0] if events else int(time.time() * 1000)
    extra = {"lost": journal.lost} if journal.lost else {}
    return Capture(
        header(source, namespace, started, **extra),
        [(at - started, event, args) for at, event, args in events],
    )


def without_drains(event: str, args: list[Any]) -> list[Any]:
    """A ``sioscope:packets`` event's arguments without its drain records (one per
    write, half of a busy stream, and no content); other events as they are."""
    if event != "sioscope:packets" or not args or not isinstance(args[0], dict):
        return args
    batch = dict(args[0])
    records = batch.get("records")
    if isinstance(records, list):
        batch["records"] = [
            r for r in records if not (isinstance(r, list) and len(r) > 2 and r[2] == "drain")
        ]
    return [batch, *args[1:]]


def write_capture(
    path: Path, capture: Capture, *, drains: bool = True, compress: bool | None = None
) -> int:
    """Write ``capture`` in the format of this module (what ``sioscope record`` writes);
    returns the number of events written."""
    raw: IO[str]
    if _is_gzip(path, compress):
        raw = io.TextIOWrapper(gzip.open(path, "wb"), encoding="utf-8")
    else:
        raw = path.open("w", encoding="utf-8")
    with raw as out:
        out.write(json.dumps(capture.header) + "\n")
        for at, event, args in capture.events:
            if not drains:
                args = without_drains(event, args)
            out.write(json.dumps([at, event, args], separators=(",", ":"), default=str) + "\n")
    return len(capture.events)


def read_capture(path: Path) -> Capture:
    """Read a whole capture; :class:`CaptureError` (one line) when it is not one."""
    try:
        with path.open("rb") as probe:
            magic = probe.read(2)
        opened: IO[str] = (
            io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
            if magic == b"\x1f\x8b"
            else path.open(encoding="utf-8")
        )
    except OSError as exc:
        raise CaptureError(f"cannot read {path}: {exc.strerror or exc}") from None
    with opened as lines:
        try:
            return _parse(path, lines)
        except (OSError, EOFError, UnicodeDecodeError) as exc:  # a truncated gzip, say
            raise CaptureError(f"{path}: unreadable ({exc})") from None


def _parse(path: Path, lines: Iterable[str]) -> Capture:
    it = iter(lines)
    first = next(it, "")
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CaptureError(f"{path}: not a sioscope capture (no header line)")
    if header.get("version") != VERSION:
        raise CaptureError(f"{path}: capture version {header.get('version')!r} is not supported")
    capture = Capture(header)
    for number, line in enumerate(it, start=2):
        if not line.strip():
            continue
        try:
            at, event, args = json.loads(line)
        except ValueError:
            if number > 2 and not line.endswith("\n"):
                break  # the last line of a recorder that was killed mid-write
            raise CaptureError(f"{path}: line {number} is not a capture event") from None
        if not isinstance(at, int) or not isinstance(event, str) or not isinstance(args, list):
            raise CaptureError(f"{path}: line {number} is not a capture event")
        capture.events.append((at, event, args))
    return capture


def replay(capture: Capture, model: Model, *, until_ms: int | None = None, start: int = 0) -> int:
    """Apply the events from index ``start`` whose ``at_ms`` is at most ``until_ms``
    (all of them when None) to ``model``; returns the index of the first not applied."""
    events = capture.events
    index = start
    while index < len(events) and (until_ms is None or events[index][0] <= until_ms):
        _, event, args = events[index]
        model.apply(event, args)
        index += 1
    return index
