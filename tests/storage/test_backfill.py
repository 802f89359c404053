"""queue_log backfill: the facts the collector writes, idempotent, filling AMI's gaps."""

from __future__ import annotations

import dataclasses
import functools
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


def _reentry(t: int) -> list[str]:
    """A caller rung once, who presses a key to leave the queue and enters it again 2 s
    later (an IVR and back: the same channel, so the same callid) and is answered."""
    return [f"{t}|c1|support|NONE|ENTERQUEUE||555|1",
            f"{t + 1}|c1|support|Bob|RINGNOANSWER|1000",
            f"{t + 2}|c1|support|NONE|EXITWITHKEY|1|1|2",
            f"{t + 4}|c1|support|NONE|ENTERQUEUE||555|1",
            f"{t + 10}|c1|support|Bob|CONNECT|6|c1.1|3",
            f"{t + 70}|c1|support|Bob|COMPLETECALLER|6|60|1"]  # fmt: skip


def _stays(store: Store) -> list[tuple[str, int]]:
    rows = store.cursor().execute(
        "SELECT outcome, (SELECT count(*) FROM ring_attempts) FROM queue_calls ORDER BY entered_at"
    )
    return rows.fetchall()


def test_a_caller_entering_again_is_two_stays_whichever_load_brings_the_second(
    store: Store, tmp_path: Path
) -> None:
    # queue_log's record of a stay is known when the store holds it from the same second
    # (AMI's within SAME_STAY_WINDOW_S); the second stay, 4 s later, was taken for the first
    # when it came in a later load (or chunk, or follower read), and so was lost.
    lines = _reentry(1_767_254_400)
    first, whole = tmp_path / "first", tmp_path / "whole"
    first.write_text("\n".join(lines[:3]) + "\n")
    whole.write_text("\n".join(lines) + "\n")
    assert backfill_file(store, first, "p").calls_added == 1
    report = backfill_file(store, whole, "p")
    assert (report.calls_added, report.calls_known) == (1, 1)
    # Two ring attempts: the first stay's RINGNOANSWER (not written again), the CONNECT.
    assert _stays(store) == [("exitwithkey", 2), ("answered", 2)]


def test_a_caller_entering_again_across_a_chunk_border(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backfill, "CHUNK_LINES", 3)
    monkeypatch.setattr(backfill, "_chunks", functools.partial(backfill._chunks, block_chars=40))
    path = tmp_path / "queue_log"
    path.write_text("\n".join(_reentry(1_767_254_400)) + "\n")
    assert backfill_file(store, path, "p").calls_added == 2
    assert _stays(store) == [("exitwithkey", 2), ("answered", 2)]


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
