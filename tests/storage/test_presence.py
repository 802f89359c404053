"""Agent presence from queue_log's member lines (storage/presence.py), worked out by hand.

The day, 2026-11-02 UTC, support queue, Alice on PJSIP/1001 (ADDMEMBER names the interface,
PAUSE the member name, as Asterisk 16 writes them):
    09:00 ADDMEMBER, 12:00 PAUSE Lunch, 12:30 UNPAUSE, 17:00 REMOVEMEMBER
    c1 enters 10:00, answered 10:00:10, talk 300 s; c2 enters 14:00, answered 14:00:05, talk
    600 s; c3 enters 12:10, abandons 12:11 (while Alice lunches).
By hand: logged in 09:00-17:00 = 28800 s; paused 12:00-12:30 = 1800 s ("Lunch"); unpaused
27000 s; talk 900 s, all of it in logged-in time; occupancy 100 * 900 / 27000 = 3.33 %.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest

import queries
from collectors.rows import ConnectionSession, MemberState
from storage import backfill
from storage.backfill import backfill_file
from storage.follower import QueueLogFollower
from storage.queue_log import fold_calls
from storage.store import Store

DAY = "2026-11-02"
ALICE = {"Alice": "PJSIP/1001"}


def at(hhmmss: str, day: str = DAY) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmmss}+00:00")


def epoch(hhmmss: str, day: str = DAY) -> int:
    return int(at(hhmmss, day).timestamp())


def day_log(day: str = DAY) -> list[str]:
    def line(t: str, callid: str, agent: str, verb: str, *data: str) -> str:
        return "|".join([str(epoch(t, day)), callid, "support", agent, verb, *data])

    return [
        line("09:00:00", "MANAGER", "PJSIP/1001", "ADDMEMBER", ""),
        line("10:00:00", "c1", "NONE", "ENTERQUEUE", "", "5550001", "1"),
        line("10:00:10", "c1", "Alice", "CONNECT", "10", "m1", "2"),
        line("10:05:10", "c1", "Alice", "COMPLETEAGENT", "10", "300", "1"),
        line("12:00:00", "NONE", "Alice", "PAUSE", "Lunch"),
        line("12:10:00", "c3", "NONE", "ENTERQUEUE", "", "5550003", "1"),
        line("12:11:00", "c3", "NONE", "ABANDON", "1", "1", "60"),
        line("12:30:00", "NONE", "Alice", "UNPAUSE", ""),
        line("14:00:00", "c2", "NONE", "ENTERQUEUE", "", "5550002", "1"),
        line("14:00:05", "c2", "Alice", "CONNECT", "5", "m2", "1"),
        line("14:10:05", "c2", "Alice", "COMPLETECALLER", "5", "600", "1"),
        line("17:00:00", "MANAGER", "PJSIP/1001", "REMOVEMEMBER", ""),
    ]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "queue_log"
    path.write_text("\n".join(day_log()) + "\n")
    return path


def summary(store: Store, agent: str = "Alice") -> dict[str, object]:
    """agent_summary's row of `agent` on DAY."""
    frame = queries.run("agent_summary", store.cursor(), start=at("00:00:00"),
                        end=at("00:00:00", "2026-11-03"))  # fmt: skip
    return dict(frame.set_index("agent").loc[agent]) | {"agent": agent}


def member_rows(store: Store) -> list[tuple[object, ...]]:
    return (
        store.cursor()
        .execute(
            "SELECT interface, member_name, since, present, paused, paused_reason, membership, "
            "source FROM member_states ORDER BY rowid"
        )
        .fetchall()
    )


def ami_member(since: datetime, **changes: object) -> MemberState:
    row = MemberState(
        pbx="main", queue="support", interface="PJSIP/1001", member_name="Alice", status=1,
        paused=False, paused_reason=None, in_call=False, calls_taken=0, since=since,
        present=True, penalty=0, ringinuse=False, membership="dynamic",
    )  # fmt: skip
    return dataclasses.replace(row, **changes)  # type: ignore[arg-type]


