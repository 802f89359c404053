"""Reads Asterisk's queue_log, one line per queue happening: `epoch|callid|queue|agent|VERB|data`.

queue_log is the only complete record of queue calls (AMI keeps nothing for a collector that was
away), so history is imported from it. `parse_line` turns one line into a `QueueLogRecord`;
`fold_calls` folds a whole file into the `QueueCall` and `RingAttempt` rows of collectors/rows.py,
and its member lines into `MemberState` rows (storage/presence.py).

Data field layouts, as Asterisk 16's apps/app_queue.c writes them (checked against the source
and against the real captures in ../shared/ami-captures):
    ENTERQUEUE          url|callerid_num|position            (no position before Asterisk 1.6)
    CONNECT             holdtime|member_channel_uniqueid|ringtime_s
    COMPLETEAGENT       holdtime|calltime|origposition        (COMPLETECALLER alike)
    BLINDTRANSFER       exten|context|holdtime|calltime|origposition
    TRANSFER            exten|context|holdtime|calltime[|origposition]   (before Asterisk 12)
    ATTENDEDTRANSFER    BRIDGE|bridge_uniqueid|holdtime|calltime|origposition
                        APP|app_name|holdtime|calltime|origposition
                        LINK|channel_1|channel_2|holdtime|calltime|origposition
    ABANDON             position|origposition|waittime        (EXITWITHTIMEOUT, EXITEMPTY alike)
    EXITWITHKEY         key|position|origposition|waittime
    RINGNOANSWER        ringtime_ms                           (RINGCANCELED alike)
    AGENTDUMP           (empty)
Data times are whole seconds (differences of time(NULL)), except the ring verbs' milliseconds.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from collectors.rows import MemberState, QueueCall, RingAttempt
from storage.gc_pause import gc_paused
from storage.presence import MemberFold, MemberLineError

SOURCE = "queue_log"
# RingAttempt.result values this module writes. "dumped" exists only here: the member answered,
# then hung up during the member announcement, before any bridge (see _agent_dump).
RING_RESULTS = ("answered", "noanswer", "canceled", "dumped")

# Verbs about queue members (storage/presence.py folds them) or the logger itself.
MEMBER_VERBS = frozenset({
    "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL", "PENALTY",
    "RINGINUSE", "AGENTLOGIN", "AGENTLOGOFF", "AGENTCALLBACKLOGIN", "AGENTCALLBACKLOGOFF",
})  # fmt: skip
SYSTEM_VERBS = frozenset({"QUEUESTART", "CONFIGRELOAD"})

_MIN_FIELDS = 5  # epoch|callid|queue|agent|verb; a verb may have no data fields at all
_DATA = 5  # index of the first data field in a split line
_FRACTIONAL_EPOCH = re.compile(r"[0-9]+\.[0-9]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STEPS = tuple(timedelta(seconds=n) for n in range(64))  # see _Clock
# How many ended stays to remember, so that a late line for one (Asterisk writes ABANDON twice
# when the caller hangs up during the member announcement) is told apart from a line of a call
# that entered before the input starts. Late lines follow within seconds: a few thousand do.
_ENDED_KEPT = 4096
KEPT_BAD_LINES = 1000  # reasons kept for the report; every bad line is counted
# Asterisk's lines are under 1 KB; a longer one is not a queue_log line (a binary file, a
# line never ended): storage/backfill.py reads at most this much of it and reports it bad.
MAX_LINE_CHARS = 64 * 1024
OVERSIZED_LINE = "\0oversized"  # what the reader hands the fold in place of such a line


class QueueLogLineError(ValueError):
    """A queue_log line that cannot be read; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class QueueLogRecord:
    """One parsed queue_log line. `data` holds the fields after the verb, unconverted."""

    time: datetime  # UTC, from the line's epoch
    callid: str
    queue: str
    agent: str
    verb: str
    data: tuple[str, ...]


