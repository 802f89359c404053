"""KPI query parameters: empty ranges, hostile values, the bucket whitelist, list parameters,
the command line, a definition in docs/kpis.md for every query, and the optimizers a query
turns off for itself."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import queries
from collectors.rows import QueueCall
from errors import QueryError
from queries.__main__ import main
from storage.store import Store
from tests.conftest import REPO
from tests.queries.kpi_fixture import at, put_day

KPIS = [
    "queue_summary", "totals", "queue_intervals", "agent_summary", "wait_distribution",
    "unanswered_by_reason", "day_hour_matrix",
]  # fmt: skip


@pytest.mark.parametrize("name", KPIS)
def test_an_empty_range_gives_no_rows_or_null_rates(store: Store, name: str) -> None:
    put_day(store)
    frame = queries.run(name, store.cursor(), start=at("08:00:00"), end=at("08:00:00"))
    if name == "totals":  # one row of zeros: no stays, no callers, rates NULL
        row = frame.iloc[0]
        assert (row["offered"], row["answered"], row["stays"]) == (0, 0, 0)
        assert frame[[c for c in frame.columns if c.endswith(("_pct", "_s"))]].isna().all(axis=None)
    elif name == "day_hour_matrix":  # the whole grid, empty
        assert len(frame) == 7 * 24 and frame["offered"].sum() == 0
        assert frame[["sl_answered_pct", "sl_inclusive_pct"]].isna().all(axis=None)
    else:
        assert len(frame) == 0


def test_queue_names_are_data_not_sql(store: Store) -> None:
    odd = """o'brien "q"; DROP TABLE queue_calls; --"""
    store.put(QueueCall(
        pbx="p", queue=odd, call_id="1", linkedid=None, caller_num=None, caller_name=None,
        entered_at=datetime(2026, 11, 2, 8, tzinfo=UTC), position=1, outcome="abandoned",
        wait_s=7.0, answered_at=None, agent=None, interface=None, talk_s=None, ended_by=None,
        ended_at=None, ring_attempts=0, source="ami",
    ))  # fmt: skip
    store.flush()
    cursor = store.cursor()
    hostile = ["x'); DROP TABLE queue_calls; --"]
    for name in KPIS:  # no rows, or totals' one row and day_hour_matrix's grid, all empty
        assert len(queries.run(name, cursor, queues=hostile)) in (0, 1, 7 * 24)
    frame = queries.run("queue_summary", cursor, queues=[odd])
    assert list(frame["queue"]) == [odd] and frame["abandon_rate_pct"][0] == 100.0
    assert list(queries.run("unanswered_by_reason", cursor, queues=[odd])["queue"]) == [odd] * 6
    assert queries.run("queue_summary", cursor, queues=[]).empty  # an empty list: no queue
    with pytest.raises(QueryError, match="Unknown TimeZone"):
        queries.run("day_hour_matrix", cursor, tz="UTC'; DROP TABLE queue_calls; --")
    assert len(queries.run("calls", cursor)) == 1


def test_unknown_bucket_is_refused_before_the_query_runs() -> None:
    closed = duckdb.connect()
    closed.close()  # running anything on it would fail with another message
    with pytest.raises(QueryError, match=r"bucket must be one of 15 minutes, .*; not '2 hours'"):
        queries.run("queue_intervals", closed, bucket="2 hours")
    with pytest.raises(QueryError, match="queues takes a list of names, not 'support'"):
        queries.run("queue_summary", closed, queues="support")


def test_list_parameters_split_on_commas_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert queries.from_text("queues", "support, sales,") == ["support", "sales"]
    assert queries.from_text("bucket", "1 day") == "1 day"
    with Store(tmp_path / "c.duckdb") as store:
        put_day(store)
    argv = ["queue_summary", "--db", str(tmp_path / "c.duckdb"), "--format", "csv"]
    assert main([*argv, "--param", "queues=sales,nope", "--param", "sl_s=30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("queue,offered,answered,abandoned,timeout,sl_answered_pct,")
    assert [line.split(",")[:2] for line in lines[1:]] == [["sales", "4"]]
    assert lines[1].split(",")[5] == "100.0"  # sl_s=30 bound as a number: L1 10 s, L2 25 s
    assert main(["queue_intervals", "--db", str(tmp_path / "c.duckdb"), "--param", "bucket=2h"])
    assert "bucket must be one of" in capsys.readouterr().err


def test_every_query_is_defined_in_the_kpi_document() -> None:
    document = (REPO / "docs" / "kpis.md").read_text()
    for name in queries.names():
        assert f"`{name}`" in document, f"docs/kpis.md does not define {name}"
        query = queries.load(name)
        assert query.params_help or not query.params, f"{name}: its params are not described"


def test_a_query_planned_without_an_optimizer_leaves_the_connection_as_it_was(
    tmp_path: Path,
) -> None:
    # agent_summary's header turns DuckDB's statistics propagation off for it alone: the
    # same rows as with it on, and the setting back to what it was after a run, or a failure.
    query = queries.load("agent_summary")
    assert query.disabled_optimizers == "statistics_propagation"
    with Store(tmp_path / "o.duckdb") as store:
        put_day(store)
        con = store.cursor()
        params = {"start": at("07:00:00"), "end": at("10:30:00")}
        ours = queries.run("agent_summary", con, **params)
        setting = "SELECT current_setting('disabled_optimizers')"
        assert con.execute(setting).fetchone() == ("",)
        plain = queries.frame(con.execute(query.sql, {p: params.get(p) for p in query.params}))
        pd.testing.assert_frame_equal(ours, plain)
        assert len(ours) == 4
        with pytest.raises(QueryError, match="agent_summary failed: Conversion Error"):
            queries.run("agent_summary", con, start="not a time")
        assert con.execute(setting).fetchone() == ("",)


def test_a_malformed_optimizer_list_is_refused_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "odd.sql").write_text(
        "-- title: Odd\n-- disabled_optimizers: join_order; DROP TABLE x\nSELECT 1\n"
    )
    monkeypatch.setattr(queries, "QUERY_DIR", tmp_path)
    queries.load.cache_clear()
    try:
        with pytest.raises(QueryError, match="odd: disabled_optimizers must be names and commas"):
            queries.load("odd")
    finally:
        queries.load.cache_clear()
