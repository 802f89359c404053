"""The realtime page, run by Streamlit's AppTest against a real seeded DuckDB store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamlit.testing.v1 import AppTest

import queries
from collectors.rows import MemberState, QueueCall, WaitingCaller
from storage.store import Store
from tests.conftest import REPO


def member(
    interface: str, name: str, paused: bool, reason: str | None, since: datetime
) -> MemberState:
    return MemberState(
        pbx="p", queue="support", interface=interface, member_name=name, status=1,
        paused=paused, paused_reason=reason, in_call=False, calls_taken=0, since=since,
        present=True, penalty=0, ringinuse=False, membership="static",
    )  # fmt: skip


def seed(store: Store) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for interface, name, paused, reason, since in [
        ("PJSIP/1001", "Alice", False, None, now - timedelta(minutes=5)),
        ("PJSIP/1002", "Bob", True, "lunch", now - timedelta(minutes=2)),
    ]:
        store.put(member(interface, name, paused, reason, since))
    store.put(
        WaitingCaller(
            "p", "support", "9.1", "555", "Ann", 1, now - timedelta(seconds=30), True, now
        )
    )
    for i, outcome in enumerate(["answered", "abandoned"]):
        store.put(QueueCall(
            pbx="p", queue="support", call_id=f"9.{10 + i}", linkedid=None, caller_num="556",
            caller_name=None, entered_at=now - timedelta(seconds=60 - i), position=1,
            outcome=outcome, wait_s=4.0, answered_at=None, agent=None, interface=None,
            talk_s=None, ended_by=None, ended_at=now, ring_attempts=0, source="ami",
        ))  # fmt: skip
    store.flush()


def test_realtime_page_shows_agents_waiting_callers_and_todays_calls(store: Store) -> None:
    seed(store)
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=30).run()
    assert not at.exception
    frames = [df.value for df in at.dataframe]
    waiting, members, calls = frames[0], frames[1], frames[2]
    assert list(waiting["call_id"]) == ["9.1"]
    assert dict(zip(members["agent"], members["state"], strict=True)) == {
        "Alice": "available",
        "Bob": "paused",
    }
    assert members.set_index("agent").loc["Bob", "paused_reason"] == "lunch"
    # The page shows what the named query returns, newest first.
    expected = queries.read("calls")
    assert sorted(calls["outcome"]) == sorted(expected["outcome"]) == ["abandoned", "answered"]


def test_realtime_page_without_a_store_says_so() -> None:
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=30).run()
    assert not at.exception
    assert any("store is not open" in e.value for e in at.error)
