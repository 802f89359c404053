"""Turns Asterisk 16 AMI queue events into PBX-neutral rows (collectors/rows.py).

Pure and synchronous: `CallTracker.feed(event, received_at)` returns the rows the event
completes. The AMI connection, the replay tests and the benchmarks all drive this same class.

How an exit is classified (checked on Asterisk 16.28; ../shared/ASTERISK-NOTES.md):
- answered: QueueCallerLeave, then AgentConnect (it comes *after* the leave); the stay is
  written at AgentComplete, whose Reason gives ended_by (caller, agent, transfer).
- abandoned vs timeout: both send QueueCallerAbandon. A real abandon is preceded by the caller
  channel's HangupRequest; a timeout is not (and is followed by VarSet QUEUESTATUS=TIMEOUT).
- exit empty / exit with key: a QueueCallerLeave with no connect or abandon, settled by the
  caller's VarSet QUEUESTATUS (LEAVEEMPTY/LEAVEUNAVAIL, else exit with key) or its Hangup.
Times come from the event's `Timestamp` header (manager.conf `timestampevents=yes`), else
from the time the event was received.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from collectors.rows import (
    ContactState,
    DeviceState,
    MemberState,
    QueueCall,
    RingAttempt,
    Row,
    WaitingCaller,
)

Event = Mapping[str, str]

# QueueMemberStatus "Status" is the device state (enum ast_device_state, 0-8).
DEVICE_STATES = {
    0: "unknown", 1: "not in use", 2: "in use", 3: "busy", 4: "invalid",
    5: "unavailable", 6: "ringing", 7: "ring+in use", 8: "on hold",
}  # fmt: skip
_FINISHED_KEPT = 10_000
_EXIT_STATUS = {"LEAVEEMPTY": "exitempty", "LEAVEUNAVAIL": "exitempty", "TIMEOUT": "timeout"}


@dataclass
class _Stay:
    """A caller's stay in one queue while it is open."""

    queue: str
    call_id: str
    linkedid: str | None
    caller_num: str | None
    caller_name: str | None
    entered_at: datetime
    position: int | None
    gap: bool = False
    caller_hung_up: bool = False
    left_at: datetime | None = None
    answered_at: datetime | None = None
    wait_s: float | None = None
    agent: str | None = None
    interface: str | None = None
    ring_attempts: int = 0
    ringing: dict[str, tuple[str, str | None, datetime]] = field(default_factory=dict)


