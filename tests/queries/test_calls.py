"""The `calls` named query: stable columns, bound start/end, values as written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import queries
from collectors.rows import QueueCall
from errors import QueryError
from storage.store import Store

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
STABLE = [
    "pbx",
    "queue",
    "call_id",
    "entered_at",
    "outcome",
    "wait_s",
    "agent",
    "talk_s",
    "ended_by",
    "source",
]


def put_calls(store: Store) -> None:
    for i, outcome in enumerate(["answered", "abandoned", "timeout"]):
        answered = outcome == "answered"
        store.put(QueueCall(
            pbx="p", queue="support", call_id=f"1.{i}", linkedid=f"1.{i}", caller_num="1",
            caller_name=None, entered_at=T0 + timedelta(hours=i), position=1, outcome=outcome,
            wait_s=10.0 * (i + 1), answered_at=T0 + timedelta(seconds=10) if answered else None,
            agent="Alice" if answered else None, interface=None,
            talk_s=50.0 if answered else None, ended_by="agent" if answered else None,
            ended_at=T0 + timedelta(hours=i, minutes=1), ring_attempts=1, source="ami",
        ))  # fmt: skip
    store.flush()


def test_calls_has_the_stable_columns_first(store: Store) -> None:
    put_calls(store)
    frame = queries.run("calls", store.cursor())
    assert list(frame.columns[: len(STABLE)]) == STABLE
    assert list(frame["outcome"]) == ["answered", "abandoned", "timeout"]
    assert list(frame["wait_s"]) == [10.0, 20.0, 30.0]


def test_calls_start_and_end_are_bound_and_half_open(store: Store) -> None:
    put_calls(store)
    frame = queries.run(
        "calls", store.cursor(), start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2)
    )
    assert list(frame["call_id"]) == ["1.1"]  # start inclusive, end exclusive


def test_hostile_parameter_values_are_data_not_sql(store: Store) -> None:
    put_calls(store)
    with pytest.raises(QueryError):
        queries.run("calls", store.cursor(), start="'; DROP TABLE queue_calls; --")
    assert len(queries.run("calls", store.cursor())) == 3


def test_unknown_query_and_parameter_are_clear_errors(store: Store) -> None:
    with pytest.raises(QueryError, match="unknown query 'nope'"):
        queries.run("nope", store.cursor())
    with pytest.raises(QueryError, match="unknown parameter 'colour'"):
        queries.run("calls", store.cursor(), colour="red")


def test_every_query_has_a_title_and_definition() -> None:
    for name in queries.names():
        q = queries.load(name)
        assert q.title and q.definition, name
