"""agent_days (storage/agent_days.py) stays equal to its recomputation from scratch, and
agent_summary reading whole days from it equals the same summary folded over the whole range.

As tests/storage/test_member_changes.py does for member_changes: after writes through every
path (the writer's member rows and stays in batches, stays entered days ago written late, a
queue_log import and its rewrite, a queue_log backfill of stays, a rename, a file written
without the table) agent_days equals `agent_days.rebuild`; and for ranges cut anywhere (UTC
days, local days of +5:45 and -3:30, mid-day to mid-day, a partial day, today, open ends,
queue and agent subsets) queries/agent_summary.sql returns what
tests/queries/agent_summary_scratch.sql (every range folded from member_changes, every talk
read) returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import queries
from collectors.rows import MemberState, QueueCall
from storage import agent_days
from storage.backfill import backfill_file, write_new
from storage.store import Store, scalar
from tests.storage.test_member_changes import DAY, _members, _talks, bob_day, write_history

SCRATCH_SQL = Path(__file__).parents[1] / "queries" / "agent_summary_scratch.sql"
_ROWS = "SELECT * FROM agent_days ORDER BY pbx, interface, queue NULLS FIRST, day, reason"
_HOURS = "SELECT * FROM agent_hours ORDER BY pbx, interface, queue NULLS FIRST, hour, reason"
_STATE = "SELECT upto_hour, names_key, states_n, calls_n FROM agent_days_state"


def _tables(store: Store) -> None:
    """agent_days, agent_hours (and their state) equal their recomputation from scratch."""
    con = store.cursor()
    stored, state = con.execute(_ROWS).df(), con.execute(_STATE).fetchall()
    stored_hours = con.execute(_HOURS).df()
    con.execute("BEGIN TRANSACTION")
    agent_days.rebuild(con)
    fresh, fresh_state = con.execute(_ROWS).df(), con.execute(_STATE).fetchall()
    fresh_hours = con.execute(_HOURS).df()
    con.execute("ROLLBACK")
    assert len(fresh_hours) > 0 and len(fresh_hours) >= len(fresh)
    pd.testing.assert_frame_equal(stored, fresh, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(stored_hours, fresh_hours, check_exact=False, rtol=1e-9)
    assert state == fresh_state
    assert not agent_days.stale(con)


def test_writer_batches_keep_the_days_equal(store: Store) -> None:
    members, talks = _members(2000), _talks(300)
    for i, row in enumerate(members):
        store.put(row)
        if i % 200 == 0:
            store.put(talks[i // 10])
            store.flush()
            _tables(store)
    for stay in talks:  # stays of days ago, written late
        store.put(stay)
    store.flush()
    _tables(store)


def _written(store: Store) -> list[MemberState]:
    """Three days of member rows and talks, written; the member rows."""
    members = _members(1500)
    for row in members:
        store.put(row)
    for stay in _talks(200):
        store.put(stay)
    store.flush()
    return members


def test_a_rename_moves_the_talk(store: Store) -> None:
    members = _written(store)
    _tables(store)
    # Bob's device now answers to Zed: its talk (Bob's stays) is no longer its own.
    bob = next(m for m in members if m.member_name == "Bob")
    store.put(replace(bob, member_name="Zed", since=bob.since + timedelta(days=30)))
    store.flush()
    _tables(store)


def test_a_rename_in_one_queue_moves_that_queues_talk(store: Store) -> None:
    # Alice's device is in support and sales. Renamed Zed in support, it is Zed over all
    # queues; renamed Zed in sales too, it is still Zed over all queues, but no longer Alice
    # in sales: agent_days' rows for sales alone (talk by name) change with it.
    members = _written(store)
    alice = [m for m in members if m.member_name == "Alice"]
    later = max(m.since for m in members) + timedelta(hours=1)
    for n, queue in enumerate(("support", "sales")):
        row = next(m for m in alice if m.queue == queue)
        store.put(replace(row, member_name="Zed", since=later + timedelta(minutes=n)))
        store.flush()
        _tables(store)


def test_a_queue_log_import_and_backfill_keep_them_equal(store: Store, tmp_path: Path) -> None:
    for row in _members(400):
        store.put(row)
    store.flush()
    t0 = int((DAY - timedelta(days=1)).timestamp())
    lines = [*bob_day(t0, "c1"), f"{t0 + 7200}|MANAGER|sales|PJSIP/9|ADDMEMBER|"]
    log = tmp_path / "queue_log"
    log.write_text("\n".join(lines) + "\n")
    backfill_file(store, log, "p", members={"Bob": "PJSIP/2"})
    _tables(store)


def test_an_import_whose_member_lines_add_nothing_still_brings_its_talk(
    store: Store, tmp_path: Path
) -> None:
    # The import brings agent_days up to date once per chunk, after its member lines, for
    # its stays' days too (storage/backfill.py). Here the stays come a day before the member
    # line, which the collector saw (after its horizon): no member row is added, and the
    # talk on Bob's device must still be there.
    for row in _members(400):
        store.put(row)
    store.flush()
    t0 = int((DAY + timedelta(hours=12)).timestamp())
    lines = [f"{t0}|c1|support|NONE|ENTERQUEUE||555|1",
             f"{t0 + 10}|c1|support|Bob|CONNECT|10|c1.1|3",
             f"{t0 + 600}|c1|support|Bob|COMPLETEAGENT|10|590|1",
             f"{t0 + 86400}|NONE|support|Bob|PAUSE|Lunch"]  # fmt: skip
    log = tmp_path / "queue_log"
    log.write_text("\n".join(lines) + "\n")
    report = backfill_file(store, log, "p")
    added = (report.calls_added, report.member_states_added, report.member_rows_observed)
    assert added == (1, 0, 1)
    _tables(store)


def _pending(store: Store) -> int:
    return int(scalar(store.cursor(), "SELECT count(*) FROM agent_days_pending"))


def test_history_imported_before_the_collector_is_settled_once_at_the_end(
    store: Store, tmp_path: Path
) -> None:
    # The import recomputes agent_days once, at its end (storage/backfill.py): its rows are
    # only in place once the changelog is put in time order, and a recompute per chunk ran
    # over every collector day after the file (bench/README.md, session 7).
    for row in _members(400):  # the collector's days: DAY - 2 h to DAY + 3
        store.put(row)
    for stay in _talks(50):
        store.put(stay)
    store.flush()
    t0 = int((DAY - timedelta(days=3)).timestamp())
    lines = []
    for day in range(2):
        t = t0 + day * 86400
        lines += [*bob_day(t, f"h{day}"), f"{t + 7200}|MANAGER|support|PJSIP/2|REMOVEMEMBER|"]
    log = tmp_path / "queue_log"
    log.write_text("\n".join(lines) + "\n")
    report = backfill_file(store, log, "p", members={"Bob": "PJSIP/2"})
    assert report.calls_added == 2 and report.member_states_added >= 8
    assert _pending(store) == 0
    _tables(store)


def test_days_an_import_left_behind_are_settled_at_open(tmp_path: Path) -> None:
    # A load that stopped before its end leaves agent_days behind from its first day (noted
    # in agent_days_pending, in the transaction of the rows): the next open recomputes.
    path = tmp_path / "cb.duckdb"
    t0 = int((DAY + timedelta(hours=2)).timestamp())  # Bob logged in (_members(400))
    with Store(path, flush_interval_s=0.05) as store:
        for row in _members(400):
            store.put(row)
        store.flush()
        at = datetime.fromtimestamp(t0, UTC)
        call = replace(_talks(1)[0], pbx="p", queue="support", call_id="late", linkedid="late",
                       agent="Bob", entered_at=at, answered_at=at + timedelta(seconds=10),
                       ended_at=at + timedelta(seconds=600), talk_s=590.0)  # fmt: skip
        store.in_writer(lambda con: write_new(con, [call], [], days=False))
        # The collector's next batch recomputes its own days and the row counts agent_days
        # was folded from: only the note tells that the import's day is still behind.
        store.put(replace(call, call_id="live", linkedid="live", entered_at=at + timedelta(days=2),
                          answered_at=None, ended_at=None, outcome="abandoned"))  # fmt: skip
        store.flush()
        assert _pending(store) == 1 and not agent_days.stale(store.cursor())
        before = store.cursor().execute(_ROWS).df()
    with Store(path) as store:
        assert _pending(store) == 0
        _tables(store)
        assert not store.cursor().execute(_ROWS).df().equals(before)  # the talk came in


def test_a_file_without_them_gets_them_at_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with Store(path, flush_interval_s=0.05) as store:
        for row in _members(500):
            store.put(row)
        store.flush()
        store.in_writer(lambda con: con.execute("DROP TABLE agent_days; "
                                                "DELETE FROM agent_days_state"))  # fmt: skip
    with Store(path) as store:
        _tables(store)


def test_a_table_of_another_version_is_made_again_at_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with Store(path, flush_interval_s=0.05) as store:
        for row in _members(500):
            store.put(row)
        store.flush()
        store.in_writer(lambda con: con.execute("ALTER TABLE agent_days DROP COLUMN talk_s"))
    with Store(path) as store:
        _tables(store)


def test_days_of_a_version_before_hours_are_made_again_at_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with Store(path, flush_interval_s=0.05) as store:
        for row in _members(500):
            store.put(row)
        store.flush()
        store.in_writer(
            lambda con: con.execute(
                "DROP TABLE agent_hours; ALTER TABLE agent_days_state DROP COLUMN hours_from; "
                "ALTER TABLE agent_days_state RENAME COLUMN upto_hour TO upto_day"
            )
        )
    with Store(path) as store:
        _tables(store)


def _lately(t: datetime, now: datetime) -> datetime:
    """A time of the three fixture days moved into the six hours before `now` (in order)."""
    return now - timedelta(hours=6) + (t - DAY) / 12


def test_todays_hours_are_held_and_late_stays_recompute_them(tmp_path: Path) -> None:
    # Presence changing all morning, then stays that entered hours ago written now (as the
    # collector writes a stay when it ends): the hours they talk in are held already.
    now = datetime.now(UTC)
    with Store(tmp_path / "today.duckdb", flush_interval_s=0.05) as store:
        for i, row in enumerate(_members(1200, seed=7)):
            store.put(replace(row, since=_lately(row.since, now)))
            if i % 300 == 0:
                store.flush()
        store.flush()
        con = store.cursor()
        held = scalar(con, "SELECT upto_hour FROM agent_days_state")
        assert held == int(now.timestamp()) // 3600 - agent_days.LIVE_HOURS
        assert scalar(con, "SELECT count(*) FROM agent_hours WHERE hour >= $h", {"h": held - 5})
        for stay in _talks(150):
            entered = _lately(stay.entered_at, now)
            answered = entered + timedelta(seconds=stay.wait_s or 0)
            store.put(replace(stay, entered_at=entered, answered_at=answered, ended_at=entered))
        store.flush()
        _tables(store)
        cases: list[dict[str, object]] = [
            {"start": now - timedelta(hours=7)},
            {"start": now - timedelta(hours=4), "end": now - timedelta(minutes=90)},
            {"queues": ["support"]},
        ]
        for params in cases:
            _same_as_the_fold(con, params)


@pytest.fixture(scope="module", params=["days", "hours"])
def history(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Store]:
    """The fixture's days, months ago: read from agent_days and folded at their edges as
    kept (hours only for recent days), and with hours kept for every day since (the path of
    a recent range: whole hours at the edges)."""
    path = tmp_path_factory.mktemp("days") / "callboard.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "hours":
            kept = (datetime.now(UTC) - DAY).days + 10
            patch.setattr(agent_days, "HOURS_KEPT_DAYS", kept)
        with Store(path, flush_interval_s=0.05) as store:
            write_history(store)
            yield store


def _at(days: float, hours: float = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hours)


def _local(day: int, offset: timedelta) -> dict[str, object]:
    """[day 0:00, day + 2 0:00) in a zone `offset` from UTC."""
    zone = timezone(offset)
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=zone) + timedelta(days=day)
    return {"start": start.astimezone(UTC), "end": (start + timedelta(days=2)).astimezone(UTC)}


_TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
CASES = [
    {"start": _at(1), "end": _at(2)},  # a UTC day
    {"start": _at(1, 7.25), "end": _at(1, 11.5)},  # part of one
    {"start": _at(1, 7), "end": _at(1, 11)},  # whole hours of one
    {"start": _at(1, 7), "end": _at(1, 11.5)},
    {"start": _at(0, 20), "end": _at(2, 4)},  # mid-day to mid-day
    {"start": _at(-3), "end": _at(4)},
    {"start": _at(-200), "end": _at(165)},  # a year, into today (live)
    _local(0, timedelta(hours=5, minutes=45)),
    _local(1, -timedelta(hours=3, minutes=30)),
    _local(0, timedelta(hours=1)),  # whole hours and a day, nothing folded
    _local(-1, -timedelta(hours=5)) | {"queues": ["support"]},
    {"start": _at(1, 6)},  # open ends
    {"end": _at(1, 6)},
    {},
    {"start": _TODAY},  # today
    {"start": _TODAY - timedelta(days=1, hours=3), "end": _TODAY + timedelta(hours=1)},
    {"start": _at(0), "end": _at(3), "queues": ["sales"]},  # queue subsets
    {"start": _at(-200), "end": _at(165), "queues": ["support"]},  # one queue: its days
    _local(0, timedelta(hours=5, minutes=45)) | {"queues": ["sales"]},
    {"start": _TODAY - timedelta(days=1, hours=3), "queues": ["support"]},
    {"start": _at(0), "end": _at(3), "queues": ["sales", "sales"]},
    {"start": _at(0, 3), "end": _at(2, 3), "queues": ["support"], "agents": ["Alice"]},
    {"start": _at(0, 5), "end": _at(3), "queues": ["support", "sales"]},
    {"start": _at(0, 3), "end": _at(2, 3), "agents": ["Alice", "PJSIP/4"]},  # agents
    {"start": _at(0), "end": _at(3), "agents": ["Bob"]},
    {"start": _at(5), "end": _at(6)},  # after the last row: held states only
]


@pytest.mark.parametrize("params", CASES)
def test_the_summary_equals_the_fold_over_the_whole_range(
    history: Store, params: dict[str, object]
) -> None:
    _same_as_the_fold(history.cursor(), params)


def _same_as_the_fold(con: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    full = {"start": None, "end": None, "queues": None, "agents": None} | params
    con.execute("BEGIN TRANSACTION")  # one now() for both
    new = queries.run("agent_summary", con, **params)
    old = con.execute(SCRATCH_SQL.read_text(), full).df()
    con.execute("ROLLBACK")
    assert len(new) > 0
    pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-9, atol=1e-6)


def asof_joins(con: duckdb.DuckDBPyConnection, **params: object) -> int:
    """ASOF JOIN operators in agent_summary's physical plan for `params`."""
    query = queries.load("agent_summary")
    values = {p: params.get(p) for p in query.params}
    con.execute("SET explain_output = 'physical_only'")
    plan = con.execute("EXPLAIN (FORMAT json) " + query.sql, values).fetchall()
    return sum(str(row[-1]).count('"name": "ASOF_JOIN"') for row in plan)


