"""`queries.frame` builds through Arrow the very DataFrame DuckDB's `.df()` gives: same columns,
dtypes and values, on every named query (the fixture's day, live state, empty results) and on
each column type it converts, with and without NULLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd
import pytest

import queries
from storage.store import Store
from tests.queries.kpi_fixture import at, put_day
from tests.queries.live_fixture import seed

# A value for the parameters a query cannot run without; the rest are left NULL.
NEEDED = {"bucket": "1 hour", "tz": "UTC", "limit": 10, "window_s": 3600}


def both(
    con: duckdb.DuckDBPyConnection, sql: str, params: object = None, *, values: bool = True
) -> None:
    ours, theirs = queries.frame(con.execute(sql, params)), con.execute(sql, params).df()
    if values:
        pd.testing.assert_frame_equal(ours, theirs)
    else:  # a live query's ages move with now() between the two runs
        assert ours.shape == theirs.shape
        pd.testing.assert_series_equal(ours.dtypes, theirs.dtypes)


@pytest.mark.parametrize("span", ["day", "empty"])
def test_every_named_query_gives_the_frame_df_gives(store: Store, span: str) -> None:
    put_day(store)
    seed(store, datetime.now(UTC) - timedelta(minutes=1))
    lo = at("00:00:00")
    hi = lo + timedelta(days=1) if span == "day" else lo
    con = store.cursor()
    for name in queries.names():
        query = queries.load(name)
        values = {p: NEEDED.get(p) for p in query.params}
        values.update({k: v for k, v in {"start": lo, "end": hi}.items() if k in values})
        both(con, query.sql, values, values=not name.startswith("live_"))


@pytest.mark.parametrize("where", ["", "WHERE s IS NULL", "WHERE false"])
def test_each_converted_type_with_and_without_nulls(where: str) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = """SELECT * FROM (VALUES
        ('a', NULL::VARCHAR, 1::INTEGER, 2::INTEGER, 3::BIGINT, NULL::BIGINT, 1.5::DOUBLE,
         true, NULL::BOOLEAN, TIMESTAMPTZ '2026-01-01 00:00:00+00', TIMESTAMP '2026-01-01',
         3::SMALLINT, 4::TINYINT, 2.5::FLOAT),
        (NULL, NULL, 2, NULL, 4, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL)
    ) AS t(s, s_null, i, i_null, b, b_null, d, bo, bo_null, tz, ts, sm, ti, f)"""
    both(con, f"{rows} {where}")
    # Types Arrow would shape otherwise go to .df() itself.
    both(con, "SELECT DATE '2026-01-01' AS d, 5::HUGEINT AS h, 1.5::DECIMAL(10, 1) AS x")
    both(con, "SELECT MAP {'Lunch': 60.0} AS m, [1, 2] AS l, INTERVAL 5 MINUTES AS i")
