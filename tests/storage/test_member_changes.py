"""member_changes and member_heads (storage/member_changes.py) stay equal to their
recomputation from member_states, and agent_summary read through them equals the same summary
folded from the whole changelog.

As tests/storage/test_rollups.py does for the stays: after writes through every path (the
writer in batches, a device joining a further queue, the queue_log presence import appending
and then rewriting the changelog, a file written without the tables) both tables equal
`member_changes.rebuild` from scratch; and for ranges cut anywhere (today, across midnight,
7 days, a year, open ends, a queue or an agent subset) queries/agent_summary.sql returns what
tests/queries/agent_summary_changelog.sql (the query as it was before the table: the fold
over every member_states row) returns.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import queries
from collectors.rows import MemberState, QueueCall
from storage import member_changes
from storage.backfill import backfill_file
from storage.store import Store

DAY = datetime(2026, 3, 2, tzinfo=UTC)
# (pbx, interface, name, queues): Dan is in sales only until he joins support (a device
# becoming shared), Eve never has a name.
DEVICES = [
    ("p", "PJSIP/1", "Alice", ("support", "sales")),
    ("p", "PJSIP/2", "Bob", ("support",)),
    ("q", "PJSIP/1", "Carol", ("support", "sales")),
    ("q", "PJSIP/3", "Dan", ("sales",)),
    ("q", "PJSIP/4", None, ("support",)),
]
REASONS = (None, "Lunch", "Training")
CHANGELOG_SQL = Path(__file__).parents[1] / "queries" / "agent_summary_changelog.sql"


def _members(n: int, seed: int = 3) -> list[MemberState]:
    """`n` member rows over three days in arrival order: most restate the member's presence
    (a ring, a call), some change it, a few are snapshots dated before the member's previous
    row."""
    rnd = random.Random(seed)
    state: dict[tuple[str, str, str], tuple[bool, bool, str | None]] = {}
    rows: list[MemberState] = []
    clock = DAY - timedelta(hours=2)
    for i in range(n):
        clock += timedelta(seconds=rnd.expovariate(n / (3 * 86400)))
        pbx, interface, name, queues = rnd.choice(DEVICES)
        if name == "Dan" and i > n // 2:
            queues = ("sales", "support")
        queue = rnd.choice(queues)
        key = (pbx, queue, interface)
        present, paused, reason = state.get(key, (True, False, None))
        roll = rnd.random()
        if roll < 0.08:
            present = not present
        elif roll < 0.25:
            paused = not paused
            reason = rnd.choice(REASONS) if paused else None
        state[key] = (present, paused, reason)
        since = clock - timedelta(minutes=rnd.uniform(1, 30)) if rnd.random() < 0.05 else clock
        rows.append(MemberState(
            pbx=pbx, queue=queue, interface=interface,
            member_name=None if name is None or rnd.random() < 0.1 else name,
            status=rnd.randint(1, 6), paused=paused, paused_reason=reason if paused else None,
            in_call=rnd.random() < 0.3, calls_taken=i, since=since, present=present,
            penalty=0, ringinuse=False, membership="dynamic",
        ))  # fmt: skip
    return rows


def bob_day(t: int, callid: str | None = None) -> list[str]:
    """queue_log lines: Bob's device added to support at `t`, paused for lunch from 1 h to
    1.5 h later; with `callid`, a stay he answers at 6010 s and talks on for 590 s."""
    lines = [f"{t}|MANAGER|support|PJSIP/2|ADDMEMBER|",
             f"{t + 3600}|NONE|support|Bob|PAUSE|Lunch",
             f"{t + 5400}|NONE|support|Bob|UNPAUSE|"]  # fmt: skip
    if callid is not None:
        lines += [f"{t + 6000}|{callid}|support|NONE|ENTERQUEUE||555|1",
                  f"{t + 6010}|{callid}|support|Bob|CONNECT|10|{callid}.1|3",
                  f"{t + 6600}|{callid}|support|Bob|COMPLETEAGENT|10|590|1"]  # fmt: skip
    return lines


def _talks(n: int, seed: int = 5) -> list[QueueCall]:
    """Answered stays of the named agents, for occupancy's observed talk."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        pbx, _, name, queues = rnd.choice(DEVICES[:4])
        entered = DAY + timedelta(seconds=rnd.uniform(0, 3 * 86400))
        out.append(QueueCall(
            pbx=pbx, queue=rnd.choice(queues), call_id=f"t{i}", linkedid=f"t{i}",
            caller_num="555", caller_name=None, entered_at=entered, position=1,
            outcome="answered", wait_s=10.0, answered_at=entered + timedelta(seconds=10),
            agent=name, interface=None, talk_s=rnd.uniform(30, 900), ended_by="agent",
            ended_at=entered, ring_attempts=1, source="ami", gap=False, left_position=None,
        ))  # fmt: skip
    return out


def _tables(store: Store) -> None:
    """member_changes and member_heads equal their recomputation from scratch."""
    con = store.cursor()
    sql = {t: f"SELECT * FROM {t} ORDER BY ALL" for t in member_changes.TABLES}  # noqa: S608
    stored = {t: con.execute(q).df() for t, q in sql.items()}
    con.execute("BEGIN TRANSACTION")
    member_changes.rebuild(con)
    for table, query in sql.items():
        fresh = con.execute(query).df()
        pd.testing.assert_frame_equal(stored[table], fresh, check_exact=True)
    con.execute("ROLLBACK")
    assert not member_changes.stale(con)


