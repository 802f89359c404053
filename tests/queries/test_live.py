"""Live views: the newest row per member or caller wins; the agent map names members."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import queries
from collectors.rows import MemberState, WaitingCaller
from settings import AgentSettings
from storage.store import Store

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def member(interface: str, name: str, status: int, paused: bool, at: datetime) -> MemberState:
    return MemberState(
        pbx="p", queue="support", interface=interface, member_name=name, status=status,
        paused=paused, paused_reason="Lunch" if paused else None, in_call=False, calls_taken=0,
        since=at, present=True, penalty=0, ringinuse=False, membership="static",
    )  # fmt: skip


def test_newest_member_row_wins_and_agent_map_names_it(tmp_path: Path) -> None:
    agents = [AgentSettings(interface="PJSIP/1001", name="Alice Martin", username="alice")]
    with Store(tmp_path / "s.duckdb", agents=agents) as store:
        # Same `since` on both rows: order of arrival decides, not the timestamp.
        store.put(member("PJSIP/1001", "Alice", 1, False, T0))
        store.put(member("PJSIP/1001", "Alice", 1, True, T0))
        store.put(member("PJSIP/1002", "Bob", 6, False, T0))
        store.flush()
        frame = queries.read("live_members").set_index("interface")
    assert frame.loc["PJSIP/1001", "agent"] == "Alice Martin"
    assert frame.loc["PJSIP/1001", "platform_user"] == "alice"
    assert frame.loc["PJSIP/1001", "state"] == "paused"
    assert frame.loc["PJSIP/1001", "paused_reason"] == "Lunch"
    assert (frame.loc["PJSIP/1002", "agent"], frame.loc["PJSIP/1002", "state"]) == (
        "Bob",
        "ringing",
    )


def test_a_caller_who_left_is_not_waiting(store: Store) -> None:
    def caller(call_id: str, present: bool) -> WaitingCaller:
        return WaitingCaller("p", "support", call_id, "555", None, 1, T0, present, T0)

    store.put(caller("1.1", True))
    store.put(caller("1.2", True))
    store.put(caller("1.1", False))
    store.flush()
    assert list(queries.read("live_waiting")["call_id"]) == ["1.2"]
    assert (
        queries.read("live_waiting")["wait_s"].iloc[0]
        > (datetime.now(UTC) - T0 - timedelta(seconds=5)).total_seconds()
    )