def test_the_presence_fold_keeps_its_asof_joins(history: Store) -> None:
    # DuckDB may turn an ASOF JOIN whose left side it estimates small into a nested loop;
    # agent_time's were estimated at 0 rows, and a partial day at 10M callers took 0.64 s
    # instead of 0.15 (bench/README.md), so the store's connections never allow it
    # (storage/store.py `configure`).
    partial_day = {"start": _at(1), "end": _at(1, 15)}
    assert asof_joins(history.cursor(), **partial_day) == 2


# Several chosen queues: a device's kept rows equal its fold over them when every membership
# it has is chosen (all queues' rows) or one is (that queue's rows); two or more of its
# several chosen, or a stay its rows would count and its fold would not, fold the range.
_TEAM = {  # interface: (name, queues)
    "PJSIP/10": ("Ann", ("support", "sales")),
    "PJSIP/11": ("Ben", ("sales", "vip")),
    "PJSIP/12": ("Cid", ("vip",)),
}
_DEE = {"PJSIP/13": ("Dee", ("support", "sales", "vip"))}  # two of three chosen: mixed


def _team_rows(devices: dict[str, tuple[str, tuple[str, ...]]]) -> list[MemberState]:
    """Three days: each membership added at 8:00, paused 12:00-12:45 (Lunch) in every queue of
    its device but the last (so Dee is paused over support and sales, not over all three),
    removed at 17:00."""
    rows = []
    for day in range(3):
        base = DAY + timedelta(days=day)
        for interface, (name, members) in devices.items():
            for i, queue in enumerate(members):
                for at, present, paused in ((8, True, False), (12, True, i < len(members) - 1),
                                            (12.75, True, False), (17, False, False)):  # fmt: skip
                    rows.append(MemberState(
                        pbx="p", queue=queue, interface=interface, member_name=name,
                        status=1, paused=paused, paused_reason="Lunch" if paused else None,
                        in_call=False, calls_taken=0, since=base + timedelta(hours=at),
                        present=present, penalty=0, ringinuse=False, membership="dynamic",
                    ))  # fmt: skip
    return sorted(rows, key=lambda r: r.since)


