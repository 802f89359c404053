"""The import's fast path (storage/queue_log_fast.py) writes exactly what the Python fold writes.

Each test imports one file twice into real DuckDB files, once with `fast=False` (every line
folded in Python, as before the fast path) and once with the fast path, and compares every
table row for row, member_states in rowid order, and the import reports (line counts, bad
lines with their numbers and reasons, open and orphan stays).
"""

from __future__ import annotations

import functools
import random
from pathlib import Path
from typing import Any

import pytest

from bench.import_queue_log import write_log
from storage import backfill, queue_log
from storage.backfill import BackfillReport, backfill_file
from storage.store import Store
from tests.storage.test_rollups import _tables as rollup_tables

_TABLES = (
    "queue_calls", "ring_attempts", "queue_log_stays", "stay_quarters", "stay_waits",
    "caller_stays", "agent_counts",
)  # fmt: skip
MEMBERS = {f"Agent{n:03d}": f"PJSIP/{1000 + n}" for n in range(100)}


def _import(db: Path, log: Path, fast: bool, twice: bool = False) -> dict[str, Any]:
    progress: list[tuple[int, int]] = []
    with Store(db) as store:
        reports = [
            backfill_file(store, log, "pbx", progress=lambda d, t: progress.append((d, t)),
                          members=MEMBERS, fast=fast)
            for _ in range(2 if twice else 1)
        ]  # fmt: skip
        # Both paths refresh the rollups the same way (rollups.refresh_new_calls): each is
        # checked against a rebuild from all the stays, not only against the other.
        rollup_tables(store)
        cur = store.cursor()
        rows = {t: cur.execute(f"FROM {t} ORDER BY ALL").fetchall() for t in _TABLES}
        rows["member_states"] = cur.execute("FROM member_states ORDER BY rowid").fetchall()
    return {"rows": rows, "reports": [_account(r) for r in reports], "progress": progress}


def _account(r: BackfillReport) -> tuple[object, ...]:
    return (
        r.lines, r.calls_added, r.calls_replaced, r.calls_known, r.open_calls, r.orphan_lines,
        r.bad_lines, r.bad_line_count, r.member_states_added, r.member_rows_observed,
        r.unmapped_members,
    )  # fmt: skip


def assert_same(tmp_path: Path, log: Path, twice: bool = False) -> dict[str, Any]:
    old = _import(tmp_path / "old.duckdb", log, fast=False, twice=twice)
    new = _import(tmp_path / "new.duckdb", log, fast=True, twice=twice)
    for table, rows in old["rows"].items():
        assert new["rows"][table] == rows, table
    assert new["reports"] == old["reports"]
    assert new["progress"] == old["progress"]
    return new


@pytest.mark.parametrize("capture", ["a_all_answered", "b_mixed"])
def test_real_captures(tmp_path: Path, captures: Path, capture: str) -> None:
    new = assert_same(tmp_path, captures / capture / "queue_log", twice=True)
    assert new["rows"]["queue_calls"]  # the file did have calls


def test_real_capture_cut_into_small_chunks(
    tmp_path: Path, captures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch, 5)  # stays span chunk borders
    assert_same(tmp_path, captures / "b_mixed" / "queue_log")


def _small_chunks(monkeypatch: pytest.MonkeyPatch, lines: int) -> None:
    # A chunk ends at the first block read that reaches CHUNK_LINES: small blocks, so that a
    # small file is cut near every `lines` lines.
    monkeypatch.setattr(backfill, "CHUNK_LINES", lines)
    monkeypatch.setattr(backfill, "_chunks", functools.partial(backfill._chunks, block_chars=64))