def test_writer_batches_keep_the_changes_equal_to_the_changelog(store: Store) -> None:
    rows = _members(3000)
    for i, row in enumerate(rows):
        store.put(row)
        if i % 250 == 0:
            store.flush()
            _tables(store)
    store.flush()
    _tables(store)
    con = store.cursor()
    kept = con.execute("SELECT count(*) FROM member_changes").fetchall()[0][0]
    assert 0 < kept < len(rows) / 2  # most rows restate presence


def test_rows_a_failed_fold_left_behind_are_folded_by_the_next_batch(store: Store) -> None:
    # The writer folds after its batch's commit; should that fold fail, the rows stay
    # written and unfolded (as here, appended without one), and the next fold takes them too.
    rows = _members(600)
    for row in rows[:300]:
        store.put(row)
    store.flush()
    store.in_writer(
        lambda con: con.execute(
            "INSERT INTO member_states SELECT * FROM member_states WHERE rowid < 100"
        )
    )
    assert member_changes.stale(store.cursor())
    for row in rows[300:]:
        store.put(row)
    store.flush()
    _tables(store)


def test_a_queue_log_import_and_its_rewrite_keep_them_equal(store: Store, tmp_path: Path) -> None:
    # The collector from 08:00; queue_log presence from before lands after its rows, then the
    # changelog is rewritten into time order (storage/presence.py, order_members).
    for row in _members(400):
        store.put(row)
    store.flush()
    t0 = int((DAY - timedelta(days=1)).timestamp())
    lines = [*bob_day(t0), f"{t0 + 7200}|MANAGER|sales|PJSIP/9|ADDMEMBER|"]
    log = tmp_path / "queue_log"
    log.write_text("\n".join(lines) + "\n")
    report = backfill_file(store, log, "p", members={"Bob": "PJSIP/2"})
    assert report.member_states_added > 0
    sources = (
        store.cursor().execute("SELECT source FROM member_states ORDER BY rowid LIMIT 1").fetchall()
    )
    assert sources == [("queue_log",)]  # rewritten: the import's rows come first
    _tables(store)


def test_a_file_without_them_gets_them_at_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with Store(path, flush_interval_s=0.05) as store:
        for row in _members(500):
            store.put(row)
        store.flush()
        store.in_writer(lambda con: con.execute("DELETE FROM member_changes; "
                                                "DELETE FROM member_heads"))  # fmt: skip
        assert member_changes.stale(store.cursor())
    with Store(path) as store:
        _tables(store)


def write_history(store: Store) -> None:
    """The history the module fixtures here and in test_agent_days.py read: 4,000 member rows
    written in batches, then 300 talks."""
    for i, row in enumerate(_members(4000, seed=11)):
        store.put(row)
        if i % 700 == 0:
            store.flush()
    for stay in _talks(300):
        store.put(stay)
    store.flush()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("members") / "callboard.duckdb"
    with Store(path, flush_interval_s=0.05) as store:
        write_history(store)
        yield store


def _at(days: float, hours: float = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hours)


CASES: list[dict[str, object]] = [
    {"start": _at(1), "end": _at(2)},  # a day
    {"start": _at(1, 7.25), "end": _at(1, 11.5)},  # part of one
    {"start": _at(0, 20), "end": _at(1, 4)},  # across midnight
    {"start": _at(-3), "end": _at(4)},  # 7 days
    {"start": _at(-200), "end": _at(165)},  # a year
    {"start": _at(1, 6)},  # open ends
    {"end": _at(1, 6)},
    {},
    {"start": _at(0), "end": _at(3), "queues": ["sales"]},  # a queue subset
    {"start": _at(0), "end": _at(3), "queues": ["support", "sales"]},
    {"start": _at(0, 3), "end": _at(2, 3), "agents": ["Alice", "PJSIP/4"]},  # agents
    {"start": _at(5), "end": _at(6)},  # after the last row: held states only
]


@pytest.mark.parametrize("params", CASES)
def test_the_summary_equals_the_fold_over_the_changelog(
    history: Store, params: dict[str, object]
) -> None:
    con = history.cursor()
    full = {"start": None, "end": None, "queues": None, "agents": None} | params
    con.execute("BEGIN TRANSACTION")  # one now() for both
    new = queries.run("agent_summary", con, **params)
    old = con.execute(CHANGELOG_SQL.read_text(), full).df()
    con.execute("ROLLBACK")
    assert len(new) > 0
    pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-9)


STAFFING_SQL = Path(__file__).parents[1] / "queries" / "queue_staffing_changelog.sql"


@pytest.mark.parametrize("bucket", ["15 minutes", "1 hour", "1 day", "1 week", "1 month"])
@pytest.mark.parametrize("params", [c for c in CASES if "agents" not in c])
def test_staffing_equals_the_fold_over_the_changelog(
    history: Store, params: dict[str, object], bucket: str
) -> None:
    con = history.cursor()
    full = {"start": None, "end": None, "queues": None, "bucket": bucket} | params
    con.execute("BEGIN TRANSACTION")  # one now() for both
    new = queries.run("queue_staffing", con, **params, bucket=bucket)
    old = con.execute(STAFFING_SQL.read_text(), full).df()
    con.execute("ROLLBACK")
    assert len(new) > 0
    if full["start"] is None:
        # Open start: the old query began at the earliest since of any row, the new one where
        # the first state began (a row dated before one written earlier takes effect later):
        # the intervals before it held no state.
        before = old["bucket_start"] < new["bucket_start"].min()
        assert (old.loc[before, ["agents_logged_in", "agents_staffed"]] == 0).all(axis=None)
        old = old[~before].reset_index(drop=True)
    pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-9, atol=1e-9)