def _team_talk(call_id: str, queue: str, agent: str, day: int, hour: float) -> QueueCall:
    entered = DAY + timedelta(days=day, hours=hour)
    return QueueCall(
        pbx="p", queue=queue, call_id=call_id, linkedid=call_id, caller_num="555",
        caller_name=None, entered_at=entered, position=1, outcome="answered", wait_s=10.0,
        answered_at=entered + timedelta(seconds=10), agent=agent, interface=None,
        talk_s=600.0, ended_by="agent", ended_at=entered, ring_attempts=1, source="ami",
        gap=False, left_position=None,
    )  # fmt: skip


_TEAM_TALKS = [_team_talk("a1", "support", "Ann", 0, 9), _team_talk("a2", "sales", "Ann", 1, 10),
               _team_talk("b1", "sales", "Ben", 0, 14), _team_talk("b2", "vip", "Ben", 1, 15),
               _team_talk("c1", "vip", "Cid", 2, 9)]  # fmt: skip


def _read_from_rows(con: duckdb.DuckDBPyConnection, params: dict[str, object]) -> bool:
    """Whether agent_summary reads these whole UTC days from kept rows: with the presence
    changes gone (rolled back), a fold finds no presence at all."""
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM member_changes")
    frame = queries.run("agent_summary", con, **params)
    con.execute("ROLLBACK")
    return bool(frame["logged_in_s"].notna().any())


