"""The KPI queries on a hand-made day (tests/queries/kpi_fixture.py): every column of every
row is worked out by hand in the comments, with the default sl_s = 20 and short_abandon_s = 5.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd
import pytest

import queries
from storage.store import Store
from tests.queries.kpi_fixture import at, put_day

NAN = None  # expected NULL (NaN / NA in the frame)


@pytest.fixture
def day(store: Store) -> Store:
    put_day(store)
    return store


def assert_rows(frame: pd.DataFrame, expected: list[dict[str, Any]]) -> None:
    """Exactly these columns in this order, these rows, these values (floats to 1e-9)."""
    assert list(frame.columns) == list(expected[0]), "columns"
    got = frame.to_dict("records")
    assert len(got) == len(expected), f"{len(got)} rows, expected {len(expected)}"
    for number, (row, want) in enumerate(zip(got, expected, strict=True)):
        for column, value in want.items():
            actual = row[column]
            where = f"row {number} {column}: {actual!r} != {value!r}"
            if value is None:
                assert actual is None or pd.isna(actual), where
            elif isinstance(value, float):
                assert math.isclose(actual, value, rel_tol=1e-9, abs_tol=1e-9), where
            else:
                assert actual == value, where


def test_queue_summary_by_hand(day: Store) -> None:
    frame = queries.run("queue_summary", day.cursor())
    assert_rows(frame, [
        {   # sales: L1 answered 10 s, L2 answered 25 s, L3 exitempty 2 s, L4 abandoned 5 s
            "queue": "sales", "offered": 4, "answered": 2, "abandoned": 1, "timeout": 0,
            "sl_answered_pct": 50.0,  # L1 (10 <= 20) of L1, L2: 1 / 2
            "sl_inclusive_pct": 25.0,  # 1 / 4 offered
            "asa_s": 17.5,  # (10 + 25) / 2
            "abandon_rate_pct": 25.0,  # 1 / 4
            "exitempty": 1, "exitwithkey": 0, "unknown": 0,
            "short_abandons": 0,  # L4 waited 5 s: 5 < 5 is false
            "transferred": 0, "answered_within_sl": 1,
            "sl_asterisk_perf_pct": 50.0,  # 1 / 2 completed
            # Asterisk's abandoned = L4 + L3 (exitempty), both within 20 s: (1 + 2) / (2 + 2)
            "sl_asterisk_perf2_pct": 75.0,
            "wait_answered_p50_s": 17.5,  # [10, 25]: halfway
            "wait_answered_p90_s": 23.5,  # 10 + 0.9 * (25 - 10)
            "wait_answered_max_s": 25.0,
            "wait_lost_avg_s": 3.5,  # [2, 5]
            "wait_lost_p50_s": 3.5,
            "wait_lost_p90_s": 4.7,  # 2 + 0.9 * 3
            "wait_lost_max_s": 5.0,
            "abandon_wait_avg_s": 5.0,
            "abandon_position_avg": 1.0,  # L4 alone: entered second, first when it hung up
            "talk_total_s": 270.0, "talk_avg_s": 135.0, "aht_s": 135.0,  # 90 + 180
            "sl_threshold_s": 20.0,  # no [[queue]] settings, no QueueParams: the default
            "abandon_entry_position_avg": 2.0,
            "agent_dumps": 0,  # no ring attempt was dumped
        },
        {   # support: S1-S3 answered (5, 20, 30 s), S4 abandoned 3 s, S5 abandoned 40 s,
            # S6 timeout 60 s, S7 exitwithkey 12 s, S8 unknown (wait unknown)
            "queue": "support", "offered": 8, "answered": 3, "abandoned": 2, "timeout": 1,
            "sl_answered_pct": 200 / 3,  # S1 (5), S2 (20 <= 20, inclusive): 2 / 3
            "sl_inclusive_pct": 25.0,  # 2 / 8
            "asa_s": 55 / 3,  # (5 + 20 + 30) / 3
            "abandon_rate_pct": 25.0,  # 2 / 8
            "exitempty": 0, "exitwithkey": 1, "unknown": 1,
            "short_abandons": 1,  # S4: 3 < 5
            "transferred": 1,  # S3
            "answered_within_sl": 2,
            "sl_asterisk_perf_pct": 200 / 3,  # 2 / 3
            # Asterisk's abandoned = S4, S5, S6; within 20 s: S4 only. (2 + 1) / (3 + 3)
            "sl_asterisk_perf2_pct": 50.0,
            "wait_answered_p50_s": 20.0,  # [5, 20, 30]
            "wait_answered_p90_s": 28.0,  # rank 0.9 * 2 = 1.8: 20 + 0.8 * 10
            "wait_answered_max_s": 30.0,
            "wait_lost_avg_s": 28.75,  # [3, 12, 40, 60] (S8 unknown): 115 / 4
            "wait_lost_p50_s": 26.0,  # rank 1.5: 12 + 0.5 * 28
            "wait_lost_p90_s": 54.0,  # rank 2.7: 40 + 0.7 * 20
            "wait_lost_max_s": 60.0,
            "abandon_wait_avg_s": 21.5,  # (3 + 40) / 2
            "abandon_position_avg": 1.5,  # S4 left 1st, S5 2nd: (1 + 2) / 2
            "talk_total_s": 360.0, "talk_avg_s": 120.0, "aht_s": 120.0,  # 100 + 200 + 60
            "sl_threshold_s": 20.0,
            "abandon_entry_position_avg": 2.5,  # (2 + 3) / 2, at entry
            "agent_dumps": 0,
        },
    ])  # fmt: skip


def test_queue_summary_parameters(day: Store) -> None:
    cursor = day.cursor()
    # exclude_short drops S4 from support's abandon rate and inclusive SL: 1 / 7 and 2 / 7.
    frame = queries.run("queue_summary", cursor, exclude_short=True).set_index("queue")
    assert frame.loc["support", "abandon_rate_pct"] == pytest.approx(100 / 7)
    assert frame.loc["support", "sl_inclusive_pct"] == pytest.approx(200 / 7)
    assert frame.loc["support", "sl_answered_pct"] == pytest.approx(200 / 3)  # unchanged
    assert frame.loc["support", "abandoned"] == 2  # counts stay whole
    # short_abandon_s = 6 makes L4 (5 s) short: sales abandon rate (1 - 1) / (4 - 1) = 0.
    frame = queries.run(
        "queue_summary", cursor, short_abandon_s=6, exclude_short=True, queues=["sales"]
    )
    assert list(frame["queue"]) == ["sales"]
    assert (frame["short_abandons"][0], frame["abandon_rate_pct"][0]) == (1, 0.0)
    assert frame["sl_inclusive_pct"][0] == pytest.approx(100 / 3)  # 1 / (4 - 1)
    # sl_s = 30: S3 (30 s) and L2 (25 s) join the service level.
    frame = queries.run("queue_summary", cursor, sl_s=30).set_index("queue")
    assert frame.loc["support", "sl_answered_pct"] == 100.0  # 3 / 3
    assert frame.loc["sales", "sl_answered_pct"] == 100.0  # 2 / 2
    # start inclusive, end exclusive: 08:00 <= entered < 08:20 holds S1, S2, S3 and L1.
    frame = queries.run("queue_summary", cursor, start=at("08:00:00"), end=at("08:20:00"))
    assert dict(zip(frame["queue"], frame["offered"], strict=True)) == {"sales": 1, "support": 3}


def test_totals_count_each_caller_once(day: Store) -> None:
    # 12 stays, 11 callers: c3 is S3 (support, answered after 30 s, transferred) and L1
    # (sales). Its wait is S3's 30 s: the stays up to its first answer.
    # Answered callers: S1 (5), S2 (20), c3 (30), L2 (25); within 20 s: S1, S2.
    # Unanswered, by last stay: abandoned S4, S5, L4; timeout S6; exitempty L3;
    # exitwithkey S7; unknown S8.
    assert_rows(queries.run("totals", day.cursor()), [{
        "offered": 11, "answered": 4, "abandoned": 3, "timeout": 1,
        "sl_answered_pct": 50.0,  # 2 / 4
        "sl_inclusive_pct": 200 / 11,  # 2 / 11
        "asa_s": 20.0,  # (5 + 20 + 30 + 25) / 4
        "abandon_rate_pct": 300 / 11,  # 3 / 11
        "exitempty": 1, "exitwithkey": 1, "unknown": 1,
        "short_abandons": 1,  # S4
        "answered_within_sl": 2, "stays": 12, "multi_stay_callers": 1,
        # Talk of the answered stays (c3 talks in both queues): S1 100, S2 200, S3 60,
        # L1 90, L2 180 = 630 over 5 stays.
        "talk_total_s": 630.0, "aht_s": 126.0,
    }])  # fmt: skip
    # With exclude_short: abandoned (3 - 1) / (11 - 1), inclusive SL 2 / 10.
    frame = queries.run("totals", day.cursor(), exclude_short=True)
    assert frame["abandon_rate_pct"][0] == pytest.approx(20.0)
    assert frame["sl_inclusive_pct"][0] == pytest.approx(20.0)


def test_queue_intervals_by_hand(day: Store) -> None:
    frame = queries.run("queue_intervals", day.cursor(), bucket="1 hour")
    hour8, hour9 = datetime(2026, 11, 2, 8), datetime(2026, 11, 2, 9)
    assert_rows(frame, [
        # sales 08:00: L1 (10 s, talk 90), L2 (25 s, talk 180)
        {"queue": "sales", "bucket_start": hour8, "offered": 2, "answered": 2, "abandoned": 0,
         "timeout": 0, "sl_answered_pct": 50.0, "sl_inclusive_pct": 50.0, "asa_s": 17.5,
         "abandon_rate_pct": 0.0, "short_abandons": 0, "answered_within_sl": 1,
         "talk_avg_s": 135.0},
        # sales 09:00: L3 exitempty, L4 abandoned: no answer, so no SL over answered, no ASA
        {"queue": "sales", "bucket_start": hour9, "offered": 2, "answered": 0, "abandoned": 1,
         "timeout": 0, "sl_answered_pct": NAN, "sl_inclusive_pct": 0.0, "asa_s": NAN,
         "abandon_rate_pct": 50.0, "short_abandons": 0, "answered_within_sl": 0,
         "talk_avg_s": NAN},
        # support 08:00: S1-S5; within SL S1, S2: 2 / 3 and 2 / 5; abandoned S4, S5: 2 / 5
        {"queue": "support", "bucket_start": hour8, "offered": 5, "answered": 3,
         "abandoned": 2, "timeout": 0, "sl_answered_pct": 200 / 3, "sl_inclusive_pct": 40.0,
         "asa_s": 55 / 3, "abandon_rate_pct": 40.0, "short_abandons": 1,
         "answered_within_sl": 2, "talk_avg_s": 120.0},
        # support 09:00: S6 timeout, S7 exitwithkey, S8 unknown
        {"queue": "support", "bucket_start": hour9, "offered": 3, "answered": 0,
         "abandoned": 0, "timeout": 1, "sl_answered_pct": NAN, "sl_inclusive_pct": 0.0,
         "asa_s": NAN, "abandon_rate_pct": 0.0, "short_abandons": 0,
         "answered_within_sl": 0, "talk_avg_s": NAN},
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("bucket", "tz", "expected"),
    [
        # Kolkata is UTC+05:30, so its hours start at half past in UTC: 13:00 local holds
        # 07:30-08:30 UTC (S1-S4, L1), 14:00 holds S5, S6, S7, L2, L3, 15:00 holds S8, L4.
        ("1 hour", "Asia/Kolkata", {("sales", "13:00"): 1, ("sales", "14:00"): 2,
                                    ("sales", "15:00"): 1, ("support", "13:00"): 4,
                                    ("support", "14:00"): 3, ("support", "15:00"): 1}),
        # S1-S3 08:00, S4 08:20 -> 08:15, S5 08:40 -> 08:30, S6 09:10 -> 09:00, S7 -> 09:15,
        # S8 -> 09:30; L1 08:11:30 -> 08:00, L2 -> 08:30, L3 09:05 -> 09:00, L4 -> 09:45
        ("15 minutes", None, {("sales", "08:00"): 1, ("sales", "08:30"): 1,
                              ("sales", "09:00"): 1, ("sales", "09:45"): 1,
                              ("support", "08:00"): 3, ("support", "08:15"): 1,
                              ("support", "08:30"): 1, ("support", "09:00"): 1,
                              ("support", "09:15"): 1, ("support", "09:30"): 1}),
    ],
)  # fmt: skip
def test_queue_intervals_cut_on_local_time(
    day: Store, bucket: str, tz: str | None, expected: dict[tuple[str, str], int]
) -> None:
    frame = queries.run("queue_intervals", day.cursor(), bucket=bucket, tz=tz)
    got = {
        (q, start.strftime("%H:%M")): n
        for q, start, n in zip(frame["queue"], frame["bucket_start"], frame["offered"], strict=True)
    }
    assert got == expected


@pytest.mark.parametrize(
    ("bucket", "tz", "start"),
    [
        ("1 day", "UTC", datetime(2026, 11, 2)),
        ("1 day", "Pacific/Honolulu", datetime(2026, 11, 1)),  # 08:00 UTC is 22:00 on Sunday
        ("1 week", "UTC", datetime(2026, 11, 2)),  # weeks start on Monday
        ("1 week", "Pacific/Honolulu", datetime(2026, 10, 26)),  # ... the Monday before
        ("1 month", "UTC", datetime(2026, 11, 1)),
        ("1 month", "Pacific/Honolulu", datetime(2026, 11, 1)),
    ],
)
def test_queue_intervals_long_buckets(day: Store, bucket: str, tz: str, start: datetime) -> None:
    frame = queries.run("queue_intervals", day.cursor(), bucket=bucket, tz=tz)
    assert list(frame["bucket_start"]) == [start, start]
    assert list(frame["offered"]) == [4, 8]  # sales, support: one bucket each


def test_wait_distribution_by_hand(day: Store) -> None:
    # Bands hold (lower, upper]: a 20 s wait is in 10-20, a 10 s wait in 0-10.
    # sales answered 10 -> 0-10, 25 -> 20-30; lost 2, 5 -> 0-10.
    # support answered 5 -> 0-10, 20 -> 10-20, 30 -> 20-30; lost 3 -> 0-10, 12 -> 10-20,
    # 40 -> 30-45, 60 -> 45-60; S8 (unknown wait) is in no band.
    edges = [(0, 10), (10, 20), (20, 30), (30, 45), (45, 60), (60, 90), (90, 120), (120, None)]
    per_queue = {
        # queue: (answered per band, lost per band, answered in all)
        "sales": ([1, 0, 1, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0, 0, 0], 2),
        "support": ([1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 0, 1, 1, 0, 0, 0], 3),
    }
    expected = []
    for queue, (answered, lost, total) in per_queue.items():
        within = 0
        for (low, high), a, n in zip(edges, answered, lost, strict=True):
            within += a
            expected.append({
                "queue": queue, "band": f"{low}-{high}" if high else f"{low}+",
                "from_s": low, "to_s": high, "answered": a, "lost": n,
                "answered_within": within, "answered_within_pct": 100.0 * within / total,
            })  # fmt: skip
    frame = queries.run("wait_distribution", day.cursor())
    assert_rows(frame, expected)
    # Within 20 s, the running share equals queue_summary's sl_answered_pct: 50 %, 66.7 %.
    assert list(frame[frame["to_s"] == 20]["answered_within_pct"]) == pytest.approx([50, 200 / 3])


def test_unanswered_by_reason_by_hand(day: Store) -> None:
    def row(queue: str, reason: str, calls: int, wait: float | None, of_lost: float,
            of_offered: float) -> dict[str, Any]:  # fmt: skip
        return {"queue": queue, "reason": reason, "calls": calls, "wait_avg_s": wait,
                "unanswered_pct": of_lost, "offered_pct": of_offered}  # fmt: skip

    # sales: 4 offered, 2 unanswered (L4 abandoned after 5 s, not short; L3 exitempty 2 s)
    # support: 8 offered, 5 unanswered: S5 abandoned 40 s, S4 short (3 s), S6 timeout
    # 60 s, S7 exitwithkey 12 s, S8 unknown (wait unknown); each 1/5 = 20 % and 1/8 = 12.5 %
    assert_rows(queries.run("unanswered_by_reason", day.cursor()), [
        row("sales", "abandoned", 1, 5.0, 50.0, 25.0),
        row("sales", "short_abandon", 0, NAN, 0.0, 0.0),
        row("sales", "timeout", 0, NAN, 0.0, 0.0),
        row("sales", "exitempty", 1, 2.0, 50.0, 25.0),
        row("sales", "exitwithkey", 0, NAN, 0.0, 0.0),
        row("sales", "unknown", 0, NAN, 0.0, 0.0),
        row("support", "abandoned", 1, 40.0, 20.0, 12.5),
        row("support", "short_abandon", 1, 3.0, 20.0, 12.5),
        row("support", "timeout", 1, 60.0, 20.0, 12.5),
        row("support", "exitempty", 0, NAN, 0.0, 0.0),
        row("support", "exitwithkey", 1, 12.0, 20.0, 12.5),
        row("support", "unknown", 1, NAN, 20.0, 12.5),
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("tz", "cells"),
    [
        # Monday 08:00 UTC: S1-S5, L1, L2; answered S1, S2, S3, L1, L2; within 20 s S1, S2, L1.
        # 09:00: S6, S7, S8, L3, L4, none answered.
        ("UTC", {8: (7, 5, 3, 60.0, 300 / 7), 9: (5, 0, 0, NAN, 0.0)}),
        # Kolkata: 13:00 holds S1-S4, L1 (4 answered, 3 within); 14:00 S5, S6, S7, L2, L3
        # (L2 answered after 25 s); 15:00 S8, L4.
        ("Asia/Kolkata", {13: (5, 4, 3, 75.0, 60.0), 14: (5, 1, 0, 0.0, 0.0),
                          15: (2, 0, 0, NAN, 0.0)}),
    ],
)  # fmt: skip
def test_day_hour_matrix_by_hand(
    day: Store, tz: str, cells: dict[int, tuple[int, int, int, float | None, float]]
) -> None:
    frame = queries.run("day_hour_matrix", day.cursor(), tz=tz)
    expected = []
    for weekday, name in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], 1):
        for hour in range(24):
            offered, answered, within, sl, inclusive = (0, 0, 0, NAN, NAN)
            if weekday == 1 and hour in cells:
                offered, answered, within, sl, inclusive = cells[hour]
            expected.append({
                "weekday": weekday, "day": name, "hour": hour, "offered": offered,
                "answered": answered, "answered_within_sl": within, "sl_answered_pct": sl,
                "sl_inclusive_pct": inclusive,
            })  # fmt: skip
    assert_rows(frame, expected)
    # exclude_short takes S4 out of 08:00 UTC's denominator: 3 / (7 - 1).
    frame = queries.run("day_hour_matrix", day.cursor(), exclude_short=True)
    assert frame.loc[8, "sl_inclusive_pct"] == pytest.approx(50.0)
