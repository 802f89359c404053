"""An AMI load generator for the ingest benchmark: what sipp is to SIP, for Callboard's collector.

It builds a large AMI event stream by repeating the recorded Asterisk 16 captures
(../shared/ami-captures), and serves it from an asyncio TCP server on 127.0.0.1 that speaks just
enough AMI for `collectors.ami.AmiSession` and the collector's session: the banner, Login,
Filter, QueueStatus (an empty list), Ping and Logoff. The stream starts right after the first
QueueStatus answer (the collector's snapshot, so its lifecycle runs as against a real PBX) and
is written as fast as the socket takes it. It runs in a process of its own (bench/ingest.py
starts it), so its memory and CPU are not the measured pipeline's.

Repetitions stay well-formed, distinct calls: in repetition k every Timestamp and the epoch part
of every Uniqueid, Linkedid, DestUniqueid and DestLinkedid move by k * REP_SHIFT_S seconds, as if
the same calls had come again later. Marker calls (a QueueCallerJoin that never leaves, with its
own Uniqueid) are spread evenly through the stream after its first 5,000 events; the last event
is always one, so a client knows the stream is over when it sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from collectors.ami import filters_for
from collectors.tracker import USED_EVENTS

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "ami-captures"
SCENARIOS = ("a_all_answered", "b_mixed")  # a's calls all end before b's begin
BANNER = b"Asterisk Call Manager/5.0.4\r\n"
END = b"\r\n\r\n"
REP_SHIFT_S = 300  # longer than both captures together (~210 s), so repetitions never overlap
MARKER_EPOCH = 1_000_000_000  # marker Uniqueids are "1000000000.<n>": never a shifted real one
MIXES = ("filtered", "raw")

# The integer part of these fields moves with each repetition; the fraction stays.
_SHIFTED = re.compile(
    rb"^(Uniqueid|Linkedid|DestUniqueid|DestLinkedid|Timestamp): (\d+)(?=\.)", re.M
)
_ID_LINE = re.compile(rb"^(Uniqueid|Linkedid): [^\r\n]*", re.M)
_STAMP = re.compile(rb"^Timestamp: (\d+)", re.M)
_CALLER = re.compile(rb"^CallerIDNum: [^\r\n]*", re.M)


@dataclass(frozen=True)
class StreamConfig:
    """What to generate: how many events, which mix, how many markers, write size."""

    events: int
    mix: str = "filtered"  # filtered: what a PBX honouring the collector's Filter sends
    markers: int = 200
    chunk_bytes: int = 8192
    captures: Path = CAPTURES
    rate: float = 0.0  # events/s to pace the stream at; 0: as fast as the socket takes it


@dataclass(frozen=True)
class StreamSummary:
    """What a client needs to know about the stream it will receive."""

    events: int
    used: int  # events whose name is in collectors.tracker.USED_EVENTS
    nbytes: int
    markers: tuple[str, ...]  # call ids, in stream order; the last is the stream's last event
    names: dict[str, int]
    repetitions: float


@dataclass(frozen=True)
class StreamReport:
    """One connection's stream as the server wrote it (time.monotonic() is system-wide)."""

    started: float
    finished: float
    nbytes: int
    complete: bool


@dataclass
class Stream:
    chunks: list[bytes]
    counts: list[int]  # events in each chunk
    summary: StreamSummary
    rate: float = 0.0


@dataclass(frozen=True)
class _Template:
    name: str
    text: bytes  # the message with '%' escaped and each shifted integer as %d
    values: tuple[int, ...]

    def render(self, shift: int) -> bytes:
        return self.text % tuple(v + shift for v in self.values)


def recorded_events(folder: Path) -> list[bytes]:
    """The Event messages of one capture, without the banner, the login answer and Goodbye."""
    data = (folder / "capture.ami").read_bytes()
    if data.startswith(BANNER[:22]):
        data = data[data.index(b"\r\n") + 2 :]
    return [m for m in data.split(END) if m.startswith(b"Event: ")]


def passes_filter(message: bytes) -> bool:
    """Whether Asterisk would send this event to the collector after its AMI Filter actions."""
    return any(rule.search(message) for rule in _FILTER_RULES)


# The collector's own whitelist (regexec on the whole event text, as manager.c matches it).
_FILTER_RULES = [
    re.compile(rule.replace("[[:space:]]", r"\s").encode()) for rule in filters_for(USED_EVENTS)
]


def _templates(config: StreamConfig) -> list[_Template]:
    templates: list[_Template] = []
    for scenario in SCENARIOS:
        for message in recorded_events(config.captures / scenario):
            if config.mix == "filtered" and not passes_filter(message):
                continue
            escaped = message.replace(b"%", b"%%")
            values = tuple(int(m.group(2)) for m in _SHIFTED.finditer(escaped))
            text = _SHIFTED.sub(lambda m: m.group(1) + b": %d", escaped) + END
            name = message[7 : message.index(b"\r\n")].decode()
            templates.append(_Template(name, text, values))
    return templates


def _marker(join: bytes, index: int, shift: int) -> tuple[str, bytes]:
    call_id = f"{MARKER_EPOCH}.{index}"
    message = _ID_LINE.sub(lambda m: m.group(1) + b": " + call_id.encode(), join)
    message = _STAMP.sub(lambda m: b"Timestamp: %d" % (int(m.group(1)) + shift), message)
    message = _CALLER.sub(lambda m: b"CallerIDNum: 8%05d" % index, message)
    return call_id, message + END


