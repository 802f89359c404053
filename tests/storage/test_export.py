"""Parquet exports: closed days only, hive partitions, zstd, idempotent, retention, grace."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import queries
from collectors.rows import QueueCall, RawEvent
from errors import StoreError
from settings import AgentSettings, QueueSettings
from storage.export import NOT_EXPORTED, PARTITIONED, UNPARTITIONED, _exclusive, export
from storage.manifest import read_manifest
from storage.store import Store
from tests.queries.kpi_fixture import DAY, at, put_day
from tests.storage.test_agent_days import asof_joins

AFTER = DAY + timedelta(days=1, hours=3)  # 03:00 the next day: the fixture's day is closed


def call(call_id: str, entered: datetime, pbx: str = "p") -> QueueCall:
    return QueueCall(
        pbx=pbx, queue="support", call_id=call_id, linkedid=call_id, caller_num="1",
        caller_name=None, entered_at=entered, position=1, outcome="abandoned", wait_s=9.0,
        answered_at=None, agent=None, interface=None, talk_s=None, ended_by=None,
        ended_at=entered + timedelta(seconds=9), ring_attempts=0, source="ami", gap=False,
    )  # fmt: skip


@pytest.fixture
def day(store: Store) -> Store:
    put_day(store)
    return store


def test_closed_days_go_to_hive_partitions_in_zstd(day: Store, tmp_path: Path) -> None:
    day.put(call("today", AFTER - timedelta(hours=1)))  # the day not closed yet
    day.put(call("other-pbx", at("11:00:00"), pbx="b/2"))  # a name that needs quoting
    day.flush()
    out = tmp_path / "export"
    report = export(day.cursor(), out, now=AFTER)
    manifest = read_manifest(out)
    assert manifest is not None and manifest.version == report.version == 1
    assert sorted(manifest.tables["queue_calls"]) == ["2026-11-02/b/2", "2026-11-02/p"]
    files = manifest.files("queue_calls")
    assert files[1].startswith("queue_calls/date=2026-11-02/pbx=p/v000001-")
    assert files[0].startswith("queue_calls/date=2026-11-02/pbx=b%2F2/")
    meta = pq.ParquetFile(out / files[1]).metadata
    assert meta.num_rows == 12 and meta.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_table(out / files[1]).column_names[-1] == "rowid"
    assert manifest.tables["member_states"]["2026-11-02/p"].rows == 17
    con = queries.dataset_connection(out)
    assert con.execute("SELECT count(*) FROM queue_calls").fetchone() == (13,)  # not `today`


def test_rerunning_replaces_and_never_duplicates(day: Store, tmp_path: Path) -> None:
    out = tmp_path / "export"
    first = export(day.cursor(), out, now=AFTER)
    again = export(day.cursor(), out, now=AFTER)
    assert (again.version, again.written, again.unchanged) == (1, 0, first.written)
    forced = export(day.cursor(), out, now=AFTER, force=True)
    assert forced.version == 2 and forced.written == first.written
    con = queries.dataset_connection(out)
    assert con.execute("SELECT count(*) FROM queue_calls").fetchone() == (12,)
    # A stay that ends after midnight is written late: only its day's partitions are
    # rewritten, of queue_calls and of the three rollups recomputed from its day's stays.
    day.put(call("late", at("23:59:00")))
    day.flush()
    late = export(day.cursor(), out, now=AFTER)
    assert late.written == 4
    assert [
        late.tables[t] for t in ("queue_calls", "stay_quarters", "stay_waits", "agent_counts")
    ] == [1, 1, 1, 1]
    con = queries.dataset_connection(out)
    assert con.execute("SELECT count(*) FROM queue_calls").fetchone() == (13,)


def test_replaced_files_stay_for_the_grace_period(day: Store, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(day.cursor(), out, now=AFTER)
    v1 = set(out.rglob("*.parquet"))
    export(day.cursor(), out, now=AFTER + timedelta(minutes=1), force=True, grace_s=600)
    assert v1 < set(out.rglob("*.parquet"))  # v1 retired, still there for readers
    report = export(day.cursor(), out, now=AFTER + timedelta(minutes=12), grace_s=600)
    assert report.files_deleted == len(v1) and not v1 & set(out.rglob("*.parquet"))
    manifest = read_manifest(out)
    assert manifest is not None and manifest.retired == []


def test_files_of_a_crashed_export_are_removed(day: Store, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(day.cursor(), out, now=AFTER)
    stray = out / "queue_calls" / "date=2026-11-02" / "pbx=p" / ".tmp-v000009-dead.parquet"
    stray.write_bytes(b"half a file")
    assert export(day.cursor(), out, now=AFTER).files_deleted == 1 and not stray.exists()


def test_since_until_export_only_those_days(store: Store, tmp_path: Path) -> None:
    for n in range(5):
        store.put(call(f"d{n}", DAY + timedelta(days=n, hours=9)))
    store.flush()
    out = tmp_path / "export"
    now = DAY + timedelta(days=10)
    export(store.cursor(), out, since=date(2026, 11, 3), until=date(2026, 11, 5), now=now)
    manifest = read_manifest(out)
    assert manifest is not None
    assert sorted(manifest.tables["queue_calls"]) == ["2026-11-03/p", "2026-11-04/p"]
    export(store.cursor(), out, now=now)  # then everything closed, the rest added
    manifest = read_manifest(out)
    assert manifest is not None and len(manifest.tables["queue_calls"]) == 5


def test_raw_events_follow_their_retention(store: Store, tmp_path: Path) -> None:
    now = DAY + timedelta(days=40)
    for age in (1, 10, 35):
        store.put(RawEvent("p", 1, now - timedelta(days=age), "QueueCallerJoin", None, "x"))
    store.flush()
    out = tmp_path / "export"
    export(store.cursor(), out, now=now)  # retention 0: all kept
    manifest = read_manifest(out)
    assert manifest is not None and len(manifest.tables["raw_events"]) == 3
    report = export(store.cursor(), out, now=now, raw_retention_days=30)
    assert report.removed == 1
    manifest = read_manifest(out)
    assert manifest is not None and len(manifest.tables["raw_events"]) == 2


def test_every_table_of_the_store_is_exported(store: Store) -> None:
    tables = store.cursor().execute("SELECT table_name FROM duckdb_tables()").fetchall()
    assert sorted(t for (t,) in tables) == sorted([*PARTITIONED, *UNPARTITIONED, *NOT_EXPORTED])


def test_one_export_into_a_folder_at_a_time(day: Store, tmp_path: Path) -> None:
    out = tmp_path / "export"
    out.mkdir()
    with _exclusive(out), pytest.raises(StoreError, match="another export"):
        export(day.cursor(), out, now=AFTER)


def test_an_empty_store_exports_an_empty_dataset(store: Store, tmp_path: Path) -> None:
    export(store.cursor(), tmp_path / "x", now=AFTER)
    con = queries.dataset_connection(tmp_path / "x")
    frame = queries.run("queue_summary", con)
    assert frame.empty


def test_a_dataset_plans_the_presence_fold_as_the_store_does(day: Store, tmp_path: Path) -> None:
    # The store's connection settings (storage/store.py `configure`) hold for an export too.
    export(day.cursor(), tmp_path / "x", now=AFTER)
    con = queries.dataset_connection(tmp_path / "x")
    assert asof_joins(con, start=DAY, end=DAY + timedelta(hours=15)) == 2


def test_pandas_reads_the_files_the_manifest_lists(day: Store, tmp_path: Path) -> None:
    export(day.cursor(), tmp_path, now=AFTER)
    export(day.cursor(), tmp_path, now=AFTER, force=True)  # v1 files retired, still on disk
    files = queries.dataset_files(tmp_path, "queue_calls")
    assert len(files) == 1 and files[0].name.startswith("v000002-")
    frame = pd.read_parquet(files, partitioning=None)  # each file has all columns, pbx too
    assert len(frame) == 12 and str(frame["entered_at"].dtype) == "datetime64[us, UTC]"


def test_a_missing_export_says_where_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no export there yet"):
        queries.dataset_connection(tmp_path)


def test_readers_never_fail_while_exports_rerun(day: Store, tmp_path: Path) -> None:
    """1,000 queries on the dataset while it is re-exported (every file replaced, replaced
    files deleted after a 2 s grace) in a loop: no error, and every result equals the live
    store's. Each reader connection runs 10 queries, then a new one sees the newest export."""
    out = tmp_path / "export"
    export(day.cursor(), out, now=AFTER)
    span = {"start": DAY, "end": DAY + timedelta(days=1)}
    live = {name: queries.run(name, day.cursor(), **_own(name, span)) for name in set(CHECKED)}
    stop = threading.Event()
    versions: list[int] = []

    def rerun() -> None:
        cursor = day.cursor()
        while not stop.wait(0.1):
            versions.append(export(cursor, out, now=AFTER, force=True, grace_s=2).version)

    writer = threading.Thread(target=rerun)
    writer.start()
    try:
        for n in range(1000):
            if n % 10 == 0:
                con = queries.dataset_connection(out)
            name = CHECKED[n % len(CHECKED)]
            frame = queries.run(name, con, **_own(name, span))
            pd.testing.assert_frame_equal(frame, live[name])
            if n % 10 == 9:
                con.close()
    finally:
        stop.set()
        writer.join()
    assert len(versions) > 10  # the files really were replaced many times meanwhile


