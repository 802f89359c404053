"""The tracker's exit rules on the caller-channel event sequences Asterisk 16.28 sends for each
outcome (seen live in tests/collectors/test_outcomes_lab.py; app_queue.c queue_exec), and on
the orders that rule must survive: a caller who hangs up without a HangupRequest, who goes on
to another queue, whose QUEUESTATUS is left over from an earlier Queue()."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.rows import QueueCall, RingAttempt, Row
from collectors.tracker import CallTracker

CALLER = "1795697291.0"
START = 1795697291.0


def event(name: str, at: float, **fields: str) -> dict[str, str]:
    """One AMI event of the caller channel, `at` seconds after the caller joined."""
    base = {"Event": name, "Uniqueid": CALLER, "Linkedid": CALLER, "Queue": "support"}
    return {**base, "Timestamp": f"{START + at:.6f}", **fields}


def status(value: str, at: float) -> dict[str, str]:
    return event("VarSet", at, Variable="QUEUESTATUS", Value=value)


JOIN = event("QueueCallerJoin", 0.0, CallerIDNum="74001", Position="1")


def run(*events: dict[str, str]) -> tuple[list[QueueCall], CallTracker]:
    tracker = CallTracker("lab")
    rows: list[Row] = []
    for e in events:
        rows.extend(tracker.feed(e, datetime.now(UTC)))
    return [r for r in rows if isinstance(r, QueueCall)], tracker


def outcome(*events: dict[str, str]) -> tuple[str, float | None]:
    calls, tracker = run(*events)
    assert len(calls) == 1 and tracker.waiting() == [] and tracker.unmatched == 0
    return calls[0].outcome, calls[0].wait_s


@pytest.mark.parametrize(
    ("value", "expected"), [("TIMEOUT", "timeout"), ("LEAVEEMPTY", "exitempty")]
)
def test_abandon_event_then_queuestatus(value: str, expected: str) -> None:
    # timeout and exit empty: QueueCallerAbandon, QueueCallerLeave, then QUEUESTATUS
    got = outcome(
        JOIN,
        event("QueueCallerAbandon", 6.0),
        event("QueueCallerLeave", 6.001),
        status(value, 6.002),
        event("Hangup", 6.5),
    )
    assert got == (expected, 6.0)


def test_abandon_after_hangup_request_is_written_at_once() -> None:
    calls, tracker = run(
        JOIN, event("HangupRequest", 2.5, Cause="127"), event("QueueCallerAbandon", 2.51)
    )
    assert [(c.outcome, c.wait_s) for c in calls] == [("abandoned", 2.51)]
    assert tracker.waiting() == []


def test_abandon_without_hangup_request_and_no_queuestatus_is_an_abandon() -> None:
    # e.g. the channel hung up from the CLI or AMI (SoftHangupRequest, not HangupRequest):
    # app_queue logs ABANDON and sets no QUEUESTATUS
    got = outcome(
        JOIN,
        event("QueueCallerAbandon", 3.0),
        event("QueueCallerLeave", 3.001),
        event("Hangup", 3.1),
    )
    assert got == ("abandoned", 3.0)


def test_leave_with_no_abandon_and_no_connect_is_an_exit_with_key() -> None:
    calls, tracker = run(
        JOIN,
        event("DTMFEnd", 1.5, Digit="1", Direction="Received"),
        event("QueueCallerLeave", 1.51),
    )
    assert calls == [] and len(tracker.waiting()) == 1  # AgentConnect could still follow
    got = outcome(
        JOIN,
        event("DTMFEnd", 1.5, Digit="1", Direction="Received"),
        event("QueueCallerLeave", 1.51),
        event("Hangup", 2.6),
    )
    assert got == ("exitwithkey", 1.51)


def test_joining_another_queue_settles_the_previous_stay() -> None:
    calls, tracker = run(
        JOIN,
        event("QueueCallerLeave", 1.5),
        event("QueueCallerJoin", 1.6, Queue="sales", CallerIDNum="74001", Position="1"),
    )
    assert [(c.queue, c.outcome, c.wait_s) for c in calls] == [("support", "exitwithkey", 1.5)]
    assert [s.queue for s in tracker.waiting()] == ["sales"]


def test_leave_then_connect_is_answered() -> None:
    got = outcome(
        JOIN,
        event("QueueCallerLeave", 4.0),
        event("AgentConnect", 4.001, MemberName="Alice", DestUniqueid="1795697291.2"),
        event("AgentComplete", 9.0, Reason="transfer", MemberName="Alice"),
    )
    assert got == ("answered", 4.001)


def test_queuestatus_left_from_an_earlier_queue_settles_nothing() -> None:
    calls, tracker = run(JOIN, status("TIMEOUT", 0.5))
    assert calls == [] and len(tracker.waiting()) == 1


CONNECT = event(
    "AgentConnect", 0.5, Queue="sales", Interface="PJSIP/1003", MemberName="Carol",
    DestUniqueid="1795697291.1",
)  # fmt: skip
SALES_JOIN = event("QueueCallerJoin", 0.0, Queue="sales", CallerIDNum="74001", Position="1")


def test_agent_complete_after_the_hangup_without_channel_fields() -> None:
    # Seen live: both channels were gone when app_queue published AgentComplete, so it came
    # after the caller's Hangup and carried neither Uniqueid, Linkedid nor DestUniqueid.
    late = {
        "Event": "AgentComplete", "Queue": "sales", "Interface": "PJSIP/1003",
        "MemberName": "Carol", "Reason": "agent", "Timestamp": f"{START + 3.6:.6f}",
    }  # fmt: skip
    calls, tracker = run(
        SALES_JOIN,
        event("QueueCallerLeave", 0.5, Queue="sales"),
        CONNECT,
        event("Hangup", 3.5),
        late,
    )
    assert [(c.outcome, c.agent, c.ended_by, c.talk_s) for c in calls] == [
        ("answered", "Carol", "agent", 3.1)
    ]
    assert tracker.waiting() == [] and tracker.unmatched == 0


def test_answered_stay_without_agent_complete_is_written_after_the_grace() -> None:
    hung_up = (SALES_JOIN, event("QueueCallerLeave", 0.5, Queue="sales"), CONNECT)
    calls, _ = run(*hung_up, event("Hangup", 3.5), event("QueueMemberStatus", 4.0))
    assert calls == []  # AgentComplete may still come
    calls, tracker = run(*hung_up, event("Hangup", 3.5), event("QueueMemberStatus", 5.6))
    assert [(c.outcome, c.ended_by, c.talk_s) for c in calls] == [("answered", None, 3.0)]
    assert calls[0].ended_at is not None and calls[0].ended_at.timestamp() == START + 3.5
    assert tracker.waiting() == []


def test_close_gone_writes_answered_stays_whose_caller_left_in_a_gap() -> None:
    calls, tracker = run(SALES_JOIN, event("QueueCallerLeave", 0.5, Queue="sales"), CONNECT)
    assert tracker.close_gone({CALLER}, datetime.now(UTC)) == []  # still up: kept open
    rows = tracker.close_gone(set(), datetime.now(UTC))
    calls = [r for r in rows if isinstance(r, QueueCall)]
    assert [(c.outcome, c.agent, c.gap, c.talk_s, c.ended_by, c.ended_at) for c in calls] == [
        ("answered", "Carol", True, None, None, None)
    ]
    assert tracker.waiting() == []


def test_agent_dump_is_a_ring_attempt_and_the_caller_keeps_waiting() -> None:
    # The member picks up, hangs up during the announcement (AgentDump), Bob answers later.
    tracker = CallTracker("lab")
    rows: list[Row] = []
    for e in (
        JOIN,
        event("AgentCalled", 1.0, DestUniqueid="9.1", Interface="PJSIP/1001", MemberName="Alice"),
        event("AgentDump", 3.0, DestUniqueid="9.1", Interface="PJSIP/1001", MemberName="Alice"),
        event("AgentCalled", 5.0, DestUniqueid="9.2", Interface="PJSIP/1002", MemberName="Bob"),
        event("QueueCallerLeave", 6.0),
        event("AgentConnect", 6.0, DestUniqueid="9.2", Interface="PJSIP/1002", MemberName="Bob"),
        event(
            "AgentComplete",
            9.0,
            DestUniqueid="9.2",
            Interface="PJSIP/1002",
            MemberName="Bob",
            Reason="agent",
        ),
    ):
        rows.extend(tracker.feed(e, datetime.now(UTC)))
    (call,) = [r for r in rows if isinstance(r, QueueCall)]
    attempts = [(r.agent, r.result, r.ring_s) for r in rows if isinstance(r, RingAttempt)]
    assert (call.outcome, call.agent, call.ring_attempts, call.wait_s) == (
        "answered",
        "Bob",
        2,
        6.0,
    )
    assert attempts == [("Alice", "dumped", 2.0), ("Bob", "answered", 1.0)]