@dataclass
class QueueLogParse:
    """What folding a queue_log gave: rows for the finished stays, and an account of the rest.

    `bad_lines` are (line number counted from 1, reason), the first KEPT_BAD_LINES of them;
    `bad_line_count` counts them all (a file of garbage must not fill memory with reasons);
    `lines` counts every line read.
    `open_calls` are stays not ended by the end of the input (in progress): nothing of them is
    written, so a later fold that starts at their ENTERQUEUE writes them once. `orphan_lines` are
    call lines whose ENTERQUEUE is not in the input; `late_lines` are call lines for a stay that
    had already ended. `unfinished_calls` are stays cut off by an Asterisk restart (QUEUESTART)
    or by a new ENTERQUEUE of the same caller in the same queue; they are written with gap=True.
    `unknown_verbs` counts verbs this module does not know (e.g. DID or INFO lines that a
    dialplan writes with QueueLog()). `member_states` are the rows of the member lines.
    """

    calls: list[QueueCall] = field(default_factory=list)
    ring_attempts: list[RingAttempt] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    bad_line_count: int = 0
    lines: int = 0
    open_calls: int = 0
    orphan_lines: int = 0
    late_lines: int = 0
    unfinished_calls: int = 0
    unknown_verbs: Counter[str] = field(default_factory=Counter)
    member_states: list[MemberState] = field(default_factory=list)


def parse_line(line: str) -> QueueLogRecord | None:
    """One queue_log line as a record; None for a blank line.

    Raises QueueLogLineError when the line has fewer than five fields, an empty verb or an
    epoch that is not a Unix time. The data fields are checked by `fold_calls`, which knows
    what each verb's fields mean.
    """
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < _MIN_FIELDS or not parts[4]:
        _check_short(parts)
        return None
    return QueueLogRecord(
        _epoch_time(parts[0]), parts[1], parts[2], parts[3], parts[4], tuple(parts[_DATA:])
    )


def fold_calls(lines: Iterable[str], pbx: str) -> QueueLogParse:
    """Folds queue_log lines, oldest first, into one QueueCall per finished queue stay.

    A stay is one caller (callid) in one queue, from its ENTERQUEUE to the line that ends it;
    its RingAttempt rows are written with it. Bad lines are reported in the result and skipped,
    they never stop the fold.
    """
    folder = _Folder(pbx)
    with gc_paused():
        result = folder.fold(lines)
    result.member_states = folder.members.take()
    return result


class QueueLogFolder:
    """Folds a queue_log in chunks, so a years-long file never has to fit in memory.

    Stays open at the end of one chunk carry over to the next. `feed` returns the rows the
    chunk finished; `account` keeps the running totals (line numbers count from the file's
    first line).
    """

    def __init__(self, pbx: str) -> None:
        self._folder = _Folder(pbx)
        self.account = self._folder.result
        self.lines_read = 0

    def feed(self, lines: list[str]) -> tuple[list[QueueCall], list[RingAttempt]]:
        result = self._folder.result
        known_bad = len(result.bad_lines)
        with gc_paused():
            self._folder.fold(lines)
        result.bad_lines[known_bad:] = [
            (number + self.lines_read, reason) for number, reason in result.bad_lines[known_bad:]
        ]
        self.lines_read += len(lines)
        result.lines = self.lines_read
        calls, attempts = result.calls, result.ring_attempts
        result.calls, result.ring_attempts = [], []
        return calls, attempts

    def feed_rest(
        self, lines: list[str], rest: list[tuple[int, int, str, str]]
    ) -> tuple[list[QueueCall], list[RingAttempt]]:
        """Like `feed`, for a chunk whose regular stays storage/queue_log_fast.py folded: only
        the lines of `rest` (line number in the chunk from 1, kind, callid, queue) are folded;
        kind 1 and 2 are the ENTERQUEUE and end line of a stay folded there, which the ended
        stays remembered here follow as if this fold had seen them."""
        result = self._folder.result
        known_bad = len(result.bad_lines)
        with gc_paused():
            self._folder.fold_rest(lines, rest)
        result.bad_lines[known_bad:] = [
            (number + self.lines_read, reason) for number, reason in result.bad_lines[known_bad:]
        ]
        self.lines_read += len(lines)
        result.lines = self.lines_read
        calls, attempts = result.calls, result.ring_attempts
        result.calls, result.ring_attempts = [], []
        return calls, attempts

    @property
    def pbx(self) -> str:
        return self._folder.pbx

    def take_members(self) -> list[MemberState]:
        """The member_states rows of the member lines fed since the last take."""
        return self._folder.members.take()

    def ended_keys(self) -> list[tuple[str, str]]:
        """(callid, queue) of the recently ended stays the fold remembers (late lines)."""
        return list(self._folder.ended)

    def open_keys(self) -> set[tuple[str, str]]:
        """(callid, queue) of the stays open at the end of the input fed so far."""
        return set(self._folder.open)