def assert_hand_worked(row: dict[str, object]) -> None:
    assert row["answered"] == 2 and row["talk_total_s"] == 900.0
    assert row["logged_in_s"] == 28800.0
    assert row["pause_s"] == 1800.0
    assert row["unpaused_s"] == 27000.0
    assert row["pause_by_reason_s"] == {"Lunch": 1800.0}
    assert row["occupancy_pct"] == pytest.approx(100 * 900 / 27000)


def test_fold_makes_the_collectors_rows() -> None:
    rows = fold_calls(day_log(), pbx="main").member_states
    # PAUSE names the member: its interface is resolved when written (test below).
    assert [(r.interface, r.member_name, r.since.strftime("%H:%M"), r.present, r.paused,
             r.paused_reason, r.membership) for r in rows] == [
        ("PJSIP/1001", None, "09:00", True, False, None, "dynamic"),
        ("Alice", "Alice", "12:00", True, True, "Lunch", "unknown"),
        ("Alice", "Alice", "12:30", True, False, None, "unknown"),
        ("PJSIP/1001", None, "17:00", False, False, None, "dynamic"),
    ]  # fmt: skip
    assert {(r.status, r.in_call, r.calls_taken, r.source) for r in rows} == {
        (0, False, 0, "queue_log")
    }


def test_fold_pauseall_penalty_realtime_and_repeats() -> None:
    t = epoch("09:00:00")
    lines = [
        f"{t}|REALTIME|sales|SIP/7|ADDMEMBER|",
        f"{t + 1}|NONE|sales|SIP/7|PENALTY|3",
        f"{t + 2}|NONE|NONE|SIP/7|PAUSEALL|Break",  # then one PAUSE per queue, as Asterisk
        f"{t + 2}|NONE|sales|SIP/7|PAUSE|Break",
        f"{t + 3}|NONE|sales|SIP/7|PAUSE|Break",  # the same state again: no row
        f"{t + 4}|NONE|sales|SIP/7|PAUSE|Training",  # a new reason: a new state
        f"{t + 5}|NONE|NONE|SIP/7|UNPAUSEALL|",
        f"{t + 5}|NONE|sales|SIP/7|UNPAUSE|",
        f"{t + 6}|NONE|sales|SIP/7|AGENTLOGIN|x",
        f"{t + 7}|MANAGER||SIP/7|ADDMEMBER|",  # no queue: a bad line
    ]
    result = fold_calls(lines, pbx="main")
    assert [(r.since.second, r.paused, r.paused_reason, r.penalty, r.membership)
            for r in result.member_states] == [
        (0, False, None, 0, "realtime"), (2, True, "Break", 3, "realtime"),
        (4, True, "Training", 3, "realtime"), (5, False, None, 3, "realtime"),
    ]  # fmt: skip
    assert result.bad_lines == [(10, "ADDMEMBER without a queue or a member")]
    assert result.unknown_verbs == {}


def test_import_gives_presence_worked_out_by_hand(store: Store, log: Path) -> None:
    report = backfill_file(store, log, "main", members=ALICE)
    assert (report.calls_added, report.member_states_added) == (3, 4)
    assert not report.unmapped_members
    assert_hand_worked(summary(store))
    assert [r[:6] for r in member_rows(store)] == [
        ("PJSIP/1001", None, at("09:00:00"), True, False, None),
        ("PJSIP/1001", "Alice", at("12:00:00"), True, True, "Lunch"),
        ("PJSIP/1001", "Alice", at("12:30:00"), True, False, None),
        ("PJSIP/1001", None, at("17:00:00"), False, False, None),
    ]


def test_loading_twice_changes_nothing(store: Store, log: Path) -> None:
    backfill_file(store, log, "main", members=ALICE)
    before = member_rows(store)
    again = backfill_file(store, log, "main", members=ALICE)
    assert (again.calls_added, again.member_states_added) == (0, 0)
    assert member_rows(store) == before
    assert_hand_worked(summary(store))


def test_a_name_the_collector_saw_resolves_without_a_map(store: Store, log: Path) -> None:
    # The collector knew Alice on PJSIP/1001 from the next day on.
    store.put(ami_member(at("08:00:00", "2026-11-03")))
    store.flush()
    report = backfill_file(store, log, "main")
    assert report.member_states_added == 4 and not report.unmapped_members
    assert_hand_worked(summary(store))