def _messages(config: StreamConfig, names: Counter[str], markers: list[str]) -> Iterator[bytes]:
    templates = _templates(config)
    join = next(
        m for m in recorded_events(config.captures / SCENARIOS[0]) if b"QueueCallerJoin" in m[:30]
    )
    count = max(1, min(config.markers, config.events // 2))
    # None in the first reads: the collector settles its QueueStatus snapshot only after it
    # has handled the events that came in the same read, and closes callers who joined there.
    start = min(5000, config.events // 10)
    step = (config.events - start) / count
    marker_at = {start + round((i + 1) * step): i for i in range(count)}
    index = rep = 0
    for n in range(1, config.events + 1):
        if n in marker_at:
            call_id, message = _marker(join, marker_at[n], rep * REP_SHIFT_S)
            markers.append(call_id)
            names["QueueCallerJoin"] += 1
            yield message
            continue
        template = templates[index]
        names[template.name] += 1
        yield template.render(rep * REP_SHIFT_S)
        index += 1
        if index == len(templates):
            index, rep = 0, rep + 1


def build_stream(config: StreamConfig) -> Stream:
    """Render the whole stream, in message-aligned writes of about `chunk_bytes`."""
    names: Counter[str] = Counter()
    markers: list[str] = []
    chunks: list[bytes] = []
    counts: list[int] = []
    pending: list[bytes] = []
    size = 0
    for message in _messages(config, names, markers):
        pending.append(message)
        size += len(message)
        if size >= config.chunk_bytes:
            chunks.append(b"".join(pending))
            counts.append(len(pending))
            pending, size = [], 0
    if pending:
        chunks.append(b"".join(pending))
        counts.append(len(pending))
    per_rep = len(_templates(config))
    summary = StreamSummary(
        events=config.events,
        used=sum(n for name, n in names.items() if name in USED_EVENTS),
        nbytes=sum(len(c) for c in chunks),
        markers=tuple(markers),
        names=dict(names.most_common()),
        repetitions=(config.events - len(markers)) / per_rep,
    )
    return Stream(chunks, counts, summary, config.rate)


# -- the server --------------------------------------------------------------------------------
def _parse_action(raw: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            fields[key.lower()] = value
    return fields


def reply(action: dict[str, str]) -> bytes:
    """The answer Asterisk 16 gives to the actions the collector sends (enough of it)."""
    name = action.get("action", "").lower()
    aid = f"ActionID: {action['actionid']}\r\n" if "actionid" in action else ""
    if name == "login":
        text = f"Response: Success\r\n{aid}Message: Authentication accepted\r\n\r\n"
    elif name == "filter":
        text = f"Response: Success\r\n{aid}Message: Filter Added Successfully\r\n\r\n"
    elif name == "queuestatus":
        text = (
            f"Response: Success\r\n{aid}EventList: start\r\nMessage: Queue status will follow\r\n"
            f"\r\nEvent: QueueStatusComplete\r\n{aid}EventList: Complete\r\nListItems: 0\r\n\r\n"
        )
    elif name == "ping":
        text = f"Response: Success\r\n{aid}Ping: Pong\r\nTimestamp: {time.time():.6f}\r\n\r\n"
    elif name == "logoff":
        text = f"Response: Goodbye\r\n{aid}Message: Thanks for all the fish.\r\n\r\n"
    else:
        text = f"Response: Error\r\n{aid}Message: Invalid/unknown command\r\n\r\n"
    return text.encode()


@dataclass
class LoadServer:
    """Serves `stream` to every connection that logs in and asks for QueueStatus."""

    stream: Stream
    report: Callable[[StreamReport], None]
    connections: int = field(default=0)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One AMI session: answer actions; the first QueueStatus starts the stream."""
        self.connections += 1
        writer.write(BANNER)
        streaming: asyncio.Task[None] | None = None
        try:
            while True:
                try:
                    action = _parse_action(await reader.readuntil(END))
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    break
                # A reply is one write between two whole chunks: it never splits a message.
                writer.write(reply(action))
                name = action.get("action", "").lower()
                if name == "queuestatus" and streaming is None:
                    streaming = asyncio.create_task(self._send_stream(writer))
                elif name == "logoff":
                    break
        finally:
            if streaming is not None:
                streaming.cancel()
                await asyncio.gather(streaming, return_exceptions=True)
            writer.close()

    async def _send_stream(self, writer: asyncio.StreamWriter) -> None:
        started = time.monotonic()
        sent = events = 0
        complete = False
        rate = self.stream.rate
        try:
            for chunk, count in zip(self.stream.chunks, self.stream.counts, strict=True):
                writer.write(chunk)
                sent += len(chunk)
                events += count
                await writer.drain()
                if rate:  # paced: a PBX's steady flow instead of a backlog to drain
                    await asyncio.sleep(max(0.0, started + events / rate - time.monotonic()))
            complete = True
        except ConnectionError:
            pass
        finally:
            self.report(StreamReport(started, time.monotonic(), sent, complete))


def serve(conn: Connection, config: StreamConfig) -> None:
    """Child-process entry: build the stream, send ("ready", port, summary), serve until told."""
    stream = build_stream(config)
    asyncio.run(_serve(conn, stream))


async def _serve(conn: Connection, stream: Stream) -> None:
    server = LoadServer(stream, lambda report: conn.send(("stream", report)))
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    conn.send(("ready", port, stream.summary))
    with contextlib.suppress(EOFError):  # any message, or the parent gone, means stop
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    listener.close()
    await listener.wait_closed()