def _check_short(parts: list[str]) -> None:
    """Passes a blank line (nothing to read); raises for a line cut short or without a verb."""
    if len(parts) == 1 and (not parts[0] or parts[0].isspace()):
        return
    if parts == [OVERSIZED_LINE]:
        raise QueueLogLineError(f"longer than {MAX_LINE_CHARS} characters: not read")
    if len(parts) < _MIN_FIELDS:
        raise QueueLogLineError(
            f"{len(parts)} field(s) where a queue_log line has at least 5 "
            "(epoch|callid|queue|agent|verb)"
        )
    raise QueueLogLineError("the verb (fifth field) is empty")


def _epoch_time(text: str) -> datetime:
    """The UTC time of a line's epoch field."""
    try:
        seconds: float = int(text)
    except ValueError:
        if not _FRACTIONAL_EPOCH.fullmatch(text):
            raise QueueLogLineError(f"epoch {text!r} is not a Unix time in seconds") from None
        seconds = float(text)  # not what Asterisk writes, but tools that rewrite the log do
    if seconds < 0:
        raise QueueLogLineError(f"epoch {text!r} is before 1970")
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise QueueLogLineError(f"epoch {text!r} is out of range") from None


class _Clock:
    """Turns a file's epochs into datetimes, faster than fromtimestamp for lines in order."""

    __slots__ = ("seconds", "utc")

    def __init__(self) -> None:
        self.seconds, self.utc = 0, _EPOCH  # the previous whole-second line's epoch and time

    def time(self, text: str) -> datetime:
        # queue_log lines are in time order, mostly a few seconds apart: adding a ready-made
        # timedelta to the previous line's time costs a third of datetime.fromtimestamp.
        try:
            seconds = int(text)
        except ValueError:
            return _epoch_time(text)  # fractional, or bad and reported there; nothing kept
        step = seconds - self.seconds
        if 0 <= step < len(_STEPS):
            self.utc += _STEPS[step]
        else:
            self.utc = _epoch_time(text)
        self.seconds = seconds
        return self.utc


def _number(parts: list[str], index: int, what: str) -> float | None:
    """Field `index` of a split line as a duration; None if absent or empty (older formats)."""
    try:
        value = float(parts[index])
    except (IndexError, ValueError):
        if index >= len(parts) or not parts[index]:
            return None
        raise QueueLogLineError(f"{parts[4]} {what} {parts[index]!r} is not a number") from None
    if 0 <= value < _MAX_DURATION:  # false for NaN too
        return value
    raise QueueLogLineError(f"{parts[4]} {what} {parts[index]!r} is not a duration")


# Over 31 years (or ms) is no queue duration; larger ones overflowed the fold's date arithmetic.
_MAX_DURATION = 1e9


def _position(parts: list[str], index: int) -> int | None:
    """ENTERQUEUE's position; None when absent (Asterisk before 1.6 did not log it)."""
    if index >= len(parts) or not parts[index]:
        return None
    text = parts[index]
    if not (text.isascii() and text.isdigit()):
        raise QueueLogLineError(f"ENTERQUEUE position {text!r} is not a whole number")
    return int(text)


class _Stay:
    """A caller's stay in one queue while it is open (mutable, unlike the rows it becomes)."""

    __slots__ = (
        "agent", "answered_at", "attempts", "call_id", "caller_num", "entered_at", "position",
        "queue", "wait_s",
    )  # fmt: skip

    def __init__(
        self, call_id: str, queue: str, entered_at: datetime, caller_num: str | None,
        position: int | None,
    ) -> None:  # fmt: skip
        self.call_id = call_id
        self.queue = queue
        self.entered_at = entered_at
        self.caller_num = caller_num
        self.position = position
        self.answered_at: datetime | None = None
        self.wait_s: float | None = None
        self.agent: str | None = None
        # Ring attempts wait with their stay so that a stay still open at the end of the input
        # writes nothing at all; re-folding from its ENTERQUEUE later writes each row once.
        self.attempts: list[RingAttempt] = []