def test_an_unknown_name_is_counted_and_left_out(store: Store, log: Path) -> None:
    report = backfill_file(store, log, "main")
    assert report.unmapped_members == {"Alice": 2}
    assert report.member_states_added == 2  # ADDMEMBER and REMOVEMEMBER name the interface
    # The device is known by its interface only: its presence, without the pause, and no
    # talk, which is Alice's (the name CONNECT gives).
    row = summary(store, "PJSIP/1001")
    assert (row["logged_in_s"], row["pause_s"], row["answered"]) == (28800.0, 0.0, 0)


def test_nothing_is_added_where_the_collector_saw_the_members(store: Store, log: Path) -> None:
    # The collector ran all day: its rows, from 08:00, hold presence (here Alice logged in
    # 08:30-16:00 with no pause, different from queue_log on purpose, so any leak shows).
    store.put(ami_member(at("08:00:00"), present=False))
    store.put(ami_member(at("08:30:00")))
    store.put(ami_member(at("16:00:00"), present=False))
    store.flush()
    before = member_rows(store)
    report = backfill_file(store, log, "main", members=ALICE)
    assert report.member_states_added == 0 and report.member_rows_observed == 4
    assert member_rows(store) == before
    row = summary(store)
    assert (row["logged_in_s"], row["pause_s"]) == (27000.0, 0.0)


def test_history_loaded_after_the_collector_ran(store: Store, log: Path) -> None:
    """The collector ran from the next day 08:00; the earlier queue_log is imported later. Its
    rows land before the collector's in arrival order, so both days read right, and the live
    view still shows the collector's state."""
    store.put(ami_member(at("08:00:00", "2026-11-03")))
    store.put(ami_member(at("09:00:00", "2026-11-03"), paused=True, paused_reason="Break"))
    store.put(ami_member(at("09:15:00", "2026-11-03")))
    store.flush()
    bob = f"{epoch('11:00:00')}|MANAGER|support|PJSIP/1002|ADDMEMBER|"  # never removed
    log.write_text(log.read_text() + bob + "\n")
    report = backfill_file(store, log, "main", members=ALICE)
    assert report.member_states_added == 5 + 1  # Alice's 4, Bob's add, Bob's close
    assert_hand_worked(summary(store))
    frame = queries.run("agent_summary", store.cursor(), start=at("00:00:00"),
                        end=at("00:00:00", "2026-11-04")).set_index("agent")  # fmt: skip
    # Bob: 11:00 on the 2nd until the collector's first row (08:00 on the 3rd) = 21 h, as
    # the collector's first snapshot does not list him.
    assert frame.loc["PJSIP/1002", "logged_in_s"] == 21 * 3600.0
    # Alice: 28800 s on the 2nd, 16 h from 08:00 on the 3rd; paused 1800 + 900 s.
    assert frame.loc["Alice", "logged_in_s"] == 28800.0 + 16 * 3600
    assert frame.loc["Alice", "pause_s"] == 1800.0 + 900
    live = queries.run("live_members", store.cursor())
    assert list(zip(live["interface"], live["paused"], strict=True)) == [("PJSIP/1001", False)]
    sources = [r[-1] for r in member_rows(store)]
    assert sources == ["queue_log"] * 6 + ["ami"] * 3
    again = backfill_file(store, log, "main", members=ALICE)
    assert again.member_states_added == 0


def session(session_id: int, started: str, ended: str | None) -> list[ConnectionSession]:
    """An AMI session's rows as the collector writes them: connected, then closed (unless it
    was never closed: the service killed, or still open)."""
    rows = [ConnectionSession("main", session_id, at(started), None, "connected", None)]
    if ended is not None:
        rows.append(ConnectionSession("main", session_id, at(started), at(ended), "closed", "lost"))
    return rows


def collected(store: Store, *rows: ConnectionSession | MemberState) -> None:
    """The collector's rows, written."""
    for row in rows:
        store.put(row)
    store.flush()


