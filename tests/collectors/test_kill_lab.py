"""The service process killed during ingest (SIGKILL, no chance to flush) against the real
Asterisk lab with calls flowing, started again on the same file, then stopped with SIGTERM.

What was flushed before the kill is intact, the file opens, no row is written twice (each
table's uniqueness key below), a restart collects on, SIGTERM writes everything received,
and queue_log (`python -m storage import-queue-log`) brings back exactly the calls that ended
while nothing collected, once: the store then equals queue_log call for call."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from storage.queue_log import fold_calls
from storage.store import connect
from tests.collectors.resilience_helpers import finish, until
from tests.conftest import REPO
from tests.lab.asterisk import AsteriskLab
from tests.lab.control import lab_ports_released  # noqa: F401 (a fixture)
from tests.lab.sipp import SippProcess, die_with_parent

pytestmark = [pytest.mark.asterisk, pytest.mark.usefixtures("lab_ports_released")]

# What makes a row one fact: a second row with the same key is a duplicate.
UNIQUE_KEYS = {
    "queue_calls": "pbx, queue, call_id",
    "ring_attempts": "pbx, queue, call_id, interface, started_at, result",
    "raw_events": "pbx, session_id, received_at, event, payload",
    "connection_sessions": "pbx, session_id, state",
}


def duplicates(db: Path) -> dict[str, int]:
    """Rows beyond the first per uniqueness key, per table (all zero when none)."""
    con = connect(db, read_only=True)
    try:
        found = {}
        for table, key in UNIQUE_KEYS.items():
            sql = f"SELECT count(*) - count(DISTINCT ({key})) FROM {table}"  # noqa: S608 (fixed)
            row = con.execute(sql).fetchone()
            found[table] = int(row[0]) if row else -1
        return found
    finally:
        con.close()


def calls_of(db: Path) -> dict[str, tuple[object, ...]]:
    con = connect(db, read_only=True)
    try:
        rows = con.execute(
            "SELECT call_id, caller_num, outcome, answered_at, ended_at, gap, source "
            "FROM queue_calls WHERE pbx = 'lab'"
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]): tuple(r) for r in rows}


def ended_in_queue_log(lab: AsteriskLab) -> dict[str, str]:
    """call_id -> outcome of every stay queue_log has seen end."""
    return {c.call_id: c.outcome for c in fold_calls(lab.queue_log_lines(), pbx="lab").calls}


def collector(lab: AsteriskLab, db: Path, config: Path, out: Path) -> subprocess.Popen[bytes]:
    url = f"ami://{lab.ami_username}:{lab.ami_secret}@{lab.ami_host}:{lab.ami_port}"
    with out.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "collectors", "run", "--config", str(config), "--ami", url,
             "--name", "lab", "--db", str(db)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )  # fmt: skip


async def burst(lab: AsteriskLab, prefix: str, count: int) -> list[SippProcess]:
    """`count` callers into support, one every 0.3 s, each talking 1 s once answered."""
    callers = []
    for i in range(count):
        callers.append(lab.call("600", f"{prefix}{i:02d}", talk_s=1.0))
        await asyncio.sleep(0.3)
    return callers


async def test_sigkill_during_ingest_then_restart_then_sigterm(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    lab, db = asterisk_lab, tmp_path / "cb.duckdb"
    for ext in ("1001", "1002", "1003"):
        await asyncio.to_thread(lab.start_agent, ext, answer_after_s=0.3, talk_s=5.0)
    fast, slow = tmp_path / "fast.toml", tmp_path / "slow.toml"
    fast.write_text("flush_interval_s = 0.1\n")
    slow.write_text("flush_interval_s = 5.0\n")  # only the stop can write the last rows

    # 1. Killed while a burst of calls is being collected.
    first_out = tmp_path / "first.log"
    first = collector(lab, db, fast, first_out)
    try:
        await until(lambda: "live state rebuilt" in first_out.read_text(), 20, "the login")
        callers = await burst(lab, "881", 12)
        await until(lambda: len(ended_in_queue_log(lab)) >= 4, 20, "calls ending")
        await asyncio.sleep(0.3)  # some rows flushed, others still queued
        first.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(first.wait, 10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    before = calls_of(db)  # the file opens (its WAL replayed): what was flushed is there
    assert before, "nothing was flushed before the kill: kill later"
    assert duplicates(db) == dict.fromkeys(UNIQUE_KEYS, 0)

    # 2. Started again on the same file while the burst goes on; a second burst; SIGTERM.
    second_out = tmp_path / "second.log"
    second = collector(lab, db, slow, second_out)
    try:
        await until(lambda: "live state rebuilt" in second_out.read_text(), 20, "the login")
        callers += await burst(lab, "882", 6)
        await finish(*callers, timeout=60)
        await asyncio.sleep(1.0)  # the last events reach the collector
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 30) == 0, second_out.read_text()
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    after, truth = calls_of(db), ended_in_queue_log(lab)
    assert "store flushed and checkpointed" in second_out.read_text()
    assert duplicates(db) == dict.fromkeys(UNIQUE_KEYS, 0)
    assert {k: after[k] for k in before} == before  # intact, and never written again
    for call_id, row in after.items():  # nothing invented
        assert row[2] in ("unknown", truth[call_id]), row
    # Every call of the second burst began and ended under the second process: SIGTERM
    # wrote them all, though the timer would not have flushed them yet.
    second_burst = {k: v for k, v in after.items() if str(v[1]).startswith("882")}
    assert len(second_burst) == 6 and all(v[2] == truth[k] for k, v in second_burst.items())

    # 3. queue_log fills what ended unseen (between the kill and the restart), once.
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "storage", "import-queue-log", str(lab.queue_log_path),
             "--pbx", "lab", "--db", str(db)],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    final = calls_of(db)
    assert duplicates(db) == dict.fromkeys(UNIQUE_KEYS, 0)
    assert {k: v[2] for k, v in final.items()} == truth
    seen = {k for k, v in final.items() if v[6] == "ami"}
    print(
        f"SIGKILL: {len(before)} calls flushed before the kill, {len(after)} after the "
        f"restart and SIGTERM, {len(final) - len(seen)} of {len(truth)} from queue_log"
    )
