"""The realtime page's queries (live_queues, live_agents, callbacks_due) and the live snapshot,
on the hand-worked seed of tests/queries/live_fixture.py."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import queries
from live.snapshot import Link, Snapshot, build, interval_bounds, start_of_day
from queries import erlang
from settings import Settings
from storage.store import Store
from tests.queries.live_fixture import now_inside_today, seed


def test_live_queues_hand_worked(store: Store) -> None:
    now = now_inside_today()
    seed(store, now)
    frame = queries.read("live_queues", start=start_of_day(now)).set_index("queue")
    support = frame.loc["support"]
    assert list(frame.index) == ["sales", "support"]
    assert (support["waiting"], support["offered"], support["answered"]) == (2, 5, 3)
    assert (support["abandoned"], support["answered_within_sl"]) == (2, 2)
    assert support["sl_answered_pct"] == pytest.approx(200 / 3)
    assert support["asa_s"] == pytest.approx(15.0)
    assert 30 <= support["longest_wait_s"] < 40
    states = ["available", "ringing", "on_call", "paused", "unavailable", "staffed"]
    assert [support[f"agents_{s}"] for s in states] == [1, 1, 1, 1, 1, 3]
    assert (support["offered_window"], support["aht_window_s"]) == (5, pytest.approx(350 / 3))
    sales = frame.loc["sales"]
    assert (sales["agents_on_call"], sales["offered"], sales["waiting"]) == (1, 0, 0)
    assert math.isnan(sales["sl_answered_pct"])


def test_live_queues_today_equals_queue_summary(store: Store) -> None:
    # One definition of a number: today's figures are queue_summary's over today.
    now = now_inside_today()
    seed(store, now)
    today = start_of_day(now)
    live = queries.read("live_queues", start=today).set_index("queue").loc[["support"]]
    summary = queries.read("queue_summary", start=today).set_index("queue").loc[["support"]]
    for column in ["offered", "answered", "abandoned", "answered_within_sl", "sl_answered_pct",
                   "asa_s"]:  # fmt: skip
        assert live[column].tolist() == pytest.approx(summary[column].tolist()), column


def test_live_queues_queue_filter_and_interval(store: Store) -> None:
    now = now_inside_today()
    seed(store, now)
    frame = queries.read(
        "live_queues", start=start_of_day(now), queues=["support"],
        interval_start=now - timedelta(seconds=950), window_s=750,
    )  # fmt: skip
    (row,) = frame.to_dict("records")
    # Since 950 s ago: c2 (30 s, not within), c5 (5 s, within); window 750 s: c4, c5.
    assert (row["answered_interval"], row["answered_within_sl_interval"]) == (2, 1)
    assert (row["offered_window"], row["aht_window_s"]) == (2, 50.0)


def test_live_agents_board(store: Store) -> None:
    now = now_inside_today()
    seed(store, now)
    frame = queries.read("live_agents", start=start_of_day(now)).set_index("agent")
    assert frame["state"].to_dict() == {
        "Alice": "on call", "Bob": "paused", "Carol": "available", "Dan": "unavailable",
        "Eve": "ringing",
    }  # fmt: skip
    alice = frame.loc["Alice"]
    assert list(alice["queues"]) == ["sales", "support"]
    assert (alice["call_queue"], alice["call_caller"], alice["call_caller_name"]) == (
        "sales", "777", "Zed",
    )  # fmt: skip
    assert (alice["calls_today"], alice["talk_today_s"]) == (2, 300.0)
    assert 120 <= alice["in_state_s"] < 130
    bob = frame.loc["Bob"]
    assert (bob["paused_reason"], bob["calls_today"]) == ("lunch", 0)
    assert bob["in_state_s"] >= 1000
    assert frame.loc["Carol", "call_queue"] is None or math.isnan(frame.loc["Carol", "call_queue"])


def test_agent_paused_in_one_queue_only_is_not_paused(store: Store) -> None:
    now = now_inside_today()
    from tests.queries.live_fixture import member

    store.put(member("a", "PJSIP/2001", "Zoe", 1, now, paused=True, reason="training"))
    store.put(member("b", "PJSIP/2001", "Zoe", 1, now))
    store.flush()
    (row,) = queries.read("live_agents", start=start_of_day(now)).to_dict("records")
    assert (row["state"], row["paused_reason"]) == ("available", None)


def test_callbacks_due(store: Store) -> None:
    now = now_inside_today()
    seed(store, now)
    frame = queries.read("callbacks_due", start=start_of_day(now))
    # 602 abandoned and never got through; 603 was answered later, so it was called back.
    assert frame["caller_num"].tolist() == ["602"]
    assert (frame["waited_s"].iloc[0], frame["abandons"].iloc[0]) == (40.0, 1)
    assert queries.read("callbacks_due", start=start_of_day(now), queues=["sales"]).empty


def test_erlang_staffing_hand_worked() -> None:
    # 5 calls in an hour, AHT 350/3 s: A = 5 * 116.67 / 3600 = 0.16204 Erlangs. One agent:
    # C = A = 0.162037; (1 - A) * 20 / AHT = 0.143651, e^-0.143651 = 0.866191;
    # SL = 1 - 0.162037 * 0.866191 = 0.859645 >= 0.8, so one agent is enough.
    s = erlang.staffing(5 / 3600, 350 / 3, 1, 20, 0.8, (3, 2, 900))
    assert s.traffic == pytest.approx(0.162037, abs=1e-6)
    assert s.agents_needed == 1
    assert s.service_level == pytest.approx(0.859645, abs=1e-6)
    # Interval: 2 of 3 answered within; 900 s left bring 1.25 calls at 0.859645:
    # (2 + 1.25 * 0.859645) / (3 + 1.25) = 3.074556 / 4.25 = 0.723425.
    assert s.projected_sl == pytest.approx(0.723425, abs=1e-6)


def test_projection_without_calls_is_unknown() -> None:
    assert erlang.projected_service_level(0, 0, 0.0, 0.9) is None
    assert erlang.projected_service_level(0, 0, 2.0, 0.9) == pytest.approx(0.9)


def test_erlang_stays_exact_for_a_thousand_agents() -> None:
    # 900 Erlangs (3 calls/s, AHT 300 s): the recursion stays finite, needs few steps above A.
    s = erlang.staffing(3.0, 300, 950, 20, 0.8, (0, 0, 0))
    assert s.agents_needed is not None and 900 < s.agents_needed < 960
    assert 0 < s.service_level <= 1 and math.isfinite(s.service_level)
    assert erlang.staffing(3.0, 300, 800, 20, 0.8, (0, 0, 0)).service_level == 0.0


def test_snapshot_joins_targets_and_erlang(store: Store) -> None:
    now = now_inside_today()
    seed(store, now)
    cursor = store.cursor()
    snapshot = build(cursor, Settings())
    cursor.close()
    support = snapshot.queues.set_index("queue").loc["support"]
    assert (support["sl_s"], support["sl_target_pct"]) == (20.0, 80.0)
    expected = erlang.staffing(5 / 3600, 350 / 3, 3, 20, 0.8, (0, 0, 1))
    assert support["traffic_erl"] == pytest.approx(expected.traffic)
    assert support["agents_needed"] == 1
    assert support["sl_model_pct"] == pytest.approx(100 * expected.service_level)
    assert snapshot.queues.set_index("queue").loc["sales", "agents_needed"] is not None
    assert snapshot.stale_reason() is None


def test_stale_when_a_pbx_is_down_or_the_snapshot_is_old() -> None:
    taken = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    import pandas as pd

    empty = pd.DataFrame()
    down = Link("main", "unreachable", taken.timestamp() - 60, "connection refused", 75.0)
    snapshot = Snapshot(1, taken, empty, empty, empty, empty, (down,))
    reason = snapshot.stale_reason(now=taken.timestamp())
    assert reason is not None
    assert "PBX main is unreachable since 07:59:00 UTC" in reason
    assert "last event 75 s ago" in reason and "connection refused" in reason
    fresh = Snapshot(1, taken, empty, empty, empty, empty, ())
    assert fresh.stale_reason(now=taken.timestamp() + 1) is None
    assert "stopped refreshing" in (fresh.stale_reason(now=taken.timestamp() + 60) or "")


def test_interval_bounds() -> None:
    at = datetime(2026, 11, 2, 8, 44, 10, tzinfo=UTC)
    assert interval_bounds(at, 30) == (at.replace(minute=30, second=0), at.replace(hour=9,
                                       minute=0, second=0))  # fmt: skip
    assert interval_bounds(at, 15)[0] == at.replace(minute=30, second=0)
    assert interval_bounds(at, 60)[0] == at.replace(minute=0, second=0)


def test_each_queue_is_judged_by_its_own_threshold_and_target(tmp_path: Path) -> None:
    from settings import QueueSettings

    now = now_inside_today()
    targets = [QueueSettings(name="support", sl_threshold_s=5, sl_target_pct=90)]
    with Store(tmp_path / "s.duckdb", flush_interval_s=0.05, queues=targets) as store:
        seed(store, now)
        today = start_of_day(now)
        frame = queries.read("live_queues", start=today).set_index("queue")
        summary = queries.read("queue_summary", start=today).set_index("queue")
        cursor = store.cursor()
        snapshot = build(cursor, Settings(queues=tuple(targets)))
        cursor.close()
    # Within 5 s: c5 only (5 s, inclusive), so 1 of 3; sales keeps the defaults.
    assert (frame.loc["support", "sl_s"], frame.loc["support", "sl_target_pct"]) == (5, 90)
    within = summary.loc["support", "answered_within_sl"]
    assert frame.loc["support", "answered_within_sl"] == within == 1
    assert (frame.loc["sales", "sl_s"], frame.loc["sales", "sl_target_pct"]) == (20, 80)
    support = snapshot.queues.set_index("queue").loc["support"]
    expected = erlang.staffing(5 / 3600, 350 / 3, 3, 5, 0.9, (0, 0, 1))
    assert support["sl_model_pct"] == pytest.approx(100 * expected.service_level)


def test_today_starts_at_midnight_in_the_timezone_setting() -> None:
    at = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    assert start_of_day(at) == datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    # New York: 22:00 EST on 1 Nov locally. Its midnight was still EDT (UTC-4; summer time
    # ended at 02:00 that day), so today began 1 Nov 04:00 UTC, not 05:00.
    assert start_of_day(at, "America/New_York") == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    # Kolkata (UTC+05:30): 08:30 on the 2nd locally, so today began 1 Nov 18:30 UTC.
    assert start_of_day(at, "Asia/Kolkata") == datetime(2026, 11, 1, 18, 30, tzinfo=UTC)
