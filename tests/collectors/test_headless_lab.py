"""`python -m collectors run` as its own process against the real lab: SIGTERM flushes every
row received and exits 0. A service stopped while a caller waits writes no outcome for that
caller (none is known yet); the next start brings the caller back from the login snapshot as
a gap stay, written once when it ends (ARCHITECTURE.md, data flow)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from service import Service
from storage.store import connect
from tests.collectors.resilience_helpers import (
    by_caller,
    finish,
    live,
    nothing_invented,
    pause,
    pbx_of,
    ready,
    settings_of,
    until,
)
from tests.conftest import REPO
from tests.lab.asterisk import AsteriskLab
from tests.lab.control import lab_ports_released  # noqa: F401 (a fixture)
from tests.lab.sipp import SippProcess, die_with_parent

pytestmark = [pytest.mark.asterisk, pytest.mark.usefixtures("lab_ports_released")]


def queue_log_has(lab: AsteriskLab, caller: str, verb: str) -> bool:
    """Whether queue_log has `verb` for the stay of caller number `caller`."""
    rows = [line.split("|") for line in lab.queue_log_lines()]
    ids = {r[1] for r in rows if r[4] == "ENTERQUEUE" and len(r) > 6 and r[6] == caller}
    return any(r[1] in ids and r[4].startswith(verb) for r in rows)


async def test_sigterm_flushes_and_a_restart_writes_the_waiting_caller_once(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    lab = asterisk_lab
    db = tmp_path / "cb.duckdb"
    await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=0.5, talk_s=30)
    exit_code, output, waiting = await stopped_while_a_caller_waits(lab, db, tmp_path / "out")
    assert exit_code == 0, output
    assert "store flushed and checkpointed" in output
    assert lab.ami_secret not in output
    con = connect(db, read_only=True)
    try:
        calls = con.execute("SELECT caller_num, outcome, agent, gap FROM queue_calls").fetchall()
        seen = con.execute(
            "SELECT present FROM waiting_callers WHERE caller_num = '87002' ORDER BY rowid"
        ).fetchall()
        links = con.execute("SELECT state, detail FROM connection_sessions ORDER BY rowid")
        closed = links.fetchall()
    finally:
        con.close()
    assert calls == [("87001", "answered", "Alice", False)]
    assert seen == [(True,), (False,)]  # joined; then off the live view at the stop
    assert closed == [("connected", None), ("closed", "service stopped")]

    # Started again while 87002 still waits: it comes back from the login snapshot.
    async with Service(settings_of(db, pbx_of(lab))) as service:
        await ready(service)
        assert list(live(service, "live_waiting")["caller_num"]) == ["87002"]
        await pause(lab, "PJSIP/1001", on=False)
        await finish(waiting)
        await until(lambda: "87002" in by_caller(service), 10, "the second call")
        rows = by_caller(service)
    nothing_invented(rows, lab)
    outcome = {caller: (row["outcome"], row["gap"]) for caller, row in rows.items()}
    assert outcome == {"87001": ("answered", False), "87002": ("answered", True)}


async def stopped_while_a_caller_waits(
    lab: AsteriskLab, db: Path, out_path: Path
) -> tuple[int, str, SippProcess]:
    """Run `python -m collectors run --ami ...`: one call (87001) answered and over, a second
    caller (87002) waiting behind a paused Alice; then SIGTERM. Returns the exit code, the
    process's output and the caller still waiting."""
    url = f"ami://{lab.ami_username}:{lab.ami_secret}@{lab.ami_host}:{lab.ami_port}"
    command = [sys.executable, "-m", "collectors", "run", "--ami", url, "--name", "lab"]
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--db", str(db)], cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
        )  # fmt: skip
    try:
        await until(lambda: "live state rebuilt" in out_path.read_text(), 20, "the login")
        answered = lab.call("600", "87001", talk_s=1.0)
        await until(lambda: queue_log_has(lab, "87001", "CONNECT"), 5, "the answer")
        await pause(lab, "PJSIP/1001", reason="break")  # Alice takes nobody after this call
        waiting = lab.call("600", "87002", talk_s=1.0)
        await finish(answered)
        await until(lambda: queue_log_has(lab, "87001", "COMPLETE"), 5, "the first call's end")
        await until(lambda: queue_log_has(lab, "87002", "ENTERQUEUE"), 5, "the second caller")
        await asyncio.sleep(0.5)  # the events reach the collector's process
        proc.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(proc.wait, 20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return exit_code, out_path.read_text(), waiting
