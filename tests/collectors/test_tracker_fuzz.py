"""Fuzzing the collector's event path (hypothesis): the events of the recorded captures
(../shared/ami-captures), mutated (fields dropped or replaced by any text, Uniqueids swapped,
events dropped, repeated and reordered), through `AsteriskCollector._on_event` -> tracker ->
rows, as a live session delivers them. No exception, every event counted (used or unused),
every row a valid one, the open stays bounded by the joins."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from collectors.ami import AmiEvent
from collectors.collector import AsteriskCollector
from collectors.framing import MAX_FIELD_CHARS, FrameReader, parse_message
from collectors.rows import OUTCOMES, ROW_TYPES, QueueCall, Row
from settings import PbxSettings
from tests.conftest import CAPTURES


def _capture_events() -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    for scenario in ("a_all_answered", "b_mixed"):
        frames = FrameReader()
        for text in frames.feed((CAPTURES / scenario / "capture.ami").read_bytes()):
            fields_ = parse_message(text)
            if "Event" in fields_:
                events.append(fields_)
    return events


EVENTS = _capture_events()
IDS = sorted({e["Uniqueid"] for e in EVENTS if "Uniqueid" in e})[:6]
_any_text = st.text(max_size=30) | st.sampled_from(["", "-1", "1e309", "nan", "<unknown>"])
_FIELDS = ["Uniqueid", "Queue", "Interface", "Position", "Timestamp", "Wait", "RingTime",
           "Status", "Paused", "Value", "Variable", "Reason", "DestUniqueid", "Linkedid",
           "CallerIDName"]  # fmt: skip
_mutation = st.one_of(
    st.tuples(st.just("drop"), st.text(max_size=12)),
    st.tuples(st.just("set"), st.sampled_from(_FIELDS), _any_text),
    st.tuples(st.just("id"), st.sampled_from(IDS or ["1.1"])),
    st.tuples(st.just("huge"), st.sampled_from(["CallerIDName", "Queue", "Interface"])),
)


def mutate(event: dict[str, str], how: tuple[str, ...]) -> dict[str, str]:
    e = dict(event)
    if how[0] == "drop":
        e.pop(how[1] if how[1] in e else next(iter(sorted(e)), ""), None)
    elif how[0] == "set":
        e[how[1]] = how[2]
    elif how[0] == "id":
        e["Uniqueid"] = how[1]
    else:
        e[how[1]] = "x" * MAX_FIELD_CHARS  # the longest a field gets past the framing
    return e


stream = st.lists(
    st.tuples(st.integers(0, len(EVENTS) - 1), st.lists(_mutation, max_size=3)), max_size=120
)


@given(stream, st.booleans())
def test_mutated_capture_events_never_break_the_collector(
    picks: list[tuple[int, list[tuple[str, ...]]]], in_order: bool
) -> None:
    rows: list[Row] = []
    collector = AsteriskCollector(PbxSettings("fuzz", "127.0.0.1", 5038, "u", "s"), rows.append)
    if in_order:
        picks = sorted(picks, key=lambda p: p[0])
    fed = []
    for index, mutations in picks:
        event = EVENTS[index]
        for how in mutations:
            event = mutate(event, how)
        fed.append(event)
        text = "\r\n".join(f"{k}: {v}" for k, v in event.items())
        collector._on_event(AmiEvent(event, text))
    status = collector.status
    assert status.events + status.unused_events == len(fed)
    assert status.handler_errors == 0
    for row in rows:
        assert type(row) in ROW_TYPES
        assert all(hasattr(row, f.name) for f in fields(row))
        if isinstance(row, QueueCall):
            assert row.outcome in OUTCOMES and isinstance(row.entered_at, datetime)
            assert row.entered_at.tzinfo is UTC or row.entered_at.utcoffset() is not None
    joins = sum(e.get("Event") == "QueueCallerJoin" for e in fed)
    assert len(collector.tracker.waiting()) <= joins
