"""Running the real collector against the Asterisk lab, and checking what it stored against the
queue_log Asterisk wrote in the same run (the pattern of tests/test_walking_skeleton.py).

`collecting(lab, folder)` runs `service.Service` on the lab's AMI until the collector is
logged in; `calls_match_queue_log` compares the collector's `calls` rows with
`storage.queue_log.fold_calls` call by call, and `ring_attempts_match_queue_log` does the same
for the ring attempts.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pandas as pd

import queries
from collectors.rows import QueueCall
from service import Service
from settings import PbxSettings, Settings
from storage.queue_log import QueueLogParse, fold_calls
from tests.lab.asterisk import AsteriskLab
from tests.lab.sipp import SippProcess

PBX = "lab"
# queue_log times are whole epoch seconds, so its waits, talks and ring times can be off by one
# second from the collector's (docs/kpis.md, Precision).
TOLERANCE_S = 1.0


def lab_settings(lab: AsteriskLab, db: Path) -> Settings:
    """Settings for one Service that collects the lab's PBX into `db`."""
    pbx = PbxSettings(
        name=PBX,
        host=lab.ami_host,
        port=lab.ami_port,
        username=lab.ami_username,
        secret=lab.ami_secret,
        ping_interval_s=2.0,
    )
    return Settings(db_path=db, flush_interval_s=0.1, pbx=(pbx,))


async def until(check: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `check` every 0.1 s until it is true; AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def collecting(lab: AsteriskLab, folder: Path) -> AsyncIterator[Service]:
    """The real service collecting the lab, logged in and subscribed, for the `async with`."""
    async with Service(lab_settings(lab, folder / "cb.duckdb")) as service:
        collector = service.collectors[0]
        await until(lambda: collector.status.state == "connected", 15, "the AMI login")
        # The snapshot after login writes the members; once they are in, the Filter and the
        # QueueStatus snapshot are done and no event of the test can be missed.
        await until(lambda: not members(service).empty, 15, "the login snapshot")
        yield service


async def finish(*callers: SippProcess, timeout: float = 20.0) -> None:
    """Every caller's sipp ends with status 0: its scenario went the way it was meant to."""
    for caller in callers:
        status = await asyncio.to_thread(caller.wait, timeout)
        assert status == 0, caller.diagnostics()


async def stored_calls(service: Service, count: int, timeout: float = 10.0) -> pd.DataFrame:
    """The `calls` rows, once `count` of them are stored."""
    await until(lambda: _flushed_len(service, "calls") >= count, timeout, f"{count} calls")
    # `calls` keeps its stable columns; the position at leaving is read beside it.
    left = table(service, "SELECT call_id, queue, left_position FROM queue_calls")
    return queries.read("calls").merge(left, on=["call_id", "queue"], how="left")


def _flushed_len(service: Service, query: str) -> int:
    service.store.flush()
    return len(queries.read(query))


def table(service: Service, sql: str, **params: object) -> pd.DataFrame:
    """A read of the store's tables (no named query exposes ring attempts or member history);
    rowid order is arrival order in these append-only tables."""
    service.store.flush()
    cursor = service.store.cursor()
    try:
        return cursor.execute(sql, params).df()
    finally:
        cursor.close()


def members(service: Service) -> pd.DataFrame:
    """Every member_states row, in arrival order."""
    return table(
        service,
        "SELECT queue, interface, member_name, status, paused, paused_reason, present,"
        " membership, penalty FROM member_states ORDER BY rowid",
    )


def queue_log(lab: AsteriskLab) -> QueueLogParse:
    """The lab's queue_log so far, folded into calls and ring attempts."""
    return fold_calls(lab.queue_log_lines(), pbx=PBX)


def _value(v: object) -> object:
    return None if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v


def calls_match_queue_log(calls: pd.DataFrame, folded: QueueLogParse) -> None:
    """The collector's rows equal queue_log's, call by call: queue, outcome, agent, ended_by,
    caller number, position at leaving; wait and talk within a second."""
    qlog: dict[str, QueueCall] = {c.call_id: c for c in folded.calls}
    assert sorted(calls["call_id"]) == sorted(qlog), (list(calls["call_id"]), sorted(qlog))
    for row in calls.to_dict("records"):
        q = qlog[row["call_id"]]
        ours = tuple(_value(row[k]) for k in ("queue", "outcome", "agent", "ended_by"))
        where = f"call {row['call_id']} ({row['caller_num']})"
        assert ours == (q.queue, q.outcome, q.agent, q.ended_by), where
        assert row["caller_num"] == q.caller_num, where
        if "left_position" in row:  # the position at leaving (see stored_calls)
            assert _value(row["left_position"]) == q.left_position, where
        assert (row["source"], bool(row["gap"])) == ("ami", False), where
        assert q.wait_s is not None and abs(row["wait_s"] - q.wait_s) <= TOLERANCE_S, where
        if q.talk_s is None:
            assert _value(row["talk_s"]) is None, where
        else:
            assert abs(row["talk_s"] - q.talk_s) <= TOLERANCE_S, where


def ring_attempts_match_queue_log(service: Service, folded: QueueLogParse) -> pd.DataFrame:
    """The collector's ring attempts equal queue_log's, call by call: the same members with the
    same results (queue_log does not log the ringall members who lost the race to answer:
    result `other_answered`), ring times within a second. Returns the collector's rows."""
    ours = table(
        service,
        "SELECT call_id, queue, agent, interface, ring_s, result FROM ring_attempts"
        " WHERE source = 'ami' ORDER BY rowid",
    )
    logged = [r for r in folded.ring_attempts if r.result != "other_answered"]
    kept = ours[ours["result"] != "other_answered"]
    assert _attempts(kept) == Counter((r.call_id, r.queue, r.agent, r.result) for r in logged)
    for r in logged:
        if r.ring_s is None:
            continue
        same = kept[(kept["call_id"] == r.call_id) & (kept["agent"] == r.agent)]
        same = same[same["result"] == r.result]
        assert any(abs(s - r.ring_s) <= TOLERANCE_S for s in same["ring_s"]), (r, same)
    calls = queries.read("calls").set_index("call_id")
    for call_id, count in Counter(ours["call_id"]).items():
        assert calls.loc[call_id, "ring_attempts"] == count, call_id
    return ours


def _attempts(frame: pd.DataFrame) -> Counter[tuple[object, ...]]:
    return Counter(
        (r["call_id"], r["queue"], _value(r["agent"]), r["result"])
        for r in frame.to_dict("records")
    )
