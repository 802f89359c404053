"""Per-call AMI sequences and queue_log records, from a real capture or from a demo run.

Both sides go through the same functions, so that what a test compares is what Asterisk 16
sent and what the demo sends, normalised alike:
- a call is a caller's stay in a queue, keyed by the caller's Uniqueid (queue_log's callid);
  its events are the queue-relevant ones (collectors.tracker.USED_EVENTS) carrying that
  Uniqueid or, for agent legs, that Linkedid;
- a call's *shape* is its sequence of event names, with the key fields that tell call shapes
  apart (which leg hangs up and why, AgentComplete's Reason, the QUEUESTATUS value), and with
  repeats folded (three ring-no-answer cycles or two ringall members look like one), as the
  number of repeats depends on the scenario, not on the PBX.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from collectors.framing import FrameReader, parse_message
from collectors.tracker import USED_EVENTS
from tests.replay import reads

Event = dict[str, str]


@dataclass
class Call:
    """One caller's stay, as AMI and queue_log tell it."""

    call_id: str
    events: list[Event] = field(default_factory=list)
    records: list[list[str]] = field(default_factory=list)  # queue_log lines, split on "|"

    @property
    def shape(self) -> tuple[str, ...]:
        return fold_repeats([token(e, self.call_id) for e in self.events])

    @property
    def verbs(self) -> tuple[str, ...]:
        """The queue_log verbs, repeats folded: the call shape as queue_log names it."""
        return fold_repeats([r[4] for r in self.records])


def capture_events(folder: Path) -> list[Event]:
    """Every event of a recorded capture, parsed as the collector parses it."""
    frames = FrameReader()
    events: list[Event] = []
    for _, chunk in reads(folder):
        for text in frames.feed(chunk):
            fields = parse_message(text)
            if "Event" in fields:
                events.append(fields)
    return events


def calls_of(events: Iterable[Event], queue_log: Iterable[str]) -> dict[str, Call]:
    """The calls of an event stream and of the queue_log written with it."""
    calls: dict[str, Call] = {}
    for e in events:
        name = e.get("Event", "")
        if name not in USED_EVENTS or (name == "VarSet" and e.get("Variable") != "QUEUESTATUS"):
            continue
        if name == "QueueCallerJoin":
            calls.setdefault(e["Uniqueid"], Call(e["Uniqueid"]))
        call = calls.get(e.get("Linkedid", "")) or calls.get(e.get("Uniqueid", ""))
        if call is not None:
            call.events.append(e)
    for line in queue_log:
        parts = line.rstrip("\n").split("|")
        if len(parts) > 4 and parts[1] in calls:
            calls[parts[1]].records.append(parts)
    return calls


def token(e: Event, call_id: str) -> str:
    """An event's name and the fields that tell call shapes apart."""
    name = e["Event"]
    if name in ("Hangup", "HangupRequest"):
        leg = "caller" if e.get("Uniqueid") == call_id else "agent"
        return f"{name}({leg},{e.get('Cause')})"
    if name == "AgentComplete":
        return f"{name}({e.get('Reason')})"
    if name == "VarSet":
        return f"{name}({e.get('Variable')}={e.get('Value')})"
    return name


