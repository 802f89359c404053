"""The PBX-neutral rows a connector produces and the store writes.

A connector (the Asterisk AMI collector today, another PBX kind later) turns its protocol into
these frozen dataclasses; storage and queries know nothing else. Each class maps to one table in
`storage/schema.sql` with the same column names in the same order (`TABLE` names it).

Times are timezone-aware UTC datetimes; durations are float seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

# Outcomes of a caller's stay in one queue, as queue_log names the exit (see docs/kpis.md).
OUTCOMES = ("answered", "abandoned", "timeout", "exitempty", "exitwithkey", "unknown")
ENDED_BY = ("agent", "caller", "transfer")


@dataclass(frozen=True, slots=True)
class QueueCall:
    """One caller's stay in one queue, written once when it is over.

    `call_id` is the caller channel's Uniqueid (queue_log's callid). `wait_s` runs to the answer
    or, for a lost call, to the moment the caller left; `position` is the one at entry,
    `left_position` the one at leaving (lost calls). `gap` is true when the call was in
    progress while the collector could not see the PBX, so part of it is unknown.
    """

    TABLE: ClassVar[str] = "queue_calls"

    pbx: str
    queue: str
    call_id: str
    linkedid: str | None
    caller_num: str | None
    caller_name: str | None
    entered_at: datetime
    position: int | None
    outcome: str
    wait_s: float | None
    answered_at: datetime | None
    agent: str | None
    interface: str | None
    talk_s: float | None
    ended_by: str | None
    ended_at: datetime | None
    ring_attempts: int
    source: str
    gap: bool = False
    # The caller's position when it left unanswered (QueueCallerAbandon / QueueCallerLeave
    # Position, queue_log's exit verbs); None for an answered stay or when not known.
    left_position: int | None = None


@dataclass(frozen=True, slots=True)
class RingAttempt:
    """One member rung for one queue caller (AgentCalled to its answer or no-answer)."""

    TABLE: ClassVar[str] = "ring_attempts"

    pbx: str
    queue: str
    call_id: str
    agent: str | None
    interface: str
    started_at: datetime
    ring_s: float | None
    # answered | noanswer | canceled (caller left) | other_answered (ringall) | dumped
    result: str
    source: str


@dataclass(frozen=True, slots=True)
class MemberState:
    """A queue member's state as last seen; the live board reads the newest row per member."""

    TABLE: ClassVar[str] = "member_states"

    pbx: str
    queue: str
    interface: str
    member_name: str | None
    status: int  # Asterisk device status 0-8 (AST_DEVICE_*)
    paused: bool
    paused_reason: str | None
    in_call: bool
    calls_taken: int
    since: datetime  # when this state (status, paused, in call, present) began
    present: bool  # false once the member is removed from the queue
    penalty: int
    ringinuse: bool
    membership: str  # static | dynamic | realtime (| unknown, from queue_log only)
    # ami | queue_log (storage/presence.py): last, like its column, which files made before it
    # existed get at the end (storage/schema.sql).
    source: str = "ami"


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    """A caller waiting in a queue now; `present=False` removes it from the live view."""

    TABLE: ClassVar[str] = "waiting_callers"

    pbx: str
    queue: str
    call_id: str
    caller_num: str | None
    caller_name: str | None
    position: int | None
    entered_at: datetime
    present: bool
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A device's state change (AMI DeviceStateChange), e.g. PJSIP/1001 NOT_INUSE."""

    TABLE: ClassVar[str] = "device_states"

    pbx: str
    device: str
    state: str
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class ContactState:
    """A SIP contact's reachability (AMI ContactStatus), with its qualify round trip."""

    TABLE: ClassVar[str] = "contact_states"

    pbx: str
    aor: str
    uri: str
    status: str  # Reachable | Unreachable | NonQualified | Removed | Created | ...
    rtt_ms: float | None
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class QueueParams:
    """A queue's parameters and app_queue counters as QueueStatus reported them (QueueParams).

    `servicelevel` is the queue's queues.conf threshold (0 when not set): the default the
    service-level KPIs take for the queue. Counters run from Asterisk's last QueueReset or
    restart; `holdtime` and `talktime` are its moving averages, not means.
    """

    TABLE: ClassVar[str] = "queue_params"

    pbx: str
    queue: str
    seen_at: datetime
    servicelevel: int | None
    max: int | None
    strategy: str | None
    calls: int | None
    holdtime: int | None
    talktime: int | None
    completed: int | None
    abandoned: int | None
    sl_perf: float | None  # ServicelevelPerf
    sl_perf2: float | None  # ServicelevelPerf2
    weight: int | None


@dataclass(frozen=True, slots=True)
class RawEvent:
    """An AMI event the collector used, kept compact for audits and replays."""

    TABLE: ClassVar[str] = "raw_events"

    pbx: str
    session_id: int
    received_at: datetime
    event: str
    uniqueid: str | None
    payload: str  # the event as received: "Key: Value" lines


@dataclass(frozen=True, slots=True)
class ConnectionSession:
    """One AMI connection (or a failed attempt): the gaps between sessions are visible."""

    TABLE: ClassVar[str] = "connection_sessions"

    pbx: str
    session_id: int
    started_at: datetime
    ended_at: datetime | None
    state: str  # connected | closed | auth_failed | unreachable
    detail: str | None


Row = (
    QueueCall
    | RingAttempt
    | MemberState
    | WaitingCaller
    | DeviceState
    | ContactState
    | QueueParams
    | RawEvent
    | ConnectionSession
)
ROW_TYPES: tuple[type[Row], ...] = (
    QueueCall,
    RingAttempt,
    MemberState,
    WaitingCaller,
    DeviceState,
    ContactState,
    QueueParams,
    RawEvent,
    ConnectionSession,
)
