"""caller_patience, queue_staffing and queries.staffing on the hand-made day
(tests/queries/kpi_fixture.py), every value worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path

import pytest

import queries
from queries.staffing import staffing
from settings import QueueSettings
from storage.store import Store
from tests.queries.kpi_fixture import at, put_day
from tests.queries.test_kpis import assert_rows

SPAN = {"start": at("08:00:00"), "end": at("10:00:00")}


@pytest.fixture
def day(store: Store) -> Store:
    put_day(store)
    return store


def test_caller_patience_by_hand(day: Store) -> None:
    # Answered and abandoned waits only: sales answered 10, 25, abandoned 5 (L4); support
    # answered 5, 20, 30, abandoned 3 (S4), 40 (S5). Timeouts, exits and unknowns are out.
    frame = queries.run("caller_patience", day.cursor())
    cols = ["queue", "t_s", "stays", "waiting", "waiting_pct", "at_risk", "abandoned_at",
            "patience_pct"]  # fmt: skip
    rows = [
        ("sales", 0, 3, 3, 100.0, 3, 0, 100.0),
        ("sales", 5, 3, 2, 200 / 3, 3, 1, 200 / 3),  # 1 of 3 at risk gave up: 2/3
        ("sales", 10, 3, 1, 100 / 3, 2, 0, 200 / 3),  # answered: censored, the curve stays
        ("sales", 25, 3, 0, 0.0, 1, 0, 200 / 3),
        ("support", 0, 5, 5, 100.0, 5, 0, 100.0),
        ("support", 3, 5, 4, 80.0, 5, 1, 80.0),  # 1 - 1/5
        ("support", 5, 5, 3, 60.0, 4, 0, 80.0),
        ("support", 20, 5, 2, 40.0, 3, 0, 80.0),
        ("support", 30, 5, 1, 20.0, 2, 0, 80.0),
        ("support", 40, 5, 0, 0.0, 1, 1, 0.0),  # the last one at risk gave up: 0.8 x (1 - 1/1)
    ]
    assert_rows(frame, [dict(zip(cols, row, strict=True)) for row in rows])


def test_queue_staffing_by_hand(day: Store) -> None:
    frame = queries.run("queue_staffing", day.cursor(), **SPAN)
    cols = ["queue", "bucket_start", "agents_logged_in", "agents_staffed"]
    rows = [
        # Alice and Carol in sales all hour; Carol paused from 08:00: Alice alone staffs it.
        ("sales", at("08:00:00").replace(tzinfo=None), 2.0, 1.0),
        # Alice at lunch 09:00-09:30: half an hour of one agent.
        ("sales", at("09:00:00").replace(tzinfo=None), 2.0, 0.5),
        # Alice, Bob, Carol all hour; Bob paused 08:00-08:40: (3600 + 1200 + 3600) / 3600.
        ("support", at("08:00:00").replace(tzinfo=None), 3.0, 8400 / 3600),
        # Alice at lunch 09:00-09:30; Bob logs off at 10:00: (1800 + 3600 + 3600) / 3600.
        ("support", at("09:00:00").replace(tzinfo=None), 3.0, 2.5),
    ]
    assert_rows(frame, [dict(zip(cols, row, strict=True)) for row in rows])


def test_staffing_by_hand(day: Store) -> None:
    frame = staffing(day.cursor(), SPAN["start"], SPAN["end"], bucket="1 hour")
    cols = ["queue", "offered", "arrivals_per_h", "aht_s", "aht_from", "traffic_erlang",
            "sl_threshold_s", "sl_target_pct", "agents_needed", "agents_staffed",
            "shortfall"]  # fmt: skip
    rows = [
        # L1, L2 answered (talk 90, 180): AHT 135, A = 2 x 135 / 3600. One agent: M/M/1 waits
        # with P = A, SL = 1 - 0.075 e^(-(1 - 0.075) 20 / 135) = 0.936 >= 0.8.
        ("sales", 2, 2.0, 135.0, "interval", 0.075, 20.0, 80.0, 1, 1.0, 0.0),
        # L3, L4 unanswered: the queue's AHT over the range (135).
        ("sales", 2, 2.0, 135.0, "range", 0.075, 20.0, 80.0, 1, 0.5, 0.5),
        # S1-S5, talk 100, 200, 60: AHT 120, A = 5 x 120 / 3600 = 1/6; SL(1) = 0.855.
        ("support", 5, 5.0, 120.0, "interval", 1 / 6, 20.0, 80.0, 1, 8400 / 3600, 1 - 8400 / 3600),
        ("support", 3, 3.0, 120.0, "range", 0.1, 20.0, 80.0, 1, 2.5, -1.5),
    ]
    assert_rows(frame[cols], [dict(zip(cols, row, strict=True)) for row in rows])


def test_staffing_follows_the_queue_target(tmp_path: Path) -> None:
    # support at a 99 % target: SL(1) = 0.855; with 2 agents B(2) = 0.011765,
    # C = 2 B / (2 - A (1 - B)) = 0.012821, SL = 1 - C e^(-(2 - 1/6) 20 / 120) = 0.99056.
    targets = [QueueSettings(name="support", sl_target_pct=99.0)]
    with Store(tmp_path / "cb.duckdb", 0.05, queues=targets) as store:
        put_day(store)
        frame = staffing(store.cursor(), SPAN["start"], SPAN["end"], ["support"], "1 hour")
    assert list(frame["agents_needed"]) == [2, 2]  # 09:00: A = 0.1, SL(1) = 0.914, SL(2) = 0.997
    assert list(frame["sl_target_pct"]) == [99.0, 99.0]