@pytest.mark.parametrize(
    ("devices", "talks", "chosen", "from_rows"),
    [
        (_TEAM, _TEAM_TALKS, ["support", "sales"], True),  # Ann all, Ben one (sales)
        (_TEAM, _TEAM_TALKS, ["sales", "vip"], True),  # Ann one, Ben all, Cid all
        (_TEAM, _TEAM_TALKS, ["support", "vip"], True),
        # Ben answering in support, not his row's queue (sales): his fold counts it.
        (
            _TEAM,
            [*_TEAM_TALKS, _team_talk("b3", "support", "Ben", 1, 9)],
            ["support", "sales"],
            False,
        ),
        # Ann answering in vip (unchosen) under all queues' rows: they count it, the fold not.
        (
            _TEAM,
            [*_TEAM_TALKS, _team_talk("a3", "vip", "Ann", 2, 10)],
            ["support", "sales"],
            False,
        ),
        (_TEAM | _DEE, _TEAM_TALKS, ["support", "sales"], False),  # Dee: 2 of her 3
        (_TEAM | _DEE, _TEAM_TALKS, ["support", "sales", "vip"], True),
    ],
)
def test_several_queues_read_kept_rows_where_they_equal_the_fold(
    tmp_path: Path,
    devices: dict[str, tuple[str, tuple[str, ...]]],
    talks: list[QueueCall],
    chosen: list[str],
    from_rows: bool,
) -> None:
    with Store(tmp_path / "team.duckdb", flush_interval_s=0.05) as store:
        for row in _team_rows(devices):
            store.put(row)
        for stay in talks:
            store.put(stay)
        store.flush()
        con = store.cursor()
        whole_days: dict[str, object] = {"start": _at(0), "end": _at(3), "queues": chosen}
        assert _read_from_rows(con, whole_days) is from_rows
        cases: list[dict[str, object]] = [
            whole_days,
            {"start": _at(0, 11), "end": _at(2, 13), "queues": chosen},
            {"queues": chosen, "agents": ["Ben"]},
        ]
        for params in cases:
            _same_as_the_fold(con, params)