# Mostly the cheapest query (7 ms), so that the 1,000 take seconds on a busy machine; every
# query is compared with the store's once below.
CHECKED = ["unanswered_by_reason"] * 8 + ["calls", "totals"]
HISTORY = [n for n in queries.names() if not n.startswith("live_")]  # live ones read now()


@pytest.mark.parametrize("name", HISTORY)
def test_every_query_gives_the_same_on_the_dataset(tmp_path: Path, name: str) -> None:
    """With configured targets and agents too: the configuration tables are exported."""
    targets = [QueueSettings(name="support", sl_threshold_s=30.0, sl_target_pct=90.0)]
    agents = [AgentSettings(interface="PJSIP/1001", name="Alice Martin")]
    with Store(tmp_path / "cb.duckdb", 0.05, agents=agents, queues=targets) as store:
        put_day(store)
        export(store.cursor(), tmp_path / "export", now=AFTER)
        params = _own(name, {"start": DAY, "end": DAY + timedelta(days=1)})
        want = queries.run(name, store.cursor(), **params)
    got = queries.run(name, queries.dataset_connection(tmp_path / "export"), **params)
    pd.testing.assert_frame_equal(got, want)


def _own(name: str, params: dict[str, datetime]) -> dict[str, datetime]:
    return {k: v for k, v in params.items() if k in queries.load(name).params}


