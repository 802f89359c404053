"""Replays a recorded AMI capture (../shared/ami-captures) through framing and the tracker.

The capture's index holds each socket read as it happened, so the replay feeds the framer the
same byte chunks, with the same receive times, as the live collector saw.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from collectors.framing import FrameReader, parse_message
from collectors.rows import Row
from collectors.tracker import CallTracker


def reads(folder: Path) -> Iterator[tuple[datetime, bytes]]:
    """Each recorded socket read: (receive time, bytes)."""
    data = (folder / "capture.ami").read_bytes()
    for line in (folder / "capture.idx").read_text().splitlines():
        stamp, offset, length = line.split()
        start = int(offset)
        yield datetime.fromtimestamp(float(stamp), UTC), data[start : start + int(length)]


def replay(folder: Path, pbx: str = "lab") -> tuple[list[Row], CallTracker]:
    """All rows the tracker produces for a capture, in order."""
    frames = FrameReader()
    tracker = CallTracker(pbx)
    rows: list[Row] = []
    for at, chunk in reads(folder):
        for text in frames.feed(chunk):
            rows.extend(tracker.feed(parse_message(text), at))
    return rows, tracker
