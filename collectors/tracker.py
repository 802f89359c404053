"""Turns Asterisk 16 AMI queue events into PBX-neutral rows (collectors/rows.py).

Pure and synchronous: `CallTracker.feed(event, received_at)` returns the rows the event
completes. The AMI connection, the replay tests and the benchmarks all drive this same class.

How an exit is classified, as Asterisk 16.28's app_queue.c queue_exec() ends a stay (checked
against that source and call by call against queue_log in tests/collectors/test_outcomes_lab.py;
../shared/ASTERISK-NOTES.md):
- answered: QueueCallerLeave, then AgentConnect (it comes *after* the leave); the stay is
  written at AgentComplete, whose Reason gives ended_by (caller, agent, transfer; a blind
  transfer of the agent's channel is "transfer", queue_log BLINDTRANSFER). AgentComplete can
  come just *after* the caller's Hangup, and then without any channel field (app_queue looks
  the snapshots up once both channels are gone): it is matched by Queue + Interface, and an
  answered stay whose caller hung up waits COMPLETE_GRACE_S of event time for it.
- abandoned, timeout and exit empty all send QueueCallerAbandon (record_abandoned()), then
  QueueCallerLeave. Only a timeout and an exit empty then set the caller's QUEUESTATUS
  (VarSet QUEUESTATUS=TIMEOUT, =LEAVEEMPTY), before Queue() returns; an abandon sets none. So
  QUEUESTATUS settles the first two, and an abandoned stay is written either at once, when the
  caller's HangupRequest came before the abandon (a CANCEL or BYE), or when the caller's
  channel hangs up (or joins a queue again) without any QUEUESTATUS.
- exit with key: the caller's DTMFEnd, then QueueCallerLeave with *no* QueueCallerAbandon
  before it; no QUEUESTATUS is set at all, and Queue() returns into the queue's `context` at
  the digit's extension. A leave with no abandon that AgentConnect does not follow is one; it
  is written when the caller's channel hangs up or joins a queue again.
Times come from the event's `Timestamp` header (manager.conf `timestampevents=yes`), else
from the time the event was received.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from collectors.members import MemberTracker
from collectors.members import as_int as _int
from collectors.members import as_text as _text
from collectors.rows import QueueCall, RingAttempt, Row, WaitingCaller

Event = Mapping[str, str]

_FINISHED_KEPT = 10_000
# How long (event time) an answered stay whose caller hung up waits for a late AgentComplete.
COMPLETE_GRACE_S = 2.0
# QUEUESTATUS values that settle a stay after QueueCallerAbandon (app_queue set_queue_result).
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
    left_position: int | None = None  # QueueCallerAbandon's, else QueueCallerLeave's
    caller_hung_up: bool = False
    abandoned_at: datetime | None = None  # QueueCallerAbandon seen; QUEUESTATUS says why
    left_at: datetime | None = None
    answered_at: datetime | None = None
    hung_up_at: datetime | None = None  # answered, caller gone, AgentComplete not yet seen
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
        self.members = MemberTracker(pbx)
        # Stays just written: QueueCallerLeave follows QueueCallerAbandon, and is no orphan.
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._hung_up: dict[str, _Stay] = {}  # answered stays waiting for a late AgentComplete
        self.unmatched = 0  # events about a stay we never saw begin (counted, not invented)

    # -- entry point -----------------------------------------------------------------------
    def feed(self, event: Event, received_at: datetime) -> list[Row]:
        """Apply one event; return the rows it completes (possibly none)."""
        at = _event_time(event, received_at)
        rows = self._expire_hung_up(at) if self._hung_up else []
        handler = _HANDLERS.get(event.get("Event", ""))
        if handler is not None:
            rows.extend(handler(self, event, at))
        return rows

    def open_keys(self) -> frozenset[tuple[str, str]]:
        """(queue, call id) of every stay not written yet, answered ones included."""
        stays = [*self._stays.values(), *self._hung_up.values()]
        return frozenset((s.queue, s.call_id) for s in stays)

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

    def close_gone(self, live: set[str], at: datetime) -> list[Row]:
        """After a gap: answered stays whose caller channel is no longer up (its Uniqueid not
        in `live`, e.g. from CoreShowChannels) ended out of sight. They are written answered
        and gap, with what is not known left empty: talk_s, ended_by and ended_at."""
        rows: list[Row] = []
        for stay in list(self._stays.values()):
            if stay.answered_at is not None and stay.call_id not in live:
                stay.gap = True
                rows.extend(self._finish(stay, "answered", at, None, None, end_known=False))
        return rows

    # -- caller events -----------------------------------------------------------------------
    def _join(self, e: Event, at: datetime) -> list[Row]:
        # The same channel joining again (the dialplan went on to another Queue()) proves
        # that its previous stay is over.
        old = self._stays.get(e.get("Uniqueid", ""))
        rows = self._close_unsettled(old, at) if old is not None else []
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
        return [*rows, self._waiting_row(stay, at, present=True)]

    def _leave(self, e: Event, at: datetime) -> list[Row]:
        stay = self._stay(e)
        if stay is None:
            return []
        stay.left_at = at
        if stay.left_position is None:  # after QueueCallerAbandon it is the same caller
            stay.left_position = _int(e.get("Position"))
        return [self._waiting_row(stay, at, present=False)]

    def _abandon(self, e: Event, at: datetime) -> list[Row]:
        # Sent for an abandon, a timeout and an exit empty alike. The caller's hang-up
        # request before it makes it an abandon now; otherwise QUEUESTATUS will tell.
        stay = self._stay(e)
        if stay is None:
            return []
        stay.abandoned_at = at
        stay.left_position = _int(e.get("Position"))
        stay.wait_s = _seconds(stay.entered_at, at)
        if stay.caller_hung_up:
            return self._finish(stay, "abandoned", at, ended_by=None, talk_s=None)
        return []

    def _hangup_request(self, e: Event, at: datetime) -> list[Row]:
        stay = self._stays.get(e.get("Uniqueid", ""))
        if stay is not None and stay.answered_at is None:
            stay.caller_hung_up = True
        return []

    def _queue_status(self, e: Event, at: datetime) -> list[Row]:
        # VarSet QUEUESTATUS on the caller channel, set as Queue() returns: TIMEOUT or
        # LEAVEEMPTY settle a stay that QueueCallerAbandon ended. Other values (CONTINUE after
        # an answered call, WITHDRAW) settle nothing here.
        if e.get("Variable") != "QUEUESTATUS":
            return []
        stay = self._stays.get(e.get("Uniqueid", ""))
        outcome = _EXIT_STATUS.get(e.get("Value", ""))
        if stay is None or outcome is None or stay.answered_at is not None:
            return []
        end = stay.abandoned_at or stay.left_at
        if end is None:  # still waiting: a QUEUESTATUS left over from an earlier Queue()
            return []
        stay.wait_s = _seconds(stay.entered_at, end)
        return self._finish(stay, outcome, end, ended_by=None, talk_s=None)

    def _hangup(self, e: Event, at: datetime) -> list[Row]:
        # The caller channel is gone: every stay it still had open is over.
        stay = self._stays.get(e.get("Uniqueid", ""))
        if stay is None:
            return []
        if stay.answered_at is not None:  # AgentComplete may still come: _expire_hung_up
            if stay.hung_up_at is None:
                stay.hung_up_at = at
                self._hung_up[stay.call_id] = stay
            return []
        return self._close_unsettled(stay, at)

    def _close_unsettled(self, stay: _Stay, at: datetime) -> list[Row]:
        """A stay still open when its caller hangs up or joins a queue again: what it was
        waiting for did not come, and that settles it (see the module docstring)."""
        if stay.answered_at is not None:  # AgentComplete never came: answered, end unknown
            end = stay.hung_up_at or at
            talk = _seconds(stay.answered_at, end)
            return self._finish(stay, "answered", end, ended_by=None, talk_s=talk)
        if stay.abandoned_at is not None:  # no QUEUESTATUS: neither a timeout nor exit empty
            outcome, end = "abandoned", stay.abandoned_at
        elif stay.left_at is not None:  # left with no abandon and no connect: a key
            outcome, end = "exitwithkey", stay.left_at
        else:  # never seen leaving
            outcome, end = "unknown", at
        stay.wait_s = _seconds(stay.entered_at, end)
        return self._finish(stay, outcome, end, ended_by=None, talk_s=None)

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

    def _dump(self, e: Event, at: datetime) -> list[Row]:
        # AgentDump: the member answered, then hung up during the member announcement, before
        # the bridge. app_queue logs AGENTDUMP instead of CONNECT and the caller keeps waiting,
        # so it is one more ring attempt, not an end of the stay (storage/queue_log.py agrees).
        stay = self._stay(e)
        if stay is None:
            return []
        interface, name, started = stay.ringing.pop(e.get("DestUniqueid", ""), ("", None, at))
        interface = interface or e.get("Interface", "")
        name = name or _text(e.get("MemberName"))
        return [self._attempt(stay, interface, name, at, None, "dumped", started=started)]

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
        stay = self._find(e) or self._talking_to(e)
        if stay is None:
            self._count_unmatched(e)
            return []
        reason = e.get("Reason", "")
        ended_by = reason if reason in ("agent", "caller", "transfer") else None
        talk = _seconds(stay.answered_at, at) if stay.answered_at else None
        return self._finish(stay, "answered", at, ended_by=ended_by, talk_s=talk)

    # -- members (collectors/members.py) ---------------------------------------------------
    def _member(self, e: Event, at: datetime) -> list[Row]:
        return self.members.member(e, at)

    def _device(self, e: Event, at: datetime) -> list[Row]:
        return self.members.device(e, at)

    def _contact(self, e: Event, at: datetime) -> list[Row]:
        return self.members.contact(e, at)

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
        stay = self._find(e)
        if stay is None:
            self._count_unmatched(e)
        return stay

    def _find(self, e: Event) -> _Stay | None:
        # AgentComplete was once seen without the caller's Uniqueid: its Linkedid, or the agent
        # leg's DestLinkedid, is the caller's Uniqueid too.
        stays = self._stays
        return (
            stays.get(e.get("Uniqueid", ""))
            or stays.get(e.get("Linkedid", ""))
            or stays.get(e.get("DestLinkedid", ""))
        )

    def _count_unmatched(self, e: Event) -> None:
        if e.get("Uniqueid", "") not in self._finished:
            self.unmatched += 1

    def _talking_to(self, e: Event) -> _Stay | None:
        """The answered stay of this queue and member: for an AgentComplete that came without
        any channel field. A caller who already hung up goes first, then the oldest answer."""
        queue, interface = e.get("Queue", ""), e.get("Interface", "")
        talking = [
            s for s in self._stays.values()
            if s.answered_at is not None and (s.queue, s.interface) == (queue, interface)
        ]  # fmt: skip
        if not talking:
            return None
        return min(talking, key=lambda s: (s.hung_up_at is None, s.answered_at))

    def _expire_hung_up(self, at: datetime) -> list[Row]:
        """Answered stays whose caller hung up COMPLETE_GRACE_S ago with no AgentComplete:
        written as answered, who ended the call unknown."""
        rows: list[Row] = []
        for stay in list(self._hung_up.values()):
            if stay.hung_up_at is None or _seconds(stay.hung_up_at, at) >= COMPLETE_GRACE_S:
                rows.extend(self._close_unsettled(stay, at))
        return rows

    def _finish(
        self, stay: _Stay, outcome: str, at: datetime, ended_by: str | None,
        talk_s: float | None, end_known: bool = True,
    ) -> list[Row]:  # fmt: skip
        self._stays.pop(stay.call_id, None)
        self._hung_up.pop(stay.call_id, None)
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
            interface=stay.interface, talk_s=talk_s, ended_by=ended_by,
            ended_at=at if end_known else None,
            ring_attempts=stay.ring_attempts, source="ami", gap=stay.gap,
            left_position=None if outcome == "answered" else stay.left_position,
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


_HANDLERS = {
    "QueueCallerJoin": CallTracker._join,
    "QueueCallerLeave": CallTracker._leave,
    "QueueCallerAbandon": CallTracker._abandon,
    "HangupRequest": CallTracker._hangup_request,
    "VarSet": CallTracker._queue_status,
    "Hangup": CallTracker._hangup,
    "AgentCalled": CallTracker._called,
    "AgentRingNoAnswer": CallTracker._ring_no_answer,
    "AgentDump": CallTracker._dump,
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
