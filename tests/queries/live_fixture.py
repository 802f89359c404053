"""A hand-worked live picture: two queues, five agents, two callers waiting, today's calls.

Everything is dated relative to now (the live queries measure waits at query time), inside
today (UTC). Worked figures, support queue, today: offered 5 (c1-c5; the call of yesterday
is not today), answered 3 (c1, c2, c5), abandoned 2 (c3, c4); within 20 s: c1 (10 s) and c5
(5 s), so SL 2/3 = 66.7 % (below the 80 % target); ASA (10 + 30 + 5) / 3 = 15 s. Waiting:
9.1 (30 s, beyond the 20 s threshold) and 9.2 (5 s). Agents: Alice on call (in support and
sales, talking to 777 Zed from sales), Bob paused "lunch" for 1,000 s (beyond the 900 s pause
threshold), Carol available, Dan unavailable, Eve ringing. Call back: 602 (abandoned after 40
s, never answered); 603 abandoned and was answered later (called back).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collectors.rows import MemberState, QueueCall, RingAttempt, WaitingCaller
from storage.store import Store


def now_inside_today() -> datetime:
    """Now, skipping the test in the first 20 minutes of a UTC day (the seed reaches back 17)."""
    now = datetime.now(UTC)
    if now - now.replace(hour=0, minute=0, second=0, microsecond=0) < timedelta(minutes=20):
        pytest.skip("the seed needs 20 minutes of today behind it")
    return now


def member(
    queue: str, interface: str, name: str, status: int, since: datetime, *,
    paused: bool = False, reason: str | None = None, in_call: bool = False,
) -> MemberState:  # fmt: skip
    return MemberState(
        pbx="p", queue=queue, interface=interface, member_name=name, status=status,
        paused=paused, paused_reason=reason, in_call=in_call, calls_taken=0, since=since,
        present=True, penalty=0, ringinuse=False, membership="static",
    )  # fmt: skip


def call(
    call_id: str, num: str, entered: datetime, outcome: str, wait: float,
    talk: float | None = None, interface: str | None = None,
) -> QueueCall:  # fmt: skip
    answered = outcome == "answered"
    return QueueCall(
        pbx="p", queue="support", call_id=call_id, linkedid=None, caller_num=num,
        caller_name=None, entered_at=entered, position=1, outcome=outcome, wait_s=wait,
        answered_at=entered + timedelta(seconds=wait) if answered else None,
        agent=interface, interface=interface, talk_s=talk, ended_by="agent" if answered else None,
        ended_at=entered + timedelta(seconds=wait + (talk or 0)), ring_attempts=1, source="ami",
    )  # fmt: skip


def seed(store: Store, now: datetime) -> None:
    def ago(seconds: float) -> datetime:
        return now - timedelta(seconds=seconds)

    for row in (
        member("support", "PJSIP/1001", "Alice", 2, ago(120), in_call=True),
        member("sales", "PJSIP/1001", "Alice", 2, ago(120), in_call=True),
        member("support", "PJSIP/1002", "Bob", 1, ago(1000), paused=True, reason="lunch"),
        member("support", "PJSIP/1003", "Carol", 1, ago(60)),
        member("support", "PJSIP/1004", "Dan", 5, ago(60)),
        member("support", "PJSIP/1005", "Eve", 6, ago(3)),
        WaitingCaller("p", "support", "9.1", "555", "Ann", 1, ago(30), True, ago(30)),
        WaitingCaller("p", "support", "9.2", "556", None, 2, ago(5), True, ago(5)),
        # Alice's current call: Zed waited in sales, Alice answered (AgentConnect) 120 s ago.
        WaitingCaller("p", "sales", "9.9", "777", "Zed", 1, ago(125), True, ago(125)),
        WaitingCaller("p", "sales", "9.9", "777", "Zed", 1, ago(125), False, ago(120)),
        RingAttempt("p", "sales", "9.9", "Alice", "PJSIP/1001", ago(124), 4.0, "answered", "ami"),
        call("c1", "600", ago(1000), "answered", 10, 100, "PJSIP/1001"),
        call("c2", "601", ago(900), "answered", 30, 200, "PJSIP/1001"),
        call("c3", "602", ago(800), "abandoned", 40),
        call("c4", "603", ago(700), "abandoned", 8),
        call("c5", "603", ago(600), "answered", 5, 50, "PJSIP/1003"),
        call("y1", "602", ago(86_400 + 3600), "answered", 1, 10, "PJSIP/1001"),
    ):
        store.put(row)
    store.flush()