# The changelog after an outage 11:00-15:00 filled: the collector's rows around queue_log's
# pause, each (since, paused, source).
FILLED = [
    (at("08:00:00"), False, "ami"),
    (at("12:00:00"), True, "queue_log"),
    (at("12:30:00"), False, "queue_log"),
    (at("15:00:01"), False, "ami"),
]


def test_an_ami_outage_is_filled_from_queue_log(store: Store, log: Path) -> None:
    """The collector ran from 08:00, lost AMI 11:00-15:00 and restated Alice at 15:00:01. By
    hand: its own rows make her logged in from 08:00 to the day's end, 16 h; queue_log's
    pause 12:00-12:30 fell in the outage and is filled, 1800 s ("Lunch"); its ADDMEMBER
    (09:00) and REMOVEMEMBER (17:00) fell in sessions and are left to the collector's rows.
    An attempt that never logged in (unreachable, 13:00) is not a session."""
    collected(
        store,
        *session(1, "08:00:00", "11:00:00"),
        ConnectionSession("main", 2, at("13:00:00"), at("13:00:00"), "unreachable", "refused"),
        *session(3, "15:00:00", None),
        ami_member(at("08:00:00")),
        ami_member(at("15:00:01")),
    )
    report = backfill_file(store, log, "main", members=ALICE)
    assert (report.member_states_added, report.member_rows_in_outages) == (2, 2)
    assert report.member_rows_observed == 2
    assert [(r[2], r[4], r[-1]) for r in member_rows(store)] == FILLED
    row = summary(store)
    assert (row["logged_in_s"], row["pause_s"]) == (16 * 3600.0, 1800.0)
    assert row["pause_by_reason_s"] == {"Lunch": 1800.0}
    again = backfill_file(store, log, "main", members=ALICE)
    assert again.member_states_added == 0


def test_a_line_stamped_in_the_second_the_session_ended_is_in_the_outage(
    store: Store, log: Path
) -> None:
    # The link was lost at 12:00:00.400; queue_log stamps the pause 12:00:00 (whole seconds),
    # though it may have come after the loss. It is filled, dated at the loss: pause 1799.6 s.
    collected(
        store,
        *session(1, "08:00:00", "12:00:00.400"), *session(2, "12:40:00", None),
        ami_member(at("08:00:00")), ami_member(at("12:40:01")),
    )  # fmt: skip
    report = backfill_file(store, log, "main", members=ALICE)
    assert (report.member_states_added, report.member_rows_in_outages) == (2, 2)
    assert [r[2] for r in member_rows(store)][1] == at("12:00:00.400")
    assert summary(store)["pause_s"] == pytest.approx(1799.6)


def test_the_follower_fills_an_outage_as_it_reads(store: Store, tmp_path: Path) -> None:
    # The follower reads the file while the link is down (no session after 11:00 yet), then
    # the collector reconnects at 15:00; the pause taken in the outage is in the changelog
    # before the restatement, and nothing it read before 11:00 or after 15:00 is added.
    collected(store, *session(1, "08:00:00", "11:00:00"), ami_member(at("08:00:00")))
    path = tmp_path / "followed"
    lines = day_log()
    path.write_text("\n".join(lines[:8]) + "\n")  # up to the UNPAUSE at 12:30
    follower = QueueLogFollower(store, "main", path, grace_s=0)
    try:
        follower.poll()
        collected(store, *session(2, "15:00:00", None), ami_member(at("15:00:01")))
        with path.open("a") as f:
            f.write("\n".join(lines[8:]) + "\n")  # the REMOVEMEMBER at 17:00: seen by AMI
        follower.poll()
    finally:
        follower.close()
    assert follower.report.member_rows_in_outages == 2
    assert [(r[2], r[4], r[-1]) for r in member_rows(store)] == FILLED
    assert summary(store)["pause_s"] == 1800.0


def test_an_outage_no_session_ended_is_filled_until_now(store: Store, log: Path) -> None:
    # The session closed at 11:00 and none followed: queue_log tells the rest of the day
    # (pause 12:00-12:30, removed at 17:00): logged in 08:00-17:00.
    collected(store, *session(1, "08:00:00", "11:00:00"), ami_member(at("08:00:00")))
    report = backfill_file(store, log, "main", members=ALICE)
    assert (report.member_states_added, report.member_rows_in_outages) == (3, 3)
    row = summary(store)
    assert (row["logged_in_s"], row["pause_s"]) == (9 * 3600.0, 1800.0)


