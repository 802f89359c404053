"""Per-queue service-level thresholds and targets (docs/kpis.md, "Targets"), worked by hand
on the KPI fixture's day (tests/queries/kpi_fixture.py).

Settings: support on every PBX 30 s / 90 %; sales on PBX `other` 5 s. QueueParams of PBX `p`:
support servicelevel 15 (the settings win), sales 10 then, newer, 30 (the newest counts), vip
0 (not set: 20 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import queries
from collectors.rows import QueueParams
from settings import QueueSettings
from storage.store import Store
from tests.queries.kpi_fixture import DAY, put_day
from tests.queries.test_kpis import assert_rows

SETTINGS = (
    QueueSettings("support", sl_threshold_s=30, sl_target_pct=90),
    QueueSettings("sales", pbx="other", sl_threshold_s=5),
)


def params(queue: str, servicelevel: int, hours: int, perf: float = 0.0) -> QueueParams:
    return QueueParams(
        "p", queue, DAY + timedelta(hours=hours), servicelevel, 0, "ringall", 0, 0, 0, 0, 0,
        perf, perf, 0,
    )  # fmt: skip


@pytest.fixture
def judged(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "t.duckdb", flush_interval_s=0.05, queues=SETTINGS) as store:
        put_day(store)
        for row in (params("support", 15, 7), params("sales", 10, 7),
                    params("sales", 30, 11, perf=50.0), params("vip", 0, 7)):  # fmt: skip
            store.put(row)
        store.flush()
        yield store


def test_queue_targets_say_where_each_threshold_comes_from(judged: Store) -> None:
    params_at = DAY + timedelta(hours=11)
    assert_rows(queries.run("queue_targets", judged.cursor()), [
        {"pbx": "other", "queue": "sales", "sl_threshold_s": 5.0,
         "sl_threshold_source": "settings", "sl_target_pct": 80.0, "sl_target_source": "default",
         "servicelevel_s": None, "sl_perf_pct": None, "sl_perf2_pct": None, "params_at": None},
        {"pbx": "p", "queue": "sales", "sl_threshold_s": 30.0,  # the newest servicelevel
         "sl_threshold_source": "asterisk", "sl_target_pct": 80.0, "sl_target_source": "default",
         "servicelevel_s": 30, "sl_perf_pct": 50.0, "sl_perf2_pct": 50.0,
         "params_at": params_at},
        {"pbx": None, "queue": "support", "sl_threshold_s": 30.0,  # every PBX
         "sl_threshold_source": "settings", "sl_target_pct": 90.0,
         "sl_target_source": "settings",
         "servicelevel_s": None, "sl_perf_pct": None, "sl_perf2_pct": None, "params_at": None},
        {"pbx": "p", "queue": "support", "sl_threshold_s": 30.0,  # settings over servicelevel
         "sl_threshold_source": "settings", "sl_target_pct": 90.0,
         "sl_target_source": "settings",
         "servicelevel_s": 15, "sl_perf_pct": 0.0, "sl_perf2_pct": 0.0,
         "params_at": DAY + timedelta(hours=7)},
        {"pbx": "p", "queue": "vip", "sl_threshold_s": 20.0,  # servicelevel 0: not set
         "sl_threshold_source": "default", "sl_target_pct": 80.0, "sl_target_source": "default",
         "servicelevel_s": 0, "sl_perf_pct": 0.0, "sl_perf2_pct": 0.0,
         "params_at": DAY + timedelta(hours=7)},
    ])  # fmt: skip
    only = queries.run("queue_targets", judged.cursor(), queues=["vip"])
    assert list(only["queue"]) == ["vip"]


def test_queue_summary_judges_each_queue_by_its_threshold(judged: Store) -> None:
    frame = queries.run("queue_summary", judged.cursor()).set_index("queue")
    support, sales = frame.loc["support"], frame.loc["sales"]
    # support at 30 s: S1 (5), S2 (20), S3 (30 <= 30) of 3 answered; inclusive 3 / 8.
    assert support["sl_threshold_s"] == 30.0
    assert support["answered_within_sl"] == 3 and support["sl_answered_pct"] == 100.0
    assert support["sl_inclusive_pct"] == 37.5
    # Asterisk's: 3 / 3; Perf2 with S4 (3 s) of S4, S5, S6 within: (3 + 1) / (3 + 3).
    assert support["sl_asterisk_perf_pct"] == 100.0
    assert support["sl_asterisk_perf2_pct"] == pytest.approx(400 / 6)
    # sales on PBX p at 30 s (its newest servicelevel): L1 (10), L2 (25); inclusive 2 / 4.
    assert sales["sl_threshold_s"] == 30.0
    assert (sales["sl_answered_pct"], sales["sl_inclusive_pct"]) == (100.0, 50.0)
    # sl_s replaces every threshold: the fixture's default figures come back.
    frame = queries.run("queue_summary", judged.cursor(), sl_s=20).set_index("queue")
    assert frame.loc["support", "sl_answered_pct"] == pytest.approx(200 / 3)
    assert frame.loc["sales", "sl_answered_pct"] == 50.0
    assert frame.loc["support", "sl_threshold_s"] == 20.0


def test_intervals_matrix_and_totals_use_the_thresholds(judged: Store) -> None:
    cursor = judged.cursor()
    intervals = queries.run("queue_intervals", cursor, bucket="1 hour")
    within = {(r.queue, r.bucket_start.hour): r.answered_within_sl for r in intervals.itertuples()}
    # 08:00-09:00: support S1, S2, S3 all within 30 s; sales L1, L2 within 30 s.
    assert within == {("sales", 8): 2, ("sales", 9): 0, ("support", 8): 3, ("support", 9): 0}
    matrix = queries.run("day_hour_matrix", cursor).set_index(["weekday", "hour"])
    assert matrix.loc[(1, 8), "answered_within_sl"] == 5  # was 3 (S1, S2, L1) at 20 s
    assert matrix.loc[(1, 8), "sl_answered_pct"] == 100.0
    # totals: c3 entered support first (30 s): its 30 s wait is within; S1, S2, L2 too.
    totals = queries.run("totals", cursor)
    assert totals["answered_within_sl"][0] == 4 and totals["sl_answered_pct"][0] == 100.0
    assert queries.run("totals", cursor, sl_s=20)["answered_within_sl"][0] == 2


def test_other_pbx_gets_the_settings_for_every_pbx(tmp_path: Path) -> None:
    # A stay on a PBX without a row of its own falls back to the [[queue]] without pbx.
    with Store(tmp_path / "t.duckdb", queues=SETTINGS[:1]) as store:
        put_day(store)
        frame = queries.run("queue_summary", store.cursor()).set_index("queue")
    assert frame.loc["support", "sl_threshold_s"] == 30.0
    assert frame.loc["sales", "sl_threshold_s"] == 20.0
