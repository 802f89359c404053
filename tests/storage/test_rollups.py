"""The rollups (storage/rollups.py) stay equal to the stays they sum, and the KPI queries that
read them give what the stays give, for any range.

Two checks carry it: after writes through every path (the writer in batches and out of order,
a queue_log import replacing gap stays, a threshold change, a file written without rollups)
each rollup table equals its macro recomputed from scratch; and for ranges cut anywhere (whole
quarters, mid-quarter, mid-day, open ends) each query read through the rollups equals the same
query read from the stays alone (forced by passing the threshold every queue has anyway, which
takes the stays-only path).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import queries
from bench import queries_flat
from collectors.rows import QueueCall, QueueParams, RingAttempt
from settings import QueueSettings
from storage import rollups
from storage.backfill import write_new
from storage.store import Store

DAY = datetime(2026, 3, 2, tzinfo=UTC)
OUTCOMES = ("answered", "answered", "answered", "abandoned", "timeout", "exitempty",
            "exitwithkey", "unknown")  # fmt: skip


def _stays(n: int, seed: int = 7) -> list[QueueCall]:
    """`n` stays over three days; about one caller in ten goes on into the other queue (a
    second stay with its linkedid), some across a quarter-hour or the midnight boundary."""
    rnd = random.Random(seed)
    stays: list[QueueCall] = []
    for i in range(n):
        if stays and rnd.random() < 0.1:
            first = stays[-1]
            entered = first.entered_at + timedelta(seconds=rnd.uniform(30, 1800))
            queue = "sales" if first.queue == "support" else "support"
            outcome = rnd.choice(OUTCOMES)
            wait = None if outcome == "unknown" else round(rnd.expovariate(1 / 25), 3)
            stays.append(replace(first, queue=queue, call_id=f"c{i}", entered_at=entered,
                                 outcome=outcome, wait_s=wait))  # fmt: skip
            continue
        entered = DAY + timedelta(seconds=rnd.uniform(0, 3 * 86400))
        outcome = rnd.choice(OUTCOMES)
        wait = None if outcome == "unknown" else round(rnd.expovariate(1 / 25), 3)
        if outcome == "answered" and i % 17 == 0:
            wait = None  # answered, its wait unknown (a queue_log COMPLETE without CONNECT)
        answered = outcome == "answered"
        talk = round(rnd.lognormvariate(5, 0.6), 3) if answered else None
        stays.append(QueueCall(
            pbx=rnd.choice(("p", "q")), queue=rnd.choice(("support", "sales")),
            call_id=f"c{i}", linkedid=f"c{i}", caller_num="555", caller_name=None,
            entered_at=entered, position=rnd.randint(1, 5), outcome=outcome, wait_s=wait,
            answered_at=entered + timedelta(seconds=wait) if answered and wait else None,
            agent="Alice" if answered else None, interface=None, talk_s=talk,
            ended_by=rnd.choice(("agent", "caller", "transfer")) if answered else None,
            ended_at=None if outcome == "unknown" else entered, ring_attempts=0, source="ami",
            gap=outcome == "unknown",
            left_position=rnd.randint(1, 3) if outcome == "abandoned" else None,
        ))  # fmt: skip
    return stays


def _rings(stays: list[QueueCall], seed: int = 3) -> list[RingAttempt]:
    """Up to three ring attempts per stay, started from its entering on to ~11 hours later
    (some the next UTC day), by Alice, Bob or a member without a name."""
    rnd = random.Random(seed)
    out: list[RingAttempt] = []
    for stay in stays:
        started = stay.entered_at
        for _ in range(rnd.randint(0, 3)):
            started += timedelta(seconds=rnd.uniform(1, 40_000))
            out.append(RingAttempt(
                pbx=stay.pbx, queue=stay.queue, call_id=stay.call_id,
                agent=rnd.choice(("Alice", "Bob", None)), interface="PJSIP/1000",
                started_at=started, ring_s=15.0,
                result=rnd.choice(("noanswer", "canceled", "answered")), source=stay.source,
            ))  # fmt: skip
    return out


# Each rollup as stored, and as its macro computes it from all the stays now (caller_stays:
# as `rollups.rebuild` makes it from scratch, in a transaction rolled back after: its caller
# figures are computed over its own rows).
FRESH = {
    "stay_quarters": (
        "SELECT * FROM stay_quarters ORDER BY ALL",
        "SELECT * FROM stay_quarters_of(range_lo(NULL), range_hi(NULL), NULL, 5) ORDER BY ALL",
    ),
    "stay_waits": (
        "SELECT * FROM stay_waits ORDER BY ALL",
        "SELECT * FROM stay_waits_of(range_lo(NULL), range_hi(NULL)) ORDER BY ALL",
    ),
    "caller_stays": (
        "SELECT * FROM caller_stays ORDER BY ALL",
        "SELECT * FROM caller_stays ORDER BY ALL",
    ),
    "agent_counts": (
        "SELECT * FROM agent_counts ORDER BY ALL",
        "SELECT * FROM agent_counts_of(range_lo(NULL), range_hi(NULL)) ORDER BY ALL",
    ),
}


def _tables(store: Store) -> dict[str, pd.DataFrame]:
    """The rollup tables, checked equal to a recomputation from scratch."""
    con = store.cursor()
    out = {table: con.execute(stored_sql).df() for table, (stored_sql, _) in FRESH.items()}
    con.execute("BEGIN TRANSACTION")
    rollups.rebuild(con, callers=True)
    for table, (_, fresh_sql) in FRESH.items():
        stored = out[table]
        fresh = con.execute(fresh_sql).df()
        pd.testing.assert_frame_equal(stored, fresh.astype(stored.dtypes), check_exact=False)
    con.execute("ROLLBACK")
    return out


def test_writes_in_any_order_and_batch_keep_the_rollups_equal_to_the_stays(
    store: Store,
) -> None:
    stays = _stays(3000)
    rings = _rings(stays)
    rows: list[QueueCall | RingAttempt] = [*stays, *rings]
    # Stays end in any order (a late one reopens its bucket); the collector writes a stay's
    # ring attempts as they ring, in batches of their own.
    random.Random(1).shuffle(rows)
    for i, row in enumerate(rows):
        store.put(row)
        if i % 500 == 0:
            store.flush()
    store.flush()
    tables = _tables(store)
    assert tables["stay_quarters"]["stays"].sum() == 3000
    assert tables["agent_counts"]["attempts"].sum() == sum(r.agent is not None for r in rings)
    assert tables["agent_counts"]["answered"].sum() == sum(
        s.outcome == "answered" and s.agent is not None for s in stays
    )


def test_a_queue_log_import_that_replaces_gap_stays_refreshes_their_buckets(
    store: Store,
) -> None:
    stays = _stays(400)
    rows: list[QueueCall | RingAttempt] = [*stays, *_rings(stays)]
    for row in rows:
        store.put(row)
    store.flush()
    # queue_log knows how the gap stays ended: their replacements enter a second later, and
    # their ring attempts replace the collector's (which started up to hours later).
    known = [
        replace(s, outcome="answered", wait_s=7.0, source="queue_log", gap=False,
                entered_at=s.entered_at + timedelta(seconds=1), agent="Carol")
        for s in stays if s.outcome == "unknown"
    ]  # fmt: skip
    rings = _rings(known, seed=5)
    added, replaced = store.in_writer(lambda con: write_new(con, known, rings)) or (0, 0)
    assert added == replaced == len(known) > 0
    tables = _tables(store)
    assert "unknown" not in set(tables["stay_quarters"]["outcome"])
    assert "Carol" in set(tables["agent_counts"]["agent"])


def test_a_changed_threshold_recounts_the_stays_within_it(store: Store) -> None:
    for stay in _stays(500):
        store.put(stay)
    store.flush()
    before = queries.run("queue_summary", store.cursor())
    store.put(QueueParams("p", "support", DAY, 60, None, None, None, None, None, None, None,
                          None, None, None))  # fmt: skip
    store.put(QueueParams("q", "support", DAY, 60, None, None, None, None, None, None, None,
                          None, None, None))  # fmt: skip
    store.flush()
    _tables(store)
    after = queries.run("queue_summary", store.cursor()).set_index("queue")
    assert after.loc["support", "sl_threshold_s"] == 60
    assert (after.loc["support", "answered_within_sl"]
            > before.set_index("queue").loc["support", "answered_within_sl"])  # fmt: skip


def _old_file(path: Path, change: str) -> bool:
    """A store file with 300 stays, then `change` run on it as by hand; True when its rollups
    are then stale."""
    with Store(path, flush_interval_s=0.05) as store:
        for stay in _stays(300):
            store.put(stay)
        store.flush()
        store.in_writer(lambda con: con.execute(change))
        return rollups.stale(store.cursor())


def test_a_file_without_rollups_gets_them_at_open(tmp_path: Path) -> None:
    # As a file written before rollups existed (or rows written by hand) would be.
    path = tmp_path / "old.duckdb"
    assert _old_file(
        path, "DELETE FROM stay_quarters; DELETE FROM stay_waits; DELETE FROM agent_counts"
    )
    with Store(path) as store:
        assert not rollups.stale(store.cursor())
        _tables(store)


def test_a_file_whose_waits_lack_the_unknown_ones_gets_them_at_open(tmp_path: Path) -> None:
    # stay_waits as a version before the stays of unknown wait were in it kept it: only known
    # waits, the column NOT NULL. Counted against the stays, it is made again.
    path = tmp_path / "old.duckdb"
    assert _old_file(
        path,
        "DELETE FROM stay_waits WHERE wait_whole_s IS NULL; "
        "ALTER TABLE stay_waits ALTER COLUMN wait_whole_s SET NOT NULL",
    )
    with Store(path) as store:
        tables = _tables(store)
        assert tables["stay_waits"].wait_whole_s.isna().any()


def test_a_file_of_another_version_opens_with_new_targets(tmp_path: Path) -> None:
    # Rollups with an older version's columns, and a [[queue]] threshold that changed since:
    # the tables are made again before the new threshold recounts them.
    path = tmp_path / "old.duckdb"
    _old_file(path, "ALTER TABLE stay_quarters DROP COLUMN dumped")
    with Store(path, queues=[QueueSettings(name="support", sl_threshold_s=60)]) as store:
        _tables(store)
        summary = queries.run("queue_summary", store.cursor()).set_index("queue")
        assert summary.loc["support", "sl_threshold_s"] == 60


def test_a_file_whose_caller_stays_lack_the_caller_figures_gets_them_at_open(
    tmp_path: Path,
) -> None:
    # caller_stays as a version before the stored caller figures wrote it: its stays' counts
    # agree with queue_calls, so only its shape tells.
    path = tmp_path / "old.duckdb"
    assert not _old_file(path, "ALTER TABLE caller_stays DROP COLUMN caller_wait_s")
    with Store(path) as store:
        tables = _tables(store)
        assert len(tables["caller_stays"]) > 0


RANGES = [
    (None, None),
    (DAY, DAY + timedelta(days=1)),  # whole days and quarters
    (DAY + timedelta(hours=7, minutes=5), DAY + timedelta(hours=7, minutes=10)),  # in a quarter
    (DAY + timedelta(hours=7, minutes=5), DAY + timedelta(hours=7, minutes=20)),  # across one
    (DAY + timedelta(hours=5, seconds=1), DAY + timedelta(days=2, hours=3, minutes=14)),
    (DAY - timedelta(hours=1), DAY + timedelta(days=1, hours=23)),  # a local day in UTC+1
    (DAY + timedelta(days=1, minutes=30), None),
    (None, DAY + timedelta(days=1, seconds=17)),
]


@pytest.mark.parametrize(("start", "end"), RANGES)
@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("queue_summary", {}),
        ("queue_intervals", {"bucket": "15 minutes", "tz": "Asia/Kathmandu"}),
        ("queue_intervals", {"bucket": "1 day", "tz": "Europe/Paris"}),
        ("day_hour_matrix", {"tz": "America/St_Johns"}),
    ],
)
def test_a_range_read_through_the_rollups_equals_the_stays(
    store_with_stays: Store, start: datetime | None, end: datetime | None, name: str,
    extra: dict[str, str],
) -> None:  # fmt: skip
    con = store_with_stays.cursor()
    ours = queries.run(name, con, start=start, end=end, **extra)
    # Every queue has the default 20 s: passing it takes the stays-only path, same figures.
    stays_only = queries.run(name, con, start=start, end=end, sl_s=20, **extra)
    pd.testing.assert_frame_equal(ours, stays_only, check_exact=False, rtol=1e-9)


def _bounds(start: datetime | None, end: datetime | None) -> dict[str, datetime]:
    """A range as bound parameters t0, t1, open ends as the first and last timestamps."""
    return {"t0": start or datetime.min.replace(tzinfo=UTC),
            "t1": end or datetime.max.replace(tzinfo=UTC)}  # fmt: skip


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_wait_bands_and_reasons_equal_the_stays_for_any_range(
    store_with_stays: Store, start: datetime | None, end: datetime | None
) -> None:
    con = store_with_stays.cursor()
    raw = con.execute(
        "SELECT queue, outcome, outcome = 'answered' AS answered, wait_s FROM queue_calls "
        "WHERE entered_at >= $t0 AND entered_at < $t1",
        _bounds(start, end),
    ).df()
    bands = queries.run("wait_distribution", con, start=start, end=end)
    for row in bands.itertuples():
        # A band holds waits above its lower edge up to and including its upper one (0-10
        # holds 0 too; 120+ has no upper edge).
        mine = raw[(raw.queue == row.queue) & raw.wait_s.notna()]
        if row.from_s > 0:
            mine = mine[mine.wait_s > row.from_s]
        if pd.notna(row.to_s):
            mine = mine[mine.wait_s <= row.to_s]
        assert (row.answered, row.lost) == (mine.answered.sum(), (~mine.answered).sum()), row
    # answered_within_pct is of every answered stay, those of unknown wait too.
    for queue, rows in bands.groupby("queue"):
        mine = raw[raw.queue == queue]
        known = (mine.answered & mine.wait_s.notna()).sum()
        assert rows.answered_within.iloc[-1] == known
        answered = mine.answered.sum()
        pct = 100 * known / answered if answered else float("nan")  # NULL: none answered
        assert rows.answered_within_pct.iloc[-1] == pytest.approx(pct, nan_ok=True)
    assert set(bands.queue) == set(raw.queue)
    # Each reason's stays and mean wait, with the default short abandons (whole quarters from
    # stay_quarters) and others (every stay folded).
    for short in (5.0, 12.5):
        reasons = queries.run(
            "unanswered_by_reason", con, start=start, end=end, short_abandon_s=short
        ).set_index(["queue", "reason"])
        lost = raw[~raw.answered].assign(reason=raw.outcome)
        lost.loc[(lost.outcome == "abandoned") & (lost.wait_s < short), "reason"] = "short_abandon"
        want = lost.groupby(["queue", "reason"]).wait_s.agg(["size", "mean"])
        assert reasons.calls.sum() == len(lost)
        mine = reasons.loc[want.index]
        assert mine.calls.tolist() == want["size"].tolist()
        assert mine.wait_avg_s.to_numpy() == pytest.approx(want["mean"].to_numpy(), nan_ok=True)


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_caller_patience_counts_the_waits_the_stays_hold_for_any_range(
    store_with_stays: Store, start: datetime | None, end: datetime | None
) -> None:
    # caller_patience reads whole days from stay_waits: per queue and second, the waits that
    # ended then and the abandons among them equal those counted from the stays.
    con = store_with_stays.cursor()
    raw = con.execute(
        "SELECT queue, CAST(ceil(wait_s) AS BIGINT) AS t_s, count(*) AS ended, "
        "count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned_at FROM queue_calls "
        "WHERE outcome IN ('answered', 'abandoned') AND wait_s IS NOT NULL "
        "AND entered_at >= $t0 AND entered_at < $t1 GROUP BY ALL",
        _bounds(start, end),
    ).df()
    ours = queries.run("caller_patience", con, start=start, end=end)
    assert set(ours.queue) == set(raw.queue)
    ours = ours.assign(ended=ours.at_risk - ours.waiting).set_index(["queue", "t_s"])
    raw = raw.set_index(["queue", "t_s"]).sort_index()
    first = ours.loc[raw.index]
    assert (first.ended.to_numpy() == raw.ended.to_numpy()).all()
    assert (first.abandoned_at.to_numpy() == raw.abandoned_at.to_numpy()).all()
    # Only the seconds some wait ended at, and second 0.
    assert set(ours.index) == set(raw.index) | {(q, 0) for q in raw.index.get_level_values(0)}


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_totals_count_each_caller_once_as_the_stays_alone_do(
    store_with_stays: Store, start: datetime | None, end: datetime | None
) -> None:
    # The reference: bench/queries_flat.py's totals, hand-written over a flat copy of the stays
    # (every caller grouped from scratch), with the fixture's thresholds (20 s everywhere).
    con = store_with_stays.cursor()
    reference = con.execute(queries_flat.SQL["totals"], _bounds(start, end)).df()
    ours = queries.run("totals", con, start=start, end=end)
    assert ours["multi_stay_callers"].iloc[0] > 0 or start is not None
    pd.testing.assert_frame_equal(ours, reference, check_exact=False, rtol=1e-9,
                                  check_dtype=False)  # fmt: skip
    # Naming every queue groups every several-stay caller at query time (caller_figures) instead
    # of reading the figures stored for the callers wholly in the range: the same numbers.
    every_queue = queries.run("totals", con, start=start, end=end, queues=["support", "sales"])
    pd.testing.assert_frame_equal(ours, every_queue, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_agent_counts_equal_the_rows_for_any_range(
    store_with_stays: Store, start: datetime | None, end: datetime | None
) -> None:
    # agent_summary's counts read through agent_counts (whole UTC days) and
    # the rows at the edges, against the same counts grouped from the rows alone.
    con = store_with_stays.cursor()
    for queues in (None, ["sales"]):
        params = {**_bounds(start, end), "queues": queues}
        calls = con.execute(
            "SELECT agent, count(*) AS answered, coalesce(sum(talk_s), 0) AS talk_total_s, "
            "avg(talk_s) AS talk_avg_s FROM queue_calls WHERE outcome = 'answered' "
            "AND agent IS NOT NULL AND entered_at >= $t0 AND entered_at < $t1 "
            "AND ($queues IS NULL OR list_contains($queues, queue)) GROUP BY agent",
            params,
        ).df()
        rings = con.execute(
            "SELECT agent, count(*) AS ring_attempts, "
            "count(*) FILTER (WHERE result = 'noanswer') AS ring_noanswer FROM ring_attempts "
            "WHERE agent IS NOT NULL AND started_at >= $t0 AND started_at < $t1 "
            "AND ($queues IS NULL OR list_contains($queues, queue)) GROUP BY agent",
            params,
        ).df()
        expected = calls.merge(rings, on="agent", how="outer").set_index("agent").sort_index()
        ours = queries.run("agent_summary", con, start=start, end=end, queues=queues)
        ours = ours.set_index("agent")[list(expected.columns)]
        ours = ours[(ours.answered > 0) | (ours.ring_attempts > 0)]
        expected = expected.fillna({"answered": 0, "talk_total_s": 0, "ring_attempts": 0,
                                    "ring_noanswer": 0})  # fmt: skip
        assert len(expected) > 0 or start is not None
        pd.testing.assert_frame_equal(ours, expected, check_exact=False, rtol=1e-9,
                                      check_dtype=False)  # fmt: skip


def test_totals_of_a_range_that_cuts_a_caller_count_its_stays_in_the_range(
    store: Store,
) -> None:
    # Caller x: 10:00 support, timed out after 30 s; 10:10 sales, answered after 12 s; 10:20
    # back in support, answered after 4 s. Caller y: 10:30 support, abandoned after 2 s.
    ten = DAY + timedelta(hours=10)
    for call_id, caller, minute, queue, outcome, wait in (
        ("s1", "x", 0, "support", "timeout", 30.0),
        ("s2", "x", 10, "sales", "answered", 12.0),
        ("s3", "x", 20, "support", "answered", 4.0),
        ("s4", "y", 30, "support", "abandoned", 2.0),
    ):
        entered = ten + timedelta(minutes=minute)
        answered = outcome == "answered"
        store.put(QueueCall(
            pbx="p", queue=queue, call_id=call_id, linkedid=caller, caller_num=None,
            caller_name=None, entered_at=entered, position=1, outcome=outcome, wait_s=wait,
            answered_at=entered + timedelta(seconds=wait) if answered else None,
            agent="Bob" if answered else None, interface=None,
            talk_s=60.0 if answered else None, ended_by="agent" if answered else None,
            ended_at=entered + timedelta(seconds=wait + (60 if answered else 0)),
            ring_attempts=1, source="ami", gap=False, left_position=None,
        ))  # fmt: skip
    store.flush()
    con = store.cursor()
    cols = ["offered", "answered", "abandoned", "timeout", "stays", "multi_stay_callers",
            "answered_within_sl", "short_abandons", "asa_s"]  # fmt: skip

    def totals(start: datetime | None, end: datetime | None) -> list[float]:
        return [float(v) for v in queries.run("totals", con, start=start, end=end)[cols].iloc[0]]

    # Everything: x is one answered caller whose wait up to its first answer is 30 + 12 = 42 s,
    # over support's 20 s (the queue it entered first); y a short abandon.
    assert totals(None, None) == [2, 1, 1, 0, 4, 1, 0, 1, 42.0]
    # From 10:05: x is its sales and second support stays, answered after 12 s, within 20 s.
    assert totals(ten + timedelta(minutes=5), ten + timedelta(hours=1)) == [
        2, 1, 1, 0, 3, 1, 1, 1, 12.0]  # fmt: skip
    # 10:05 to 10:15: x is one stay, a caller like any other.
    assert totals(ten + timedelta(minutes=5), ten + timedelta(minutes=15)) == [
        1, 1, 0, 0, 1, 0, 1, 0, 12.0]  # fmt: skip
    # The middle range read x through caller_figures (its stored figures are over 3 stays).
    cut = con.execute(
        "SELECT count(*) FROM caller_figures($t0, $t1, NULL, true)",
        {"t0": ten + timedelta(minutes=5), "t1": ten + timedelta(hours=1)},
    ).fetchone()
    assert cut == (2,)
    _tables(store)


@pytest.fixture(scope="module")
def store_with_stays(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("rollups") / "callboard.duckdb"
    with Store(path, flush_interval_s=0.05) as store:
        for pbx in ("p", "q"):
            for queue in ("support", "sales"):
                store.put(QueueParams(pbx, queue, DAY, 20, None, None, None, None, None, None,
                                      None, None, None, None))  # fmt: skip
        stays = _stays(4000, seed=11)
        rows: list[QueueCall | RingAttempt] = [*stays, *_rings(stays)]
        for row in rows:
            store.put(row)
        store.flush()
        store.in_writer(queries_flat.prepare)  # the flat tables of the totals reference
        # flat_sl is per queue (the bench has one PBX): one row per queue, as both say 20 s.
        store.in_writer(
            lambda c: c.execute(
                "CREATE OR REPLACE TABLE flat_sl AS SELECT DISTINCT queue, sl FROM flat_sl"
            )
        )
        yield store


def test_wait_percentiles_are_taken_over_whole_seconds(store: Store) -> None:
    # Answered waits 0.2, 3.5 and 9.9 s count as 1, 4 and 10 s: p50 = 4, p90 at rank
    # 0.9 * 2 = 1.8: 4 + 0.8 * (10 - 4) = 8.8. The mean and the maximum stay exact.
    for i, wait in enumerate((0.2, 3.5, 9.9)):
        entered = DAY + timedelta(hours=i)
        store.put(QueueCall(
            pbx="p", queue="support", call_id=f"w{i}", linkedid=None, caller_num=None,
            caller_name=None, entered_at=entered, position=1, outcome="answered", wait_s=wait,
            answered_at=entered + timedelta(seconds=wait), agent="Alice", interface=None,
            talk_s=10.0, ended_by="agent", ended_at=entered, ring_attempts=1, source="ami",
            gap=False, left_position=None,
        ))  # fmt: skip
    store.flush()
    row = queries.run("queue_summary", store.cursor()).iloc[0]
    assert row["wait_answered_p50_s"] == pytest.approx(4.0)
    assert row["wait_answered_p90_s"] == pytest.approx(8.8)
    assert row["asa_s"] == pytest.approx((0.2 + 3.5 + 9.9) / 3)
    assert row["wait_answered_max_s"] == pytest.approx(9.9)


def test_a_stay_in_which_a_member_dumped_the_caller_counts_as_an_agent_dump(
    store: Store,
) -> None:
    # s1 was rung twice: Alice answered and hung up in the announcement (AGENTDUMP), then Bob
    # answered. s2 was answered at once. One agent dump in two offered stays, both answered.
    for i, call_id in enumerate(("s1", "s2")):
        entered = DAY + timedelta(minutes=10 * i)
        if call_id == "s1":
            store.put(
                RingAttempt(
                    "p",
                    "support",
                    "s1",
                    "Alice",
                    "PJSIP/alice",
                    entered + timedelta(seconds=3),
                    4.0,
                    "dumped",
                    "queue_log",
                )
            )
        store.put(QueueCall(
            pbx="p", queue="support", call_id=call_id, linkedid=None, caller_num=None,
            caller_name=None, entered_at=entered, position=1, outcome="answered", wait_s=20.0,
            answered_at=entered + timedelta(seconds=20), agent="Bob", interface=None,
            talk_s=60.0, ended_by="agent", ended_at=entered + timedelta(seconds=80),
            ring_attempts=2, source="queue_log", gap=False, left_position=None,
        ))  # fmt: skip
    store.flush()
    row = queries.run("queue_summary", store.cursor()).iloc[0]
    assert (row["offered"], row["answered"], row["agent_dumps"]) == (2, 2, 1)
    _tables(store)
