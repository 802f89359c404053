"""agent_summary on the hand-made day (tests/queries/kpi_fixture.py), worked out by hand.

The range is 07:00-11:00 UTC (14400 s) unless said otherwise. Member timelines:
- Alice (PJSIP/1001): support from 07:30, sales from 08:00 to 10:30 (removed); paused
  "Lunch" in both 09:00-09:30. Logged in 07:30-11:00 = 12600 s, once although in two queues.
- Bob (PJSIP/1002): support from 06:00 (clipped to 07:00); paused without a reason
  08:00-08:10, "Training" 08:10-08:40 (written twice, same since); logged off at 10:00.
  Logged in 07:00-10:00 = 10800 s, paused 600 + 1800 = 2400 s.
- Carol (PJSIP/1003): support and sales from 07:00; paused "Admin" in sales from 08:00 (still
  taking support calls, so not pause time), in support too from 10:00. Paused 10:00-11:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import queries
from collectors.rows import MemberState, QueueCall
from storage.store import Store
from tests.queries.kpi_fixture import at, put_day
from tests.queries.test_kpis import NAN, assert_rows


@pytest.fixture
def day(store: Store) -> Store:
    put_day(store)
    return store


def test_agent_summary_by_hand(day: Store) -> None:
    frame = queries.run("agent_summary", day.cursor(), start=at("07:00:00"), end=at("11:00:00"))
    assert_rows(frame.drop(columns="pause_by_reason_s"), [
        # Alice answered S1 (talk 100) and S3 (60); rung for S1, S2 (no answer), S3.
        # Unpaused 12600 - 1800 = 10800; occupancy 160 / 10800.
        {"agent": "Alice", "answered": 2, "talk_total_s": 160.0, "talk_avg_s": 80.0,
         "aht_s": 80.0, "ring_attempts": 3, "ring_noanswer": 1, "logged_in_s": 12600.0,
         "pause_s": 1800.0, "unpaused_s": 10800.0, "occupancy_pct": 100 * 160 / 10800},
        # Bob answered S2 (200); rung for S2, S5 and S6 (no answer twice).
        {"agent": "Bob", "answered": 1, "talk_total_s": 200.0, "talk_avg_s": 200.0,
         "aht_s": 200.0, "ring_attempts": 3, "ring_noanswer": 2, "logged_in_s": 10800.0,
         "pause_s": 2400.0, "unpaused_s": 8400.0, "occupancy_pct": 100 * 200 / 8400},
        # Carol answered L1 (90) and L2 (180); rung for L1, L2, L4 (canceled).
        {"agent": "Carol", "answered": 2, "talk_total_s": 270.0, "talk_avg_s": 135.0,
         "aht_s": 135.0, "ring_attempts": 3, "ring_noanswer": 0, "logged_in_s": 14400.0,
         "pause_s": 3600.0, "unpaused_s": 10800.0, "occupancy_pct": 2.5},
        # Dave only rang for L2 (ringall loser): no state known, so presence is NULL.
        {"agent": "Dave", "answered": 0, "talk_total_s": 0.0, "talk_avg_s": NAN,
         "aht_s": NAN, "ring_attempts": 1, "ring_noanswer": 0, "logged_in_s": NAN,
         "pause_s": NAN, "unpaused_s": NAN, "occupancy_pct": NAN},
    ])  # fmt: skip
    assert list(frame["pause_by_reason_s"][:3]) == [
        {"Lunch": 1800.0},
        {"": 600.0, "Training": 1800.0},
        {"Admin": 3600.0},
    ]
    assert frame["pause_by_reason_s"][3] is pd.NA


def test_agent_summary_in_one_queue(day: Store) -> None:
    frame = queries.run(
        "agent_summary", day.cursor(), start=at("07:00:00"), end=at("11:00:00"), queues=["sales"]
    ).set_index("agent")
    # Bob is not in sales. Alice: a sales member 08:00-10:30 = 9000 s, paused 1800 s, no
    # sales calls. Carol: paused in sales from 08:00, i.e. 10800 of 14400 s; her talk there is
    # 270 s over 3600 s unpaused = 7.5 %.
    assert list(frame.index) == ["Alice", "Carol", "Dave"]
    columns = ["answered", "logged_in_s", "pause_s", "occupancy_pct"]
    assert frame.loc["Alice", columns].tolist() == [0, 9000.0, 1800.0, 0.0]
    assert frame.loc["Carol", columns].tolist() == [2, 14400.0, 10800.0, 7.5]
    assert frame.loc["Carol", "pause_by_reason_s"] == {"Admin": 10800.0}


def test_agent_summary_for_chosen_agents(day: Store) -> None:
    # agents narrows the rows; each row counts exactly what it counts without the filter.
    window = {"start": at("07:00:00"), "end": at("11:00:00")}
    every = queries.run("agent_summary", day.cursor(), **window).set_index("agent")
    frame = queries.run(
        "agent_summary", day.cursor(), **window, agents=["Carol", "Bob", "Nobody"]
    ).set_index("agent")
    assert list(frame.index) == ["Bob", "Carol"]
    columns = ["answered", "talk_total_s", "ring_noanswer", "logged_in_s", "pause_s"]
    assert frame[columns].equals(every.loc[["Bob", "Carol"], columns])
    assert queries.run("agent_summary", day.cursor(), **window, agents=[]).empty


def test_the_last_state_holds_until_now(day: Store) -> None:
    # Without an end, Carol's last rows (paused in both queues since 10:00) run until now.
    before = datetime.now(UTC)
    frame = queries.run("agent_summary", day.cursor(), start=at("07:00:00")).set_index("agent")
    after = datetime.now(UTC)
    low, high = ((t - at("07:00:00")).total_seconds() for t in (before, after))
    assert low - 1 <= frame.loc["Carol", "logged_in_s"] <= high + 1
    assert low - 1 - 3 * 3600 <= frame.loc["Carol", "pause_s"] <= high + 1 - 3 * 3600
    assert frame.loc["Bob", "logged_in_s"] == 10800.0  # logged off at 10:00: nothing after


def test_a_range_before_any_state_knows_no_presence(day: Store) -> None:
    frame = queries.run("agent_summary", day.cursor(), start=at("00:00:00"), end=at("05:00:00"))
    assert len(frame) == 0


def _erin(store: Store, call_id: str, answered: str, talk: float) -> None:
    start = at(answered) - timedelta(seconds=5)
    store.put(QueueCall(
        pbx="p", queue="support", call_id=call_id, linkedid=call_id, caller_num="555",
        caller_name=None, entered_at=start, position=1, outcome="answered", wait_s=5,
        answered_at=at(answered), agent="Erin", interface=None, talk_s=talk,
        ended_by="agent", ended_at=at(answered) + timedelta(seconds=talk), ring_attempts=0,
        source="queue_log", gap=False, left_position=None,
    ))  # fmt: skip


def test_talk_outside_observed_presence_does_not_count(store: Store) -> None:
    # The demo's bug (occupancy 6,439 %): calls imported from queue_log, presence seen only
    # for the last seconds of the range. Erin (static, PJSIP/1005) talks 08:00:00-08:05:00
    # (300 s) and 10:59:00-10:59:40 (40 s); Callboard first sees her at 10:59:30, so 30 s
    # observed logged in, of which 10 s (10:59:30-10:59:40) talking: 100 * 10 / 30, not
    # 100 * 340 / 30 = 1133 %.
    _erin(store, "e1", "08:00:00", 300)
    _erin(store, "e2", "10:59:00", 40)
    store.put(MemberState(
        pbx="p", queue="support", interface="PJSIP/1005", member_name="Erin", status=1,
        paused=False, paused_reason=None, in_call=False, calls_taken=0,
        since=at("10:59:30"), present=True, penalty=0, ringinuse=False, membership="static",
    ))  # fmt: skip
    store.flush()
    window = {"start": at("07:00:00"), "end": at("11:00:00")}
    erin = queries.run("agent_summary", store.cursor(), **window).set_index("agent").loc["Erin"]
    assert erin["talk_total_s"] == 340.0  # talk itself is still all the answered stays'
    assert erin["logged_in_s"] == 30.0
    assert erin["occupancy_pct"] == pytest.approx(100 * 10 / 30)
    # A range with her talk but none of her presence: not known, never a huge percentage.
    early = queries.run("agent_summary", store.cursor(), start=at("07:00:00"), end=at("09:00:00"))
    row = early.set_index("agent").loc["Erin"]
    assert row["talk_total_s"] == 300.0
    assert pd.isna(row["logged_in_s"]) and pd.isna(row["occupancy_pct"])


def _zoe(store: Store, queue: str, since: str, present: bool, paused: bool = False,
         reason: str | None = None, in_call: bool = False) -> None:  # fmt: skip
    store.put(MemberState(
        pbx="p", queue=queue, interface="PJSIP/1009", member_name="Zoe", status=2 if in_call else 1,
        paused=paused, paused_reason=reason, in_call=in_call, calls_taken=0, since=at(since),
        present=present, penalty=0, ringinuse=False, membership="dynamic",
    ))  # fmt: skip


def test_rows_that_restate_a_state_count_as_before(store: Store) -> None:
    # Zoe (PJSIP/1009) in support and sales; rows in the order written. Rows that only
    # restate her state (a call, a device change) are skipped by the fold but must change
    # nothing: the pause reason on a device in two queues is the newest paused row's, and a
    # row dated later than the next one delays that one.
    _zoe(store, "support", "07:00:00", True)
    _zoe(store, "sales", "07:00:00", True)
    _zoe(store, "support", "07:30:00", True, in_call=True)  # restates: present, not paused
    _zoe(store, "support", "08:00:00", True, True, "Lunch")
    _zoe(store, "sales", "08:00:00", True, True, "Break")  # newest pause row: Break
    _zoe(store, "support", "08:10:00", True, True, "Lunch")  # restated: newest is Lunch
    _zoe(store, "sales", "08:20:00", True, True, "Break")  # restated: newest is Break
    _zoe(store, "support", "08:30:00", True)
    _zoe(store, "sales", "08:30:00", True)
    _zoe(store, "support", "09:10:00", True, in_call=True)  # restates, dated 09:10
    _zoe(store, "support", "09:05:00", False)  # logged off, written after: from 09:10
    _zoe(store, "sales", "09:00:00", False)
    # One call, talk 08:40-08:50 (600 s), inside her logged-in, unpaused time.
    start = at("08:39:55")
    store.put(QueueCall(
        pbx="p", queue="support", call_id="z1", linkedid="z1", caller_num="555",
        caller_name=None, entered_at=start, position=1, outcome="answered", wait_s=5,
        answered_at=at("08:40:00"), agent="Zoe", interface="PJSIP/1009", talk_s=600,
        ended_by="agent", ended_at=at("08:50:00"), ring_attempts=0, source="ami", gap=False,
        left_position=None,
    ))  # fmt: skip
    store.flush()
    window = {"start": at("07:00:00"), "end": at("11:00:00")}
    zoe = queries.run("agent_summary", store.cursor(), **window).set_index("agent").loc["Zoe"]
    # Logged in 07:00-09:10 (support's logoff waits for its 09:10 row) = 7800 s; paused in
    # both queues 08:00-08:30 = 1800 s: Break 08:00-08:10 and 08:20-08:30, Lunch 08:10-08:20.
    assert zoe["logged_in_s"] == 7800.0
    assert zoe["pause_s"] == 1800.0
    assert zoe["pause_by_reason_s"] == {"Break": 1200.0, "Lunch": 600.0}
    assert zoe["occupancy_pct"] == pytest.approx(100 * 600 / 6000)


def test_talk_straddling_the_range_counts_for_its_part_inside(day: Store) -> None:
    # Occupancy's talk is time-based: a call counts for the part of its talk inside the range,
    # whenever it entered (talk_total_s still counts the stays that entered in the range).
    # S1 (Alice) entered 08:00:00, answered 08:00:05, talked 100 s: until 08:01:45.
    con = day.cursor()
    cols = ["agent", "answered", "talk_total_s", "logged_in_s", "pause_s", "occupancy_pct"]
    # 08:01-08:07 (360 s): S1 entered before it; its talk 08:01:00-08:01:45 = 45 s is inside.
    # Alice logged in and unpaused all of it: 45 / 360. Bob (S2 entered 08:05, answered
    # 08:05:20) was paused 08:00-08:10: nothing unpaused, occupancy NULL.
    frame = queries.run("agent_summary", con, start=at("08:01:00"), end=at("08:07:00"))
    assert_rows(frame[frame["agent"].isin(["Alice", "Bob"])][cols], [
        {"agent": "Alice", "answered": 0, "talk_total_s": 0.0, "logged_in_s": 360.0,
         "pause_s": 0.0, "occupancy_pct": 100 * 45 / 360},
        {"agent": "Bob", "answered": 1, "talk_total_s": 200.0, "logged_in_s": 360.0,
         "pause_s": 360.0, "occupancy_pct": NAN},
    ])  # fmt: skip
    # 07:50-08:01 (660 s): S1 entered in it; of its talk only 08:00:05-08:01:00 = 55 s is.
    frame = queries.run("agent_summary", con, start=at("07:50:00"), end=at("08:01:00"))
    assert_rows(frame[frame["agent"] == "Alice"][cols], [
        {"agent": "Alice", "answered": 1, "talk_total_s": 100.0, "logged_in_s": 660.0,
         "pause_s": 0.0, "occupancy_pct": 100 * 55 / 660},
    ])  # fmt: skip