class CallTracker:
    """Follows queue calls and members of one PBX; see the module docstring for the rules."""

    def __init__(self, pbx: str) -> None:
        self.pbx = pbx
        self._stays: dict[str, _Stay] = {}  # by caller Uniqueid
        self._members: dict[tuple[str, str], MemberState] = {}
        # Stays just written: QueueCallerLeave follows QueueCallerAbandon, and is no orphan.
        self._finished: OrderedDict[str, None] = OrderedDict()
        self.unmatched = 0  # events about a stay we never saw begin (counted, not invented)

    # -- entry point -----------------------------------------------------------------------
    def feed(self, event: Event, received_at: datetime) -> list[Row]:
        """Apply one event; return the rows it completes (possibly none)."""
        handler = _HANDLERS.get(event.get("Event", ""))
        if handler is None:
            return []
        return handler(self, event, _event_time(event, received_at))

    def waiting(self) -> list[_Stay]:
        """Stays still open (waiting or talking), oldest first."""
        return sorted(self._stays.values(), key=lambda s: s.entered_at)

    def settle_after_gap(self, still_waiting: set[str], at: datetime) -> list[Row]:
        """After a (re)connect: every open stay lived through a gap, so it is marked.

        One no longer waiting and never answered ended out of sight: it is closed as unknown
        (never invented). An answered one stays open for its AgentComplete or Hangup.
        """
        rows: list[Row] = []
        for stay in list(self._stays.values()):
            stay.gap = True
            if stay.answered_at is None and stay.call_id not in still_waiting:
                rows.extend(self._finish(stay, "unknown", at, ended_by=None, talk_s=None))
        return rows

    # -- caller events -----------------------------------------------------------------------
    def _join(self, e: Event, at: datetime) -> list[Row]:
        stay = _Stay(
            queue=e.get("Queue", ""),
            call_id=e.get("Uniqueid", ""),
            linkedid=e.get("Linkedid") or None,
            caller_num=_text(e.get("CallerIDNum")),
            caller_name=_text(e.get("CallerIDName")),
            entered_at=at,
            position=_int(e.get("Position")),
        )
        self._stays[stay.call_id] = stay
        return [self._waiting_row(stay, at, present=True)]

    def _leave(self, e: Event, at: datetime) -> list[Row]:
        stay = self._stay(e)
        if stay is None:
            return []
        stay.left_at = at
        return [self._waiting_row(stay, at, present=False)]

    def _abandon(self, e: Event, at: datetime) -> list[Row]:
        stay = self._stay(e)
        if stay is None:
            return []
        outcome = "abandoned" if stay.caller_hung_up else "timeout"
        stay.wait_s = _seconds(stay.entered_at, at)
        return self._finish(stay, outcome, at, ended_by=None, talk_s=None)

    def _hangup_request(self, e: Event, at: datetime) -> list[Row]:
        stay = self._stays.get(e.get("Uniqueid", ""))
        if stay is not None and stay.answered_at is None:
            stay.caller_hung_up = True
        return []

    def _queue_status(self, e: Event, at: datetime) -> list[Row]:
        # VarSet QUEUESTATUS on the caller channel settles a leave without connect or abandon.
        if e.get("Variable") != "QUEUESTATUS":
            return []
        stay = self._stays.get(e.get("Uniqueid", ""))
        if stay is None or stay.left_at is None or stay.answered_at is not None:
            return []
        outcome = _EXIT_STATUS.get(e.get("Value", ""), "exitwithkey")
        stay.wait_s = _seconds(stay.entered_at, stay.left_at)
        return self._finish(stay, outcome, stay.left_at, ended_by=None, talk_s=None)

    def _hangup(self, e: Event, at: datetime) -> list[Row]:
        # The caller channel is gone; a stay still open here left without a known reason.
        stay = self._stays.get(e.get("Uniqueid", ""))
        if stay is None:
            return []
        if stay.answered_at is not None:  # AgentComplete never came: answered, end unknown
            talk = _seconds(stay.answered_at, at)
            return self._finish(stay, "answered", at, ended_by=None, talk_s=talk)
        end = stay.left_at or at
        stay.wait_s = _seconds(stay.entered_at, end)
        return self._finish(stay, "unknown", end, ended_by=None, talk_s=None)

    # -- agent events ------------------------------------------------------------------------
    def _called(self, e: Event, at: datetime) -> list[Row]:
        stay = self._stay(e)
        if stay is None:
            return []
        stay.ring_attempts += 1
        stay.ringing[e.get("DestUniqueid", "")] = (
            e.get("Interface", ""),
            _text(e.get("MemberName")),
            at,
        )
        return []

    def _ring_no_answer(self, e: Event, at: datetime) -> list[Row]:
        stay = self._stay(e)
        if stay is None:
            return []
        interface, name, _ = stay.ringing.pop(e.get("DestUniqueid", ""), ("", None, at))
        ring_s = (_int(e.get("RingTime")) or 0) / 1000.0  # milliseconds here, unlike HoldTime
        return [
            self._attempt(
                stay,
                interface or e.get("Interface", ""),
                name,
                at,
                ring_s,
                "noanswer",
                started=None,
            )
        ]

    def _connect(self, e: Event, at: datetime) -> list[Row]:
        stay = self._stay(e)
        if stay is None:
            return []
        stay.answered_at = at
        stay.wait_s = _seconds(stay.entered_at, at)
        stay.agent = _text(e.get("MemberName"))
        stay.interface = e.get("Interface") or None
        rows: list[Row] = []
        answered = e.get("DestUniqueid", "")
        for dest, (interface, name, started) in stay.ringing.items():
            # ringall: the members who did not answer stop ringing; queue_log does not log them
            result = "answered" if dest == answered else "other_answered"
            rows.append(self._attempt(stay, interface, name, at, None, result, started))
        stay.ringing.clear()
        return rows

    def _complete(self, e: Event, at: datetime) -> list[Row]:
        stay = self._stay(e)
        if stay is None:
            return []
        reason = e.get("Reason", "")
        ended_by = reason if reason in ("agent", "caller", "transfer") else None
        talk = _seconds(stay.answered_at, at) if stay.answered_at else None
        return self._finish(stay, "answered", at, ended_by=ended_by, talk_s=talk)

    # -- members -----------------------------------------------------------------------------
    def _member(self, e: Event, at: datetime) -> list[Row]:
        queue, interface = e.get("Queue", ""), e.get("Interface") or e.get("Location", "")
        if not queue or not interface:
            return []
        key = (queue, interface)
        old = self._members.get(key)
        paused = e.get("Paused") == "1"
        reason = _text(e.get("PausedReason"))
        if paused and reason is None and old is not None and old.paused:
            reason = old.paused_reason  # Asterisk clears it in later status events
        row = MemberState(
            pbx=self.pbx, queue=queue, interface=interface,
            member_name=_text(e.get("MemberName") or e.get("Name")),
            status=_int(e.get("Status")) or 0, paused=paused,
            paused_reason=reason if paused else None, in_call=e.get("InCall") == "1",
            calls_taken=_int(e.get("CallsTaken")) or 0, since=at,
            present=e.get("Event") != "QueueMemberRemoved",
            penalty=_int(e.get("Penalty")) or 0, ringinuse=e.get("Ringinuse") == "1",
            membership=e.get("Membership") or "static",
        )  # fmt: skip
        if old is not None and _same_state(old, row):
            row = replace(row, since=old.since)
            self._members[key] = row
            return [] if row == old else [row]
        self._members[key] = row
        return [row]

    def _device(self, e: Event, at: datetime) -> list[Row]:
        device = e.get("Device", "")
        return [DeviceState(self.pbx, device, e.get("State", ""), at)] if device else []

    def _contact(self, e: Event, at: datetime) -> list[Row]:
        usec = _int(e.get("RoundtripUsec"))
        return [ContactState(self.pbx, e.get("AOR", ""), e.get("URI", ""),
                             e.get("ContactStatus", ""), None if usec is None else usec / 1000,
                             at)]  # fmt: skip

    def _entry(self, e: Event, at: datetime) -> list[Row]:
        # A QueueStatus snapshot's QueueEntry: a caller already waiting when we connected.
        call_id = e.get("Uniqueid", "")
        if not call_id or call_id in self._stays:
            return []
        wait = float(_int(e.get("Wait")) or 0)
        stay = _Stay(
            queue=e.get("Queue", ""), call_id=call_id, linkedid=e.get("Linkedid") or None,
            caller_num=_text(e.get("CallerIDNum")), caller_name=_text(e.get("CallerIDName")),
            entered_at=datetime.fromtimestamp(at.timestamp() - wait, UTC),
            position=_int(e.get("Position")), gap=True,  # its start happened out of sight
        )  # fmt: skip
        self._stays[call_id] = stay
        return [self._waiting_row(stay, at, present=True)]

    # -- helpers -----------------------------------------------------------------------------
    def _stay(self, e: Event) -> _Stay | None:
        # AgentComplete was once seen without the caller's Uniqueid: its Linkedid, or the agent
        # leg's DestLinkedid, is the caller's Uniqueid too.
        stays = self._stays
        stay = (
            stays.get(e.get("Uniqueid", ""))
            or stays.get(e.get("Linkedid", ""))
            or stays.get(e.get("DestLinkedid", ""))
        )
        if stay is None and e.get("Uniqueid", "") not in self._finished:
            self.unmatched += 1
        return stay

    def _finish(
        self, stay: _Stay, outcome: str, at: datetime, ended_by: str | None, talk_s: float | None
    ) -> list[Row]:
        self._stays.pop(stay.call_id, None)
        self._finished[stay.call_id] = None
        if len(self._finished) > _FINISHED_KEPT:
            self._finished.popitem(last=False)
        rows: list[Row] = [
            self._attempt(stay, i, n, at, None, "canceled", s) for i, n, s in stay.ringing.values()
        ]
        if stay.left_at is None:
            rows.append(self._waiting_row(stay, at, present=False))
        rows.append(QueueCall(
            pbx=self.pbx, queue=stay.queue, call_id=stay.call_id, linkedid=stay.linkedid,
            caller_num=stay.caller_num, caller_name=stay.caller_name,
            entered_at=stay.entered_at, position=stay.position, outcome=outcome,
            wait_s=stay.wait_s, answered_at=stay.answered_at, agent=stay.agent,
            interface=stay.interface, talk_s=talk_s, ended_by=ended_by, ended_at=at,
            ring_attempts=stay.ring_attempts, source="ami", gap=stay.gap,
        ))  # fmt: skip
        return rows

    def _attempt(
        self, stay: _Stay, interface: str, name: str | None, at: datetime,
        ring_s: float | None, result: str, started: datetime | None,
    ) -> RingAttempt:  # fmt: skip
        if started is None:
            started = datetime.fromtimestamp(at.timestamp() - (ring_s or 0.0), UTC)
        if ring_s is None:
            ring_s = _seconds(started, at)
        return RingAttempt(
            pbx=self.pbx, queue=stay.queue, call_id=stay.call_id, agent=name,
            interface=interface, started_at=started, ring_s=ring_s, result=result, source="ami",
        )  # fmt: skip

    def _waiting_row(self, stay: _Stay, at: datetime, present: bool) -> WaitingCaller:
        return WaitingCaller(
            pbx=self.pbx, queue=stay.queue, call_id=stay.call_id, caller_num=stay.caller_num,
            caller_name=stay.caller_name, position=stay.position, entered_at=stay.entered_at,
            present=present, seen_at=at,
        )  # fmt: skip