def test_a_session_whose_end_was_never_written_fills_nothing(store: Store, log: Path) -> None:
    # Killed at some unknown time after 08:00, restarted at 15:00: the outage is unknown, so
    # the collector's last state carries through as before.
    collected(
        store,
        *session(1, "08:00:00", None), *session(2, "15:00:00", None),
        ami_member(at("08:00:00")), ami_member(at("15:00:01")),
    )  # fmt: skip
    report = backfill_file(store, log, "main", members=ALICE)
    assert (report.member_states_added, report.member_rows_observed) == (0, 4)
    assert summary(store)["pause_s"] == 0.0


def test_cli_takes_member_names(tmp_path: Path, log: Path) -> None:
    from storage.__main__ import main

    db = tmp_path / "cli.duckdb"
    assert main(["import-queue-log", str(log), "--pbx", "main", "--db", str(db),
                 "--member", "Alice=PJSIP/1001"]) == 0  # fmt: skip
    with Store(db) as store:
        assert_hand_worked(summary(store))
    assert main(["import-queue-log", str(log), "--pbx", "main", "--db", str(db),
                 "--member", "Alice"]) == 2  # fmt: skip


def test_follower_loads_presence_before_the_collector(store: Store, tmp_path: Path) -> None:
    """The follower writes member rows as it reads them, before the collector's horizon only,
    and puts late history in order once it has caught up."""
    store.put(ami_member(at("08:00:00", "2026-11-03")))
    store.flush()
    path = tmp_path / "followed"
    path.write_text("\n".join(day_log()) + "\n")
    follower = QueueLogFollower(store, "main", path, grace_s=0)
    try:
        follower.poll()
        late = f"{epoch('09:00:00', '2026-11-03')}|NONE|support|Alice|PAUSE|Break\n"
        with path.open("a") as f:
            f.write(late)  # after the horizon: the collector's own rows tell it
        follower.poll()
    finally:
        follower.close()
    assert follower.report.member_states_added == 4
    assert [r[-1] for r in member_rows(store)] == ["queue_log"] * 4 + ["ami"]
    assert_hand_worked(summary(store))


def test_live_views_show_only_what_the_collector_says(store: Store, log: Path) -> None:
    # History only, Bob never removed: he was present when the file ends, not now.
    bob = f"{epoch('11:00:00')}|MANAGER|support|PJSIP/1002|ADDMEMBER|"
    log.write_text(log.read_text() + bob + "\n")
    backfill_file(store, log, "main", members=ALICE)
    cursor = store.cursor()
    assert queries.run("live_members", cursor).empty
    assert queries.run("live_agents", cursor, start=at("00:00:00")).empty
    assert queries.run("live_queues", cursor)["agents_available"].sum() == 0


def test_rows_a_stopped_load_left_out_of_order_are_ordered_at_open(
    tmp_path: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above, but the load stops before it puts the changelog in time order (its last
    step): the next open does it (member_states_unordered), so both days read right."""
    path = tmp_path / "cb.duckdb"
    with Store(path) as store:
        store.put(ami_member(at("08:00:00", "2026-11-03")))
        store.put(ami_member(at("09:00:00", "2026-11-03"), paused=True, paused_reason="Break"))
        store.put(ami_member(at("09:15:00", "2026-11-03")))
        store.flush()
        monkeypatch.setattr(backfill, "order_members", lambda con, pbx, first: False)
        backfill_file(store, log, "main", members=ALICE)
        assert [r[-1] for r in member_rows(store)] == ["ami"] * 3 + ["queue_log"] * 4
    with Store(path) as store:
        assert [r[-1] for r in member_rows(store)] == ["queue_log"] * 4 + ["ami"] * 3
        assert_hand_worked(summary(store))
        left = store.cursor().execute("SELECT count(*) FROM member_states_unordered").fetchall()
        assert left == [(0,)]
