"""Byte framing of the AMI stream: the panoramisk 1.4 defects 1 and 2 must not reach us."""

from __future__ import annotations

from pathlib import Path

from collectors.framing import FrameReader, parse_message
from tests.replay import reads

BANNER = b"Asterisk Call Manager/5.0.4\r\n"


def test_banner_gives_the_version_and_is_not_a_message() -> None:
    frames = FrameReader()
    reply = b"Response: Success\r\nMessage: Authentication accepted\r\n\r\n"
    messages = frames.feed(BANNER + reply)
    assert frames.version == "5.0.4"
    assert messages == ["Response: Success\r\nMessage: Authentication accepted"]


def test_utf8_character_split_across_two_reads_survives() -> None:
    # panoramisk 1.4 decodes each read on its own: 'José' arrived as 'Jos'.
    message = "Event: QueueCallerJoin\r\nCallerIDName: José\r\n\r\n".encode()
    cut = message.index("é".encode()) + 1  # between the two bytes of 'é'
    frames = FrameReader()
    assert frames.feed(BANNER + message[:cut]) == []
    (text,) = frames.feed(message[cut:])
    assert parse_message(text)["CallerIDName"] == "José"


def test_message_split_on_the_terminator_itself() -> None:
    frames = FrameReader()
    data = b"Event: A\r\nX: 1\r\n\r\nEvent: B\r\n\r\n"
    out: list[str] = []
    for i in range(len(data)):  # one byte per read: every possible split point
        out += frames.feed(data[i : i + 1])
    assert [parse_message(m)["Event"] for m in out] == ["A", "B"]


def test_large_message_in_small_reads_is_scanned_once() -> None:
    # 4 MB in 1,460-byte reads: panoramisk re-splits the whole buffer on every read
    # (quadratic). We only scan new bytes; count the work instead of timing it.
    body = b"Event: Big\r\n" + b"".join(b"K%d: %s\r\n" % (i, b"v" * 60) for i in range(60_000))
    frames = FrameReader(max_message_bytes=8 * 1024 * 1024)
    frames.feed(BANNER)
    data = body + b"\r\n"
    out: list[str] = []
    for i in range(0, len(data), 1460):
        out += frames.feed(data[i : i + 1460])
    assert len(out) == 1 and len(parse_message(out[0])) == 60_001


def test_oversized_message_is_dropped_and_counted_and_the_next_one_kept() -> None:
    frames = FrameReader(max_message_bytes=1000)
    frames.feed(BANNER)
    out = frames.feed(b"Event: Huge\r\nX: " + b"y" * 5000 + b"\r\n\r\nEvent: Next\r\n\r\n")
    assert frames.oversized == 1
    assert [parse_message(m)["Event"] for m in out] == ["Next"]


def test_parse_message_keeps_empty_values_and_first_of_repeated_keys() -> None:
    fields = parse_message("Event: QueueMember\r\nPausedReason: \r\nVar: a\r\nVar: b\r\njunk")
    assert fields == {"Event": "QueueMember", "PausedReason": "", "Var": "a"}


def test_recorded_capture_frames_into_every_message(captures: Path) -> None:
    # The capture's summary counts 2,310 messages (events and responses) for b_mixed.
    frames = FrameReader()
    count = sum(len(frames.feed(chunk)) for _, chunk in reads(captures / "b_mixed"))
    assert frames.version == "5.0.4"
    assert count == 2310


def test_an_oversized_message_spanning_many_reads_is_counted_once() -> None:
    # Found by fuzzing: each read that found the buffer over the bound counted it again.
    frames = FrameReader(max_message_bytes=1000)
    frames.feed(BANNER)
    out = frames.feed(b"Event: Huge\r\nX: " + b"y" * 1500)
    for _ in range(5):
        out += frames.feed(b"y" * 1500)
    out += frames.feed(b"\r\n\r\nEvent: Next\r\n\r\n")
    assert frames.oversized == 1
    assert [parse_message(m)["Event"] for m in out] == ["Next"]
