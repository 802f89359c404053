"""Fuzzing the AMI read path (hypothesis): bytes -> framing -> parse -> dispatch, as
`_Protocol.data_received` runs it on a real socket's transport. Whatever a peer sends, in
whatever reads: no exception, the session stays up, every frame that is not an AMI message is
counted, an oversized one is dropped and counted, and the framer never holds more than its
bound. HYPOTHESIS_PROFILE=deep runs thousands of examples (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import itertools
import socket

from hypothesis import given
from hypothesis import strategies as st

from collectors.ami import AmiEvent, SessionCounters, _Manager, _Protocol
from collectors.framing import MAX_FIELD_CHARS, FrameReader, parse_message
from collectors.tracker import USED_EVENTS

BANNER = b"Asterisk Call Manager/5.0.4\r\n"
MAX_BYTES = 2000  # the session's bound, small so that examples reach it

# Text a field may hold: any character but CR and LF (those end a line), non-ASCII included.
_value = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
                 max_size=40)  # fmt: skip
_key = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,15}", fullmatch=True).filter(
    lambda k: k not in ("ActionID", "Event", "Response")
)
_name = st.sampled_from([*sorted(USED_EVENTS - {"Shutdown"}), "UserEvent", "Newchannel", "X"])


@st.composite
def event_frame(draw: st.DrawFn) -> tuple[str, bytes]:
    fields = draw(st.lists(st.tuples(_key, _value), max_size=8))
    name = draw(_name)
    lines = [f"Event: {name}"] + [f"{k}: {v}" for k, v in fields]
    return "event", ("\r\n".join(lines) + "\r\n\r\n").encode()


# A frame with no header at all: lines without any colon (raw bytes, not always UTF-8).
_junk = (
    st.binary(min_size=1, max_size=60)
    .map(lambda b: bytes(c for c in b if c not in b"\r\n:") or b"junk")
    .filter(lambda b: b.strip() != b"")
)
junk_frame = _junk.map(lambda b: ("junk", b + b"\r\n\r\n"))
oversized_frame = st.integers(MAX_BYTES, 3 * MAX_BYTES).map(
    lambda n: ("oversized", b"Event: Big\r\nX: " + b"y" * n + b"\r\n\r\n")
)
frames = st.lists(st.one_of(event_frame(), junk_frame, oversized_frame), max_size=30)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


async def read(
    chunks: list[bytes], max_bytes: int = MAX_BYTES
) -> tuple[list[AmiEvent], SessionCounters, bool, int]:
    """Feed the chunks to our protocol on a real (socketpair) transport; return the events
    delivered, the counters, whether the session ended and the framer's buffered bytes."""
    events: list[AmiEvent] = []
    counters = SessionCounters()
    manager = _Manager(events.append, counters)
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(lambda: _Protocol(manager), sock=ours)
    try:
        protocol.frames.max_message_bytes = max_bytes
        for chunk in chunks:
            protocol.data_received(chunk)
        return events, counters, manager.lost.done(), len(protocol.frames._buf)
    finally:
        transport.close()
        theirs.close()


@given(frames, st.lists(st.integers(0, 10**6), max_size=20))
def test_every_frame_is_delivered_or_counted_whatever_the_reads(
    kinds: list[tuple[str, bytes]], cuts: list[int]
) -> None:
    data = BANNER + b"".join(frame for _, frame in kinds)
    events, counters, ended, _ = asyncio.run(read(split(data, cuts)))
    sent = [
        frame.split(b"\r\n", 1)[0].removeprefix(b"Event: ").decode()
        for kind, frame in kinds
        if kind == "event"
    ]
    assert [e["Event"] for e in events] == sent
    assert counters.malformed == sum(kind != "event" for kind, _ in kinds)
    assert (counters.handler_errors, ended) == (0, False)
    assert counters.bytes_received == len(data)


@given(st.booleans(), st.lists(st.binary(max_size=300), max_size=40))
def test_any_bytes_never_raise_nor_end_the_session(banner: bool, chunks: list[bytes]) -> None:
    events, counters, ended, held = asyncio.run(read([BANNER if banner else b"", *chunks]))
    assert counters.handler_errors == 0
    assert not ended or any(b"Shutdown" in c for c in chunks)
    assert held <= MAX_BYTES + 3  # an unterminated frame past the bound is not kept
    assert all(isinstance(e, dict) for e in events)


@given(st.lists(st.binary(max_size=500), max_size=30), st.lists(st.integers(0, 10**6)))
def test_framing_does_not_depend_on_how_the_stream_is_read(
    parts: list[bytes], cuts: list[int]
) -> None:
    data = BANNER + b"\r\n\r\n".join(parts) + b"\r\n\r\n"
    whole, pieces = FrameReader(MAX_BYTES), FrameReader(MAX_BYTES)
    once = whole.feed(data)
    again = [m for chunk in split(data, cuts) for m in pieces.feed(chunk)]
    assert once == again and whole.oversized == pieces.oversized


@given(st.lists(st.tuples(st.integers(0, 3 * MAX_FIELD_CHARS), _value), min_size=1, max_size=5))
def test_long_fields_are_cut_to_the_bound_and_counted(lengths: list[tuple[int, str]]) -> None:
    lines = [f"F{i}: {tail}{'v' * n}" for i, (n, tail) in enumerate(lengths)]
    frame = ("Event: QueueCallerJoin\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode()
    (event,), counters, _, _ = asyncio.run(read([BANNER, frame], max_bytes=1 << 20))
    assert all(len(k) + 2 + len(v) <= MAX_FIELD_CHARS for k, v in event.items())
    assert counters.long_fields == sum(len(line) > MAX_FIELD_CHARS for line in lines)
    assert all(len(line) <= MAX_FIELD_CHARS for line in event.text.split("\r\n"))


@given(st.lists(st.tuples(_key, _value), max_size=8, unique_by=lambda kv: kv[0]))
def test_parse_message_reads_back_every_field(fields: list[tuple[str, str]]) -> None:
    text = "\r\n".join(["Event: X", *(f"{k}: {v}" for k, v in fields)])
    assert parse_message(text) == {"Event": "X", **{k: v.strip() for k, v in fields}}
