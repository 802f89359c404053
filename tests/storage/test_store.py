"""The store: one writer, batched appends, flush, and a plain error when the file is held."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors.rows import QueueCall, RawEvent
from errors import StoreBusyError
from storage.store import Store, connect

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def call(i: int) -> QueueCall:
    return QueueCall(
        pbx="p", queue="support", call_id=f"1.{i}", linkedid=f"1.{i}", caller_num="100",
        caller_name="José", entered_at=T0 + timedelta(seconds=i), position=1,
        outcome="answered", wait_s=2.5, answered_at=T0 + timedelta(seconds=i + 2.5),
        agent="Alice", interface="PJSIP/1001", talk_s=30.0, ended_by="agent",
        ended_at=T0 + timedelta(seconds=i + 32.5), ring_attempts=1, source="ami",
    )  # fmt: skip


def test_rows_are_written_in_batches_and_read_back(store: Store) -> None:
    for i in range(1000):
        store.put(call(i))
    store.put(RawEvent("p", 1, T0, "QueueCallerJoin", "1.0", '{"Event": "QueueCallerJoin"}'))
    store.flush()
    cur = store.cursor()
    (n, name, entered) = cur.execute(
        "SELECT count(*), any_value(caller_name), min(entered_at) FROM queue_calls"
    ).fetchone() or (0, None, None)
    assert (n, name, entered) == (1000, "José", T0)
    assert store.rows_written == 1001
    assert store.batches_written < 20  # batched, never one insert per row


def test_close_writes_everything_queued(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path, flush_interval_s=5.0) as s:  # long interval: only close() can flush
        for i in range(10):
            s.put(call(i))
    con = connect(path, read_only=True)
    assert con.execute("SELECT count(*) FROM queue_calls").fetchone() == (10,)


def test_schema_is_safe_to_apply_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as s:
        s.put(call(1))
    with Store(path) as s:
        assert s.cursor().execute("SELECT count(*) FROM queue_calls").fetchone() == (1,)


def test_a_file_held_by_another_process_gives_a_plain_error(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb,sys,time; c=duckdb.connect({str(path)!r}); print('ok', flush=True); "
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(StoreBusyError, match="held by another process"):
            connect(path, read_only=True)
    finally:
        holder.kill()
        holder.wait()