def test_bench_file(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    write_log(log, 30_000)
    new = assert_same(tmp_path, log, twice=True)
    assert len(new["rows"]["queue_calls"]) > 5_000
    assert new["reports"][1][1] == 0  # the second import added nothing


def _irregular_log(path: Path, seed: int) -> None:
    """Regular stays with every irregular case this module leaves to Python mixed in."""
    rng = random.Random(seed)
    t = 1_767_225_600
    out: list[str] = [
        # calls already in progress when the file starts (orphan lines)
        f"{t}|early.1|support|Agent001|CONNECT|12|early.11|3",
        f"{t}|early.1|support|Agent001|COMPLETECALLER|12|40|1",
        f"{t}|early.2|sales|NONE|ABANDON|2|2|30",
        "",
        f"{t}|MANAGER|support|PJSIP/1001|ADDMEMBER|",
    ]
    agents = [f"Agent{n:03d}" for n in range(5)]
    late: list[tuple[int, str]] = []  # lines that come back a while later
    for i in range(400):
        t += rng.randrange(0, 4)
        cid, q, a = f"{t}.{i}", rng.choice(("support", "sales")), rng.choice(agents)
        for line in [text for due, text in late if due == i]:  # a few stays or many later
            out.append(line.replace("EPOCH", str(t)))
        kind = rng.randrange(26)
        enter = f"{t}|{cid}|{q}|NONE|ENTERQUEUE||555{i:04d}|{rng.randrange(1, 4)}"
        out.append(enter)
        for _ in range(rng.randrange(3)):
            out.append(f"{t + 2}|{cid}|{q}|{a}|{rng.choice(('RINGNOANSWER', 'RINGCANCELED'))}|"
                       f"{rng.randrange(500, 20000)}")  # fmt: skip
        w = rng.randrange(1, 60)
        if kind == 0:  # re-entry: the same caller enters the same queue again
            out.append(enter.replace("|1", "|2", 1))
        if kind == 1:  # the second ABANDON Asterisk writes, soon or long after
            out.append(f"{t + w}|{cid}|{q}|NONE|ABANDON|1|1|{w}")
            late.append((i + rng.choice((3, 30)), f"EPOCH|{cid}|{q}|NONE|ABANDON|1|1|{w}"))
            continue
        if kind == 12:  # enters again after its end (a regular stay each time), then a late line
            again = f"EPOCH|{cid}|{q}|NONE|ENTERQUEUE||1|1\nEPOCH|{cid}|{q}|NONE|ABANDON|1|1|5"
            late.append((i + 4, again))
            late.append((i + 17, f"EPOCH|{cid}|{q}|NONE|ABANDON|1|1|5"))
        if kind == 2:
            out.append(f"{t + w}|{cid}|{q}|{a}|AGENTDUMP|")
        if kind == 3:  # a transfer ends it
            out.append(f"{t + w}|{cid}|{q}|{a}|CONNECT|{w}|{cid}9|2")
            verb = rng.choice((
                f"BLINDTRANSFER|100|default|{w}|30|1", f"TRANSFER|100|default|{w}|30",
                f"ATTENDEDTRANSFER|BRIDGE|b1|{w}|30|1", f"ATTENDEDTRANSFER|APP|Dial|{w}|30|1",
            ))  # fmt: skip
            out.append(f"{t + w + 30}|{cid}|{q}|{a}|{verb}")
            continue
        if kind == 4:  # bad data in a line of a stay
            out.append(f"{t + w}|{cid}|{q}|{a}|CONNECT|x{w}|{cid}9|2")
        if kind == 5:  # a fractional epoch, as log rewriting tools write
            out.append(f"{t + w}.5|{cid}|{q}|{a}|RINGNOANSWER|1500")
        if kind == 6:  # cut off: never ends (open at the end of the file, or re-entered)
            continue
        if kind == 7:  # completion without CONNECT
            out.append(f"{t + w + 9}|{cid}|{q}|{a}|COMPLETEAGENT|{w}|9|1")
            continue
        if kind == 8:  # exits other than ABANDON
            verb = rng.choice((f"EXITWITHTIMEOUT|1|1|{w}", f"EXITEMPTY|1|1|{w}",
                               f"EXITWITHKEY|5|1|1|{w}", f"ABANDON|x|1|{w}"))  # fmt: skip
            out.append(f"{t + w}|{cid}|{q}|NONE|{verb}")
            continue
        if kind == 9:  # CR line endings, leading zeros, empty caller and position
            out[-1] = f"{t}|{cid}|{q}|NONE|ENTERQUEUE|||\r"
            out.append(f"{t + w}|{cid}|{q}|{a}|CONNECT|0{w}|{cid}9|02")
            out.append(f"{t + w + 5}|{cid}|{q}|{a}|COMPLETEAGENT|{w}|5|1\r")
            continue
        if kind == 10:  # two CONNECTs, then abandoned
            out.append(f"{t + w}|{cid}|{q}|{a}|CONNECT|{w}|{cid}9|2")
            out.append(f"{t + w}|{cid}|{q}|{a}|CONNECT|{w}|{cid}9|2")
        if kind == 11:
            out.append(rng.choice((
                "garbage", f"{t}|x|y|z|", "notanepoch|a|b|c|ENTERQUEUE||1|1", "x" * 70_000,
                f"{t}||{q}|NONE|ENTERQUEUE||1|1", f"{t}|{cid}|{q}|{a}|INFO|note",
                f"{t}|NONE|{q}|{a}|PAUSE|Lunch", f"{t}|NONE|NONE|{a}|UNPAUSEALL|",
                f"{t + 1}|NONE|NONE|NONE|QUEUESTART|", f"-{t}|{cid}|{q}|NONE|ABANDON|1|1|1",
                f"{t}|{cid}|{q}|NONE|ENTERQUEUE||1|x", f"{t}|{cid}|{q}|NONE|ENTERQUEUE||1",
                f"{t}|{cid}|{q}|{a}|RINGNOANSWER|1e3", f"{t}|{cid}|{q}|{a}|RINGNOANSWER|",
                f"{t}|{cid}|{q}|{a}|SYSCOMPAT|", f"{t}|{cid}|{q}|{a}|CONNECT|1|x|9999999999",
            )))  # fmt: skip
        if rng.random() < 0.8:
            out.append(f"{t + w}|{cid}|{q}|{a}|CONNECT|{w}|{cid}9|{rng.randrange(9)}")
            verb = rng.choice(("COMPLETEAGENT", "COMPLETECALLER"))
            out.append(f"{t + w + 60}|{cid}|{q}|{a}|{verb}|{w}|60|1")
        else:
            out.append(f"{t + w}|{cid}|{q}|NONE|ABANDON|{rng.randrange(1, 5)}|1|{w}")
    path.write_text("\n".join(out) + "\n" if seed % 2 else "\n".join(out))  # last line cut


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("chunk", [37, 200_000])
def test_irregular_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, chunk: int
) -> None:
    _small_chunks(monkeypatch, chunk)
    monkeypatch.setattr(queue_log, "_ENDED_KEPT", 16)  # late lines both late and orphan
    log = tmp_path / "queue_log"
    _irregular_log(log, seed)
    new = assert_same(tmp_path, log, twice=True)
    report = new["reports"][0]
    assert report[6] and report[5]  # there were bad lines and orphan lines