def _same_state(a: MemberState, b: MemberState) -> bool:
    return (a.status, a.paused, a.in_call, a.present) == (b.status, b.paused, b.in_call, b.present)


def _event_time(e: Event, received_at: datetime) -> datetime:
    stamp = e.get("Timestamp")
    if stamp:
        try:
            return datetime.fromtimestamp(float(stamp), UTC)
        except (ValueError, OverflowError, OSError):
            pass
    return received_at


def _seconds(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds(), 6)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _text(value: str | None) -> str | None:
    # Asterisk writes "<unknown>" for an absent caller id.
    return None if value in (None, "", "<unknown>") else value


_HANDLERS = {
    "QueueCallerJoin": CallTracker._join,
    "QueueCallerLeave": CallTracker._leave,
    "QueueCallerAbandon": CallTracker._abandon,
    "HangupRequest": CallTracker._hangup_request,
    "VarSet": CallTracker._queue_status,
    "Hangup": CallTracker._hangup,
    "AgentCalled": CallTracker._called,
    "AgentRingNoAnswer": CallTracker._ring_no_answer,
    "AgentConnect": CallTracker._connect,
    "AgentComplete": CallTracker._complete,
    "QueueMemberStatus": CallTracker._member,
    "QueueMemberAdded": CallTracker._member,
    "QueueMemberRemoved": CallTracker._member,
    "QueueMemberPause": CallTracker._member,
    "QueueMemberPenalty": CallTracker._member,
    "QueueMemberRinginuse": CallTracker._member,
    "DeviceStateChange": CallTracker._device,
    "ContactStatus": CallTracker._contact,
    "QueueMember": CallTracker._member,  # QueueStatus snapshot
    "QueueEntry": CallTracker._entry,  # QueueStatus snapshot
}
# Events that change only the PBX's status (collector.py reads them; no rows of their own).
SYSTEM_EVENTS = frozenset({"FullyBooted", "Shutdown", "Reload"})
# The events the collector asks the PBX for (AMI Filter) and keeps raw.
USED_EVENTS = (frozenset(_HANDLERS) | SYSTEM_EVENTS) - {"QueueMember", "QueueEntry"}
