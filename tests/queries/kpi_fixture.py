"""A small day of two queues whose every KPI is worked out by hand in tests/queries/test_kpis.py.

Monday 2 November 2026, UTC. `support` has eight stays (S1-S8), `sales` four (L1-L4); caller
c3 is answered in support, transferred, and answered again in sales (one caller, two stays).
Members Alice, Bob and Carol have state changes between 06:00 and 10:40; Dave is only rung.

| stay | queue   | entered  | outcome     | wait | talk | agent | ended_by | position |
|------|---------|----------|-------------|------|------|-------|----------|----------|
| S1   | support | 08:00:00 | answered    | 5    | 100  | Alice | agent    | 1        |
| S2   | support | 08:05:00 | answered    | 20   | 200  | Bob   | caller   | 2        |
| S3   | support | 08:10:00 | answered    | 30   | 60   | Alice | transfer | 1        |
| S4   | support | 08:20:00 | abandoned   | 3    |      |       |          | 2        |
| S5   | support | 08:40:00 | abandoned   | 40   |      |       |          | 3        |
| S6   | support | 09:10:00 | timeout     | 60   |      |       |          | 1        |
| S7   | support | 09:20:00 | exitwithkey | 12   |      |       |          | 1        |
| S8   | support | 09:30:00 | unknown     | ?    |      |       |          | ?        |
| L1   | sales   | 08:11:30 | answered    | 10   | 90   | Carol | agent    | 1        |
| L2   | sales   | 08:30:00 | answered    | 25   | 180  | Carol | agent    | 1        |
| L3   | sales   | 09:05:00 | exitempty   | 2    |      |       |          | 1        |
| L4   | sales   | 09:45:00 | abandoned   | 5    |      |       |          | 2        |
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collectors.rows import MemberState, QueueCall, RingAttempt
from storage.store import Store

DAY = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def at(hhmmss: str) -> datetime:
    """That time of the fixture's day, UTC."""
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return DAY + timedelta(hours=h, minutes=m, seconds=s)


# call_id, queue, entered, outcome, wait_s, talk_s, agent, ended_by, position
Stay = tuple[str, str, str, str, float | None, float | None, str | None, str | None, int | None]
STAYS: list[Stay] = [
    ("s1", "support", "08:00:00", "answered", 5, 100, "Alice", "agent", 1),
    ("s2", "support", "08:05:00", "answered", 20, 200, "Bob", "caller", 2),
    ("c3", "support", "08:10:00", "answered", 30, 60, "Alice", "transfer", 1),
    ("s4", "support", "08:20:00", "abandoned", 3, None, None, None, 2),
    ("s5", "support", "08:40:00", "abandoned", 40, None, None, None, 3),
    ("s6", "support", "09:10:00", "timeout", 60, None, None, None, 1),
    ("s7", "support", "09:20:00", "exitwithkey", 12, None, None, None, 1),
    ("s8", "support", "09:30:00", "unknown", None, None, None, None, None),
    ("c3", "sales", "08:11:30", "answered", 10, 90, "Carol", "agent", 1),
    ("l2", "sales", "08:30:00", "answered", 25, 180, "Carol", "agent", 1),
    ("l3", "sales", "09:05:00", "exitempty", 2, None, None, None, 1),
    ("l4", "sales", "09:45:00", "abandoned", 5, None, None, None, 2),
]  # fmt: skip

# queue, call_id, agent, started, result
RINGS = [
    ("support", "s1", "Alice", "08:00:03", "answered"),
    ("support", "s2", "Alice", "08:05:02", "noanswer"),
    ("support", "s2", "Bob", "08:05:15", "answered"),
    ("support", "c3", "Alice", "08:10:25", "answered"),
    ("support", "s5", "Bob", "08:40:05", "noanswer"),
    ("support", "s6", "Bob", "09:10:05", "noanswer"),
    ("sales", "c3", "Carol", "08:11:35", "answered"),
    ("sales", "l2", "Carol", "08:30:20", "answered"),
    ("sales", "l2", "Dave", "08:30:20", "other_answered"),
    ("sales", "l4", "Carol", "09:45:01", "canceled"),
]

# In the order written (member_states is a changelog read by arrival):
# interface, name, queue, since, present, paused, reason
MEMBERS = [
    ("PJSIP/1001", "Alice", "support", "07:30:00", True, False, None),
    ("PJSIP/1001", "Alice", "sales", "08:00:00", True, False, None),
    ("PJSIP/1001", "Alice", "support", "09:00:00", True, True, "Lunch"),
    ("PJSIP/1001", "Alice", "sales", "09:00:00", True, True, "Lunch"),
    ("PJSIP/1001", "Alice", "support", "09:30:00", True, False, None),
    ("PJSIP/1001", "Alice", "sales", "09:30:00", True, False, None),
    ("PJSIP/1001", "Alice", "sales", "10:30:00", False, False, None),  # removed from sales
    ("PJSIP/1002", "Bob", "support", "06:00:00", True, False, None),  # before the range
    ("PJSIP/1002", "Bob", "support", "08:00:00", True, True, None),  # a pause without reason
    ("PJSIP/1002", "Bob", "support", "08:10:00", True, True, "Training"),
    ("PJSIP/1002", "Bob", "support", "08:10:00", True, True, "Training"),  # same state again
    ("PJSIP/1002", "Bob", "support", "08:40:00", True, False, None),
    ("PJSIP/1002", "Bob", "support", "10:00:00", False, False, None),  # logged off
    ("PJSIP/1003", "Carol", "support", "07:00:00", True, False, None),
    ("PJSIP/1003", "Carol", "sales", "07:00:00", True, False, None),
    ("PJSIP/1003", "Carol", "sales", "08:00:00", True, True, "Admin"),  # paused in sales only
    ("PJSIP/1003", "Carol", "support", "10:00:00", True, True, "Admin"),  # now in both
]


# Position when the caller hung up (abandoned stays), as QueueCallerAbandon reports it.
LEFT_POSITION = {"s4": 1, "s5": 2, "l4": 1}


def put_day(store: Store) -> None:
    """Write the fixture's stays, ring attempts and member states, and wait until written."""
    for call_id, queue, entered, outcome, wait, talk, agent, ended_by, position in STAYS:
        start = at(entered)
        answered_at = start + timedelta(seconds=wait) if agent and wait is not None else None
        ended_at = start + timedelta(seconds=(wait or 0) + (talk or 0))
        store.put(QueueCall(
            pbx="p", queue=queue, call_id=call_id, linkedid=call_id, caller_num="555",
            caller_name=None, entered_at=start, position=position, outcome=outcome,
            wait_s=wait, answered_at=answered_at, agent=agent,
            interface=None, talk_s=talk, ended_by=ended_by,
            ended_at=None if outcome == "unknown" else ended_at, ring_attempts=0,
            source="queue_log", gap=outcome == "unknown",
            left_position=LEFT_POSITION.get(call_id),
        ))  # fmt: skip
    for queue, call_id, agent, started, result in RINGS:
        store.put(RingAttempt("p", queue, call_id, agent, "", at(started), 5.0, result, "ami"))
    for interface, name, queue, since, present, paused, reason in MEMBERS:
        store.put(MemberState(
            pbx="p", queue=queue, interface=interface, member_name=name, status=1,
            paused=paused, paused_reason=reason, in_call=False, calls_taken=0,
            since=at(since), present=present, penalty=0, ringinuse=False,
            membership="dynamic",
        ))  # fmt: skip
    store.flush()
