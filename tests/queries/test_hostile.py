"""Hostile parameters for every named query (hypothesis): quotes, SQL fragments, huge and
odd values, wrong types, unknown queues. Each run returns a frame or raises QueryError with
a message, never another exception; and nothing is ever written, whatever the text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import queries
from errors import QueryError
from storage.store import Store
from tests.auth.conftest import call

INJECTIONS = [
    "'", "''", '"', "\\", ";", "--", "/*", "\x00", "%s", "{0}", "$start", "?",
    "'; DROP TABLE queue_calls; --",
    "x' OR '1'='1",
    "support') OR 1=1 --",
    "1; DELETE FROM queue_calls",
    "'); COPY queue_calls TO '/tmp/callboard-leak.csv'; --",
    "ATTACH '/tmp/callboard-evil.duckdb' AS evil",
    "9999-99-99", "2026-02-30", "-infinity", "NaN", "1e309", "0x7fffffff",
    "Europe/Nowhere", "1 hour'); --", "15 minutes; DROP TABLE queue_calls",
    "é" * 10_000, "q" * 100_000,
]  # fmt: skip
TEXT = st.one_of(st.sampled_from(INJECTIONS), st.text(max_size=100))
VALUES = st.one_of(
    TEXT,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(timezones=st.sampled_from([UTC, None])),
    st.dates(),
    st.timedeltas(),
    st.sampled_from([datetime.min, datetime.max, date.min, date.max]),
    st.lists(TEXT, max_size=4),
    st.tuples(TEXT, st.integers()),
    st.lists(st.integers(), max_size=3),
    st.binary(max_size=20),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def snapshot(store: Store) -> dict[str, int]:
    """Every table and its row count: what a successful injection would change."""
    cursor = store.cursor()
    try:
        tables = [r[0] for r in cursor.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]  # fmt: skip
        counts = {}
        for table in tables:
            # Names from the catalog itself (not input), quoted as identifiers.
            row = cursor.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
            counts[table] = int(row[0]) if row else -1
        return counts
    finally:
        cursor.close()


@pytest.fixture
def seeded(store: Store) -> Store:
    store.put(call("support", "1.1"))
    store.put(call("sales", "2.1", "abandoned"))
    store.flush()
    return store


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=st.sampled_from(queries.names()), data=st.data())
def test_hostile_parameters_are_refused_or_handled_and_change_nothing(
    seeded: Store, name: str, data: st.DataObject
) -> None:
    before = snapshot(seeded)
    params: dict[str, Any] = {
        p: data.draw(VALUES, label=p) for p in queries.load(name).params if data.draw(st.booleans())
    }
    if data.draw(st.booleans()):
        params[data.draw(st.sampled_from(["evil", "start; --", "queues"]))] = "x"
    cursor = seeded.cursor()  # the writer's own connection: a write would succeed if tried
    try:
        frame = queries.run(name, cursor, **params)
        assert isinstance(frame, pd.DataFrame)
    except QueryError as e:
        assert str(e).startswith(name) or "unknown" in str(e), str(e)
        assert len(str(e)) < 2_000  # a message a person reads, not a dump
    finally:
        cursor.close()
    assert snapshot(seeded) == before
    assert not Path("/tmp/callboard-leak.csv").exists()
    assert not Path("/tmp/callboard-evil.duckdb").exists()


@pytest.mark.parametrize("queue", INJECTIONS[:12])
def test_an_unknown_or_hostile_queue_name_matches_nothing(seeded: Store, queue: str) -> None:
    cursor = seeded.cursor()
    try:
        summary = queries.run("queue_summary", cursor, queues=[queue])
        assert set(summary["queue"].dropna()) <= {"All chosen queues (callers once)"}
        day = datetime.now(UTC) - timedelta(days=1)
        assert queries.run("calls", cursor, start=day).shape[0] == 2  # both calls still there
    finally:
        cursor.close()