def _older_export(
    day: Store, out: Path, table: str, change: Callable[[pa.Table], pa.Table]
) -> duckdb.DuckDBPyConnection:
    """The day exported into `out`, then each file of `table` rewritten by `change` (as an
    older version wrote it); a dataset connection on it."""
    export(day.cursor(), out, now=AFTER)
    manifest = read_manifest(out)
    assert manifest is not None
    for file in manifest.files(table):
        pq.write_table(change(pq.read_table(out / file)), out / file)
    return queries.dataset_connection(out)


def test_an_export_of_an_older_version_gets_its_rollups_computed(
    day: Store, tmp_path: Path
) -> None:
    # caller_stays as exported before it held its callers' figures: the dataset connection
    # computes every rollup from the exported stays instead of reading them.
    con = _older_export(
        day, tmp_path / "export", "caller_stays", lambda t: t.drop_columns(["caller_wait_s"])
    )
    want = queries.run("totals", day.cursor())
    got = queries.run("totals", con)
    assert want["multi_stay_callers"].iloc[0] > 0
    pd.testing.assert_frame_equal(got, want)


def test_an_export_whose_waits_lack_the_unknown_ones_gets_them_computed(
    day: Store, tmp_path: Path
) -> None:
    # stay_waits as exported before it held the stays of unknown wait: same columns, fewer
    # stays than queue_calls; the dataset connection counts them and computes it again.
    con = _older_export(
        day, tmp_path / "export", "stay_waits", lambda t: t.filter(pc.is_valid(t["wait_whole_s"]))
    )
    stays = "SELECT (SELECT count(*) FROM queue_calls), (SELECT sum(stays) FROM stay_waits)"
    ((counted, kept),) = con.execute(stays).fetchall()
    assert counted == kept == day.cursor().execute(stays).fetchall()[0][1]
    unknown = "SELECT count(*) FROM stay_waits WHERE wait_whole_s IS NULL"
    assert con.execute(unknown).fetchall()[0][0] > 0
    for name in ("wait_distribution", "queue_summary"):
        pd.testing.assert_frame_equal(queries.run(name, con), queries.run(name, day.cursor()))