def _threads(store: Store) -> int:
    return int(store.cursor().execute("SELECT current_setting('threads')").fetchall()[0][0])


def test_a_failed_chunk_stops_the_load_and_leaves_what_was_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "queue_log"
    write_log(log, 3_000)
    _small_chunks(monkeypatch, 1_000)
    written: list[int] = []
    write_new = backfill.write_new

    def fail_second(*args: Any, **kwargs: Any) -> tuple[int, int]:
        if written:
            raise RuntimeError("disk full")
        written.append(1)
        return write_new(*args, **kwargs)

    monkeypatch.setattr(backfill, "write_new", fail_second)
    with Store(tmp_path / "x.duckdb") as store:
        threads = _threads(store)
        with pytest.raises(RuntimeError, match="disk full"):
            backfill_file(store, log, "pbx", members=MEMBERS)
        store.flush()
        # The first chunk's stays are in, with their rollups; DuckDB's threads are back.
        calls = store.cursor().execute("SELECT count(*) FROM queue_calls").fetchall()[0][0]
        assert 0 < calls < 600
        rollup_tables(store)
        assert _threads(store) == threads


def test_the_load_runs_with_a_core_left_to_the_fold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "queue_log"
    write_log(log, 2_000)
    seen: list[int] = []
    write_chunk = backfill._write_chunk

    def noting(con: Any, **kwargs: Any) -> Any:
        seen.append(int(con.execute("SELECT current_setting('threads')").fetchall()[0][0]))
        return write_chunk(con, **kwargs)

    monkeypatch.setattr(backfill, "_write_chunk", noting)
    monkeypatch.setattr(backfill.os, "cpu_count", lambda: 4)
    with Store(tmp_path / "x.duckdb") as store:
        threads = _threads(store)
        backfill_file(store, log, "pbx", members=MEMBERS)
        assert seen == [3]
        assert _threads(store) == threads