def fold_repeats(items: Sequence[str]) -> tuple[str, ...]:
    """Drop immediate repeats of any block: a b c b c d -> a b c d; x x x -> x."""
    out = list(items)
    folded = True
    while folded:
        folded = False
        for size in range(1, len(out) // 2 + 1):
            for i in range(len(out) - 2 * size + 1):
                if out[i : i + size] == out[i + size : i + 2 * size]:
                    del out[i + size : i + 2 * size]
                    folded = True
                    break
            if folded:
                break
    return tuple(out)


def unit_problems(call: Call) -> list[str]:
    """What in a call breaks the units and cross-checks a real Asterisk 16 keeps.

    HoldTime, TalkTime and AgentConnect's RingTime are whole seconds (differences of epoch
    seconds, so within 1 s of the Timestamps'); AgentRingNoAnswer's RingTime is milliseconds;
    queue_log's CONNECT, COMPLETE*, RINGNOANSWER, ABANDON and EXITWITHTIMEOUT data fields carry
    the same numbers as the matching events.
    """
    units = _Units(call)
    steps = {"AgentConnect": units.connect, "AgentRingNoAnswer": units.no_answer,
             "AgentComplete": units.complete, "QueueCallerAbandon": units.abandon}  # fmt: skip
    for e in call.events:
        step = steps.get(e["Event"])
        if step is not None:
            step(e)
    return units.problems


class _Units:
    """The checks of unit_problems, one method per event that carries a duration."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.problems: list[str] = []
        join = call.events[0]
        self.t0 = _t(join)
        self.called = {e["DestUniqueid"]: _t(e) for e in call.events if e["Event"] == "AgentCalled"}
        self.records = {v: [r for r in call.records if r[4] == v] for v in _VERBS}
        self.ring_lines = iter(self.records["RINGNOANSWER"])
        epoch = int(call.call_id.split(".")[0])
        self.check(join["Event"] == "QueueCallerJoin", "does not start with QueueCallerJoin")
        self.check(epoch <= self.t0 < epoch + 2, "Uniqueid's epoch is not its creation second")
        enter = self.records["ENTERQUEUE"]
        self.check(len(enter) == 1 and enter[0][7] == join["Position"], "ENTERQUEUE position")

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(f"{self.call.call_id}: {what}")

    def connect(self, e: Event) -> None:
        hold, ring = int(e["HoldTime"]), int(e["RingTime"])
        self.check(abs(hold - (_t(e) - self.t0)) <= 1, "AgentConnect HoldTime is not seconds")
        self.check(abs(ring - (_t(e) - self.called[e["DestUniqueid"]])) <= 1, "RingTime seconds")
        expected = [[str(hold), e["DestUniqueid"], str(ring)]]
        self.check([r[5:8] for r in self.records["CONNECT"]] == expected, "CONNECT fields")

    def no_answer(self, e: Event) -> None:
        ms = int(e["RingTime"])
        rung = _t(e) - self.called[e["DestUniqueid"]]
        self.check(abs(ms / 1000 - rung) < 0.05, "AgentRingNoAnswer RingTime is not ms")
        line = next(self.ring_lines, None)
        ok = line is not None and line[5] == str(ms) and line[3] == e["MemberName"]
        self.check(ok, "RINGNOANSWER member|ms")

    def complete(self, e: Event) -> None:
        talk = int(e["TalkTime"])
        lines = self.records["COMPLETEAGENT"] + self.records["COMPLETECALLER"]
        expected = [[e["HoldTime"], str(talk)]]
        self.check([r[5:7] for r in lines] == expected, "COMPLETE* holdtime|calltime")

    def abandon(self, e: Event) -> None:
        hold = int(e["HoldTime"])
        self.check(abs(hold - (_t(e) - self.t0)) <= 1, "QueueCallerAbandon HoldTime seconds")
        lines = self.records["ABANDON"] + self.records["EXITWITHTIMEOUT"]
        expected = [[e["Position"], e["OriginalPosition"], str(hold)]]
        self.check([r[5:8] for r in lines] == expected, "ABANDON/EXIT pos|origpos|waittime")


_VERBS = ("ENTERQUEUE", "CONNECT", "COMPLETEAGENT", "COMPLETECALLER", "RINGNOANSWER",
          "ABANDON", "EXITWITHTIMEOUT")  # fmt: skip


def _t(e: Event) -> float:
    return float(e["Timestamp"])


def exact_shape(call: Call) -> tuple[str, ...]:
    """A call's shape without its ringall losers' hang-ups (checked apart): event names in
    order, which leg hangs up with which cause, AgentComplete's Reason, QUEUESTATUS."""
    return tuple(t for t in call.shape if t != "Hangup(agent,26)")


def base_shape(shape: Sequence[str]) -> tuple[str, ...]:
    """A shape without its ring-no-answer cycles and ringall losers' hang-ups.

    Both are repeated or left out depending on the members and the scenario, not on the call's
    outcome; what remains is the outcome's own sequence (tests check the two parts apart).
    """
    out = [t for t in shape if t != "Hangup(agent,26)"]
    cycle = ["AgentCalled", "AgentRingNoAnswer", "Hangup(agent,0)"]
    i = 0
    while i <= len(out) - len(cycle):
        if out[i : i + len(cycle)] == cycle:
            del out[i : i + len(cycle)]
        else:
            i += 1
    return fold_repeats(out)


def base_verbs(verbs: Sequence[str]) -> tuple[str, ...]:
    return fold_repeats([v for v in verbs if v != "RINGNOANSWER"])


def event_fields(path: Path) -> dict[str, dict[str, str]]:
    """EVENT_FIELDS.md: each event type's fields in order, with their example values."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            current = out.setdefault(line[3:].strip(), {})
        elif line.startswith("- ") and current is not None:
            key, _, value = line[2:].partition(": ")
            current[key] = value.strip("`")
    return out