_Key = tuple[str, str]  # (callid, queue)

# Exit verbs that end an unanswered stay: outcome, and where waittime is in the split line.
_EXITS = {
    "ABANDON": ("abandoned", _DATA + 2),
    "EXITWITHTIMEOUT": ("timeout", _DATA + 2),
    "EXITEMPTY": ("exitempty", _DATA + 2),
    "EXITWITHKEY": ("exitwithkey", _DATA + 3),
}
_COMPLETIONS = {"COMPLETEAGENT": "agent", "COMPLETECALLER": "caller"}
_RING_ENDS = {"RINGNOANSWER": "noanswer", "RINGCANCELED": "canceled"}


class _Folder:
    """State of one fold: the open stays by (callid, queue) and the result being built.

    Each call verb has a handler taking (stay, line time, split line); a handler returns the
    finished QueueCall when its line ends the stay, else None.
    """

    def __init__(self, pbx: str) -> None:
        self.pbx = pbx
        self.result = QueueLogParse()
        self.open: dict[_Key, _Stay] = {}
        # An OrderedDict, not a dict: removing the oldest key of a plain dict leaves holes that
        # next(iter(...)) walks over each time, which slowed long folds down a lot.
        self.ended: OrderedDict[_Key, None] = OrderedDict()
        self.members = MemberFold(pbx)

    def fold(self, lines: Iterable[str]) -> QueueLogParse:
        # The hot loop of a years-long import, hence parse_line inlined, and the time of the
        # previous line reused: a busy second holds several lines.
        result = self.result
        clock = _Clock()
        number = 0
        last_epoch, time = "", _EPOCH
        for number, line in enumerate(lines, 1):
            try:
                parts = line.rstrip("\r\n").split("|")
                if len(parts) < _MIN_FIELDS or not parts[4]:
                    _check_short(parts)
                    continue
                if parts[0] != last_epoch:
                    time = clock.time(parts[0])
                    last_epoch = parts[0]
                self._line(time, parts)
            except (QueueLogLineError, MemberLineError) as exc:
                result.bad_line_count += 1
                if len(result.bad_lines) < KEPT_BAD_LINES:
                    result.bad_lines.append((number, str(exc)))
        result.lines = number
        result.open_calls = len(self.open)
        return result

    def fold_rest(self, lines: list[str], rest: list[tuple[int, int, str, str]]) -> None:
        # `fold`'s loop over the lines `rest` names (see QueueLogFolder.feed_rest), kept apart
        # so that the follower's and the tests' plain fold pays nothing for the markers.
        result, ended = self.result, self.ended
        clock = _Clock()
        last_epoch, time = "", _EPOCH
        for number, kind, callid, queue in rest:
            if kind:
                key = (callid, queue)
                ended.pop(key, None)  # what _enter does
                if kind == 2:  # what _close does
                    ended[key] = None
                    if len(ended) > _ENDED_KEPT:
                        ended.popitem(last=False)
                continue
            try:
                parts = lines[number - 1].rstrip("\r\n").split("|")
                if len(parts) < _MIN_FIELDS or not parts[4]:
                    _check_short(parts)
                    continue
                if parts[0] != last_epoch:
                    time = clock.time(parts[0])
                    last_epoch = parts[0]
                self._line(time, parts)
            except (QueueLogLineError, MemberLineError) as exc:
                result.bad_line_count += 1
                if len(result.bad_lines) < KEPT_BAD_LINES:
                    result.bad_lines.append((number, str(exc)))
        result.lines = len(lines)
        result.open_calls = len(self.open)

    def _line(self, time: datetime, parts: list[str]) -> None:
        verb = parts[4]
        if verb == "ENTERQUEUE":
            self._enter(time, parts)
            return
        handler = _HANDLERS.get(verb)
        if handler is None:
            if verb in MEMBER_VERBS:
                self.members.line(time, parts)
            elif verb == "QUEUESTART":
                self._restart()
            elif verb not in SYSTEM_VERBS:
                self.result.unknown_verbs[verb] += 1
            return
        key = (parts[1], parts[2])
        stay = self.open.get(key)
        if stay is None:
            if key in self.ended:
                self.result.late_lines += 1
            else:
                self.result.orphan_lines += 1  # the input starts after this call entered
            return
        call = handler(self, stay, time, parts)
        if call is not None:
            del self.open[key]
            self._close(key, stay, call)

    def _enter(self, time: datetime, parts: list[str]) -> None:
        if not parts[1]:
            raise QueueLogLineError("ENTERQUEUE without a callid")
        position = _position(parts, _DATA + 2)
        caller_num = parts[_DATA + 1] if len(parts) > _DATA + 1 and parts[_DATA + 1] else None
        key = (parts[1], parts[2])
        stale = self.open.get(key)
        if stale is not None:
            # One channel cannot wait twice in one queue at once: the end of the first stay is
            # missing from the input.
            self._close(key, stale, self._unfinished(stale))
        self.ended.pop(key, None)
        self.open[key] = _Stay(parts[1], parts[2], time, caller_num, position)

    def _restart(self) -> None:
        # QUEUESTART is written once per Asterisk start, and a queue caller cannot outlive the
        # process: every stay still open ended without its end being logged.
        for key, stay in self.open.items():
            self._close(key, stay, self._unfinished(stay))
        self.open.clear()

    def _close(self, key: _Key, stay: _Stay, call: QueueCall) -> None:
        self.result.calls.append(call)
        self.result.ring_attempts.extend(stay.attempts)
        self.ended[key] = None
        if len(self.ended) > _ENDED_KEPT:
            self.ended.popitem(last=False)

    def _ignore(self, stay: _Stay, time: datetime, parts: list[str]) -> None:
        return None

    def _connect(self, stay: _Stay, time: datetime, parts: list[str]) -> None:
        holdtime = _number(parts, _DATA, "holdtime")
        ring_s = _number(parts, _DATA + 2, "ringtime")  # whole seconds, unlike RINGNOANSWER's
        stay.answered_at = time
        stay.wait_s = holdtime if holdtime is not None else _seconds(stay.entered_at, time)
        stay.agent = parts[3] or None
        self._attempt(stay, time, parts[3], ring_s, "answered")

    def _ring_end(self, stay: _Stay, time: datetime, parts: list[str]) -> None:
        ring_ms = _number(parts, _DATA, "ringtime")
        ring_s = None if ring_ms is None else ring_ms / 1000
        self._attempt(stay, time, parts[3], ring_s, _RING_ENDS[parts[4]])

    def _agent_dump(self, stay: _Stay, time: datetime, parts: list[str]) -> None:
        # app_queue's try_calling writes AGENTDUMP *instead of* CONNECT when the member who
        # answered hangs up during the member announcement, then returns 0: the caller goes on
        # waiting, and a later CONNECT, ABANDON or EXIT* line ends the stay. So it is neither an
        # answer nor an end, but one more ring attempt with its own result. Its ring time is
        # not logged, so the attempt is dated at the dump.
        self._attempt(stay, time, parts[3], None, "dumped")

    def _attempt(
        self, stay: _Stay, time: datetime, agent: str, ring_s: float | None, result: str
    ) -> None:
        started = time if ring_s is None else time - timedelta(seconds=ring_s)
        # interface stays "": queue_log names the member (membername), not its device, and one
        # device can carry different member names in different queues, so a guess would make
        # joins with AMI rows (which do carry the interface) silently wrong. Positional
        # arguments because they build rows measurably faster; the tests pin the order.
        stay.attempts.append(RingAttempt(
            self.pbx, stay.queue, stay.call_id, agent or None, "", started, ring_s, result, SOURCE,
        ))  # fmt: skip

    def _complete(self, stay: _Stay, time: datetime, parts: list[str]) -> QueueCall:
        holdtime = _number(parts, _DATA, "holdtime")
        calltime = _number(parts, _DATA + 1, "calltime")
        return self._answered(stay, time, parts, holdtime, calltime, _COMPLETIONS[parts[4]])

    def _transfer(self, stay: _Stay, time: datetime, parts: list[str]) -> QueueCall:
        if parts[4] == "ATTENDEDTRANSFER":
            # The method (BRIDGE, APP or LINK) decides how many fields come before the times,
            # but the last three are always holdtime|calltime|origposition.
            if len(parts) < _DATA + 5:
                raise QueueLogLineError(
                    f"ATTENDEDTRANSFER has {len(parts) - _DATA} data field(s), not 5 or 6"
                )
            holdtime_at = len(parts) - 3
        else:
            holdtime_at = _DATA + 2  # exten|context|holdtime|calltime|origposition
        holdtime = _number(parts, holdtime_at, "holdtime")
        calltime = _number(parts, holdtime_at + 1, "calltime")
        return self._answered(stay, time, parts, holdtime, calltime, "transfer")

    def _answered(
        self, stay: _Stay, time: datetime, parts: list[str], holdtime: float | None,
        calltime: float | None, ended_by: str,
    ) -> QueueCall:  # fmt: skip
        answered_at = stay.answered_at
        if answered_at is None:
            # The CONNECT line is missing (bad or cut off): the completion still proves the
            # answer, and its holdtime and calltime tell when it happened.
            answered_at = None if calltime is None else time - timedelta(seconds=calltime)
            stay.wait_s, stay.agent = holdtime, parts[3] or None
        return QueueCall(
            self.pbx, stay.queue, stay.call_id, stay.call_id, stay.caller_num, None,
            stay.entered_at, stay.position, "answered", stay.wait_s, answered_at, stay.agent,
            None, calltime, ended_by, time, len(stay.attempts), SOURCE,
        )  # fmt: skip

    def _exit(self, stay: _Stay, time: datetime, parts: list[str]) -> QueueCall:
        outcome, waittime_at = _EXITS[parts[4]]
        waittime = _number(parts, waittime_at, "waittime")
        wait_s = waittime if waittime is not None else _seconds(stay.entered_at, time)
        # position|origposition|waittime, or key|position|origposition|waittime: the position
        # field sits two before waittime. Only informative: one that is not a number is left
        # out rather than making the exit line bad (which would leave the stay open).
        at = waittime_at - 2
        left = parts[at] if at < len(parts) else ""
        left_position = int(left) if left.isascii() and left.isdigit() else None
        return QueueCall(
            self.pbx, stay.queue, stay.call_id, stay.call_id, stay.caller_num, None,
            stay.entered_at, stay.position, outcome, wait_s, None, None, None, None, None, time,
            len(stay.attempts), SOURCE, left_position=left_position,
        )  # fmt: skip

    def _unfinished(self, stay: _Stay) -> QueueCall:
        # Written rather than dropped so that the call still counts as offered; gap=True as
        # how it ended is unknown. An answered one stays "answered": that much is known.
        self.result.unfinished_calls += 1
        outcome = "unknown" if stay.answered_at is None else "answered"
        return QueueCall(
            pbx=self.pbx, queue=stay.queue, call_id=stay.call_id, linkedid=stay.call_id,
            caller_num=stay.caller_num, caller_name=None, entered_at=stay.entered_at,
            position=stay.position, outcome=outcome, wait_s=stay.wait_s,
            answered_at=stay.answered_at, agent=stay.agent, interface=None, talk_s=None,
            ended_by=None, ended_at=None, ring_attempts=len(stay.attempts), source=SOURCE,
            gap=True,
        )  # fmt: skip


_Handler = Callable[[_Folder, _Stay, datetime, list[str]], QueueCall | None]
# Plain functions, not bound methods kept on the folder: those would make each folder a
# reference cycle, garbage only the (paused) cyclic collector can free.
_HANDLERS: dict[str, _Handler] = {
    "CONNECT": _Folder._connect,
    "AGENTDUMP": _Folder._agent_dump,
    "BLINDTRANSFER": _Folder._transfer,
    "TRANSFER": _Folder._transfer,
    "ATTENDEDTRANSFER": _Folder._transfer,
    # SYSCOMPAT (caller and member channels could not be made compatible) is always followed
    # by the ABANDON that queue_exec writes, and that line ends the stay.
    "SYSCOMPAT": _Folder._ignore,
    **dict.fromkeys(_EXITS, _Folder._exit),
    **dict.fromkeys(_COMPLETIONS, _Folder._complete),
    **dict.fromkeys(_RING_ENDS, _Folder._ring_end),
}


def _seconds(start: datetime, end: datetime) -> float:
    """Seconds between two line times, for older formats that do not log the duration."""
    return (end - start).total_seconds()
