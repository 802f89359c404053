"""queue_log backfill: the facts the collector writes, idempotent, filling AMI's gaps."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import queries
from collectors.rows import QueueCall
from storage import backfill
from storage.backfill import backfill_file
from storage.queue_log import fold_calls
from storage.store import Store
from tests.conftest import REPO
from tests.replay import replay


def test_loading_twice_changes_nothing(store: Store, captures: Path) -> None:
    path = captures / "b_mixed" / "queue_log"
    first = backfill_file(store, path, "lab")
    second = backfill_file(store, path, "lab")
    assert (first.calls_added, first.calls_known) == (20, 0)
    assert (second.calls_added, second.calls_known) == (0, 20)
    calls = queries.read("calls")
    assert len(calls) == 20 and set(calls["source"]) == {"queue_log"}
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM ring_attempts").fetchone() == (25,)


def test_calls_seen_live_are_kept_and_missed_ones_filled(store: Store, captures: Path) -> None:
    folder = captures / "b_mixed"
    rows, _ = replay(folder)
    seen = [r for r in rows if isinstance(r, QueueCall)]
    # The collector saw the first 12 stays; one of them only as unknown across a gap.
    for call in seen[:11]:
        store.put(call)
    store.put(dataclasses.replace(seen[11], outcome="unknown", agent=None, gap=True))
    store.flush()
    report = backfill_file(store, folder / "queue_log", "lab")
    assert (report.calls_added, report.calls_replaced, report.calls_known) == (9, 1, 11)
    calls = queries.read("calls").set_index("call_id")
    assert len(calls) == 20
    assert (calls["source"] == "ami").sum() == 11
    assert calls.loc[seen[11].call_id, "source"] == "queue_log"
    assert calls.loc[seen[11].call_id, "outcome"] == seen[11].outcome
    assert "unknown" not in set(calls["outcome"])


def test_chunked_fold_equals_whole_fold(
    store: Store, captures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = captures / "a_all_answered" / "queue_log"
    monkeypatch.setattr(backfill, "CHUNK_LINES", 7)  # stays span chunk borders
    backfill_file(store, path, "lab")
    whole = fold_calls(path.read_text().splitlines(), pbx="lab").calls
    stored = queries.read("calls")
    assert sorted(stored["call_id"]) == sorted(c.call_id for c in whole)


def test_cli_reports_bad_lines_and_goes_on(tmp_path: Path, captures: Path) -> None:
    log = tmp_path / "queue_log"
    good = (captures / "a_all_answered" / "queue_log").read_text()
    log.write_text("not|a|line\n" + good + "17x|1.1|support|NONE|ENTERQUEUE||1|1\n")
    db = tmp_path / "cb.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "storage", "import-queue-log", str(log), "--pbx", "lab",
         "--db", str(db)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "20 calls added" in done.stdout and "2 bad lines" in done.stdout
    assert "line 1:" in done.stdout and "line 62:" in done.stdout
    assert "100.0%" in done.stderr
