"""What the PBX console reads from a link's status: the event rate, durations in words, the
per-endpoint and per-contact detail kept from the snapshot, and the ping round trip."""

from __future__ import annotations

import asyncio

import pytest

from collectors import snapshot
from collectors.ami import AmiActionError, AmiSession
from collectors.status import PbxStatus, duration_text
from demo import DemoPbx, DemoSettings


def test_events_per_s_is_measured_between_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("collectors.status.time.time", lambda: clock[0])
    status = PbxStatus("p")
    assert status.events_per_s() is None  # one read: no rate yet
    status.events, clock[0] = 50, 1010.0
    assert status.events_per_s() == 5.0
    status.events, clock[0] = 170, 1070.0  # the first read falls out of the minute's window
    assert status.events_per_s() == 2.0  # (170 - 50) / 60


def test_health_leaves_out_the_detail_tables_the_console_shows() -> None:
    status = PbxStatus("p", contact_list=[{"endpoint": "1001"}])
    assert "contact_list" not in status.as_dict() and "_samples" not in status.as_dict()
    assert status.as_dict(detail=True)["contact_list"] == [{"endpoint": "1001"}]
    assert "events_per_s" in status.as_dict()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (-3, "0 s"), (45.9, "45 s"), (60, "1 min"), (725, "12 min 5 s"),
     (11_520, "3 h 12 min"), (352_800, "4 d 2 h")],
)  # fmt: skip
def test_durations_read_as_words(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


async def test_snapshot_keeps_each_endpoint_and_contact_and_a_ping_round_trip() -> None:
    async with DemoPbx(DemoSettings()) as demo:
        status = PbxStatus("d")
        session = await AmiSession.open(demo.pbx_settings("d"), lambda _: None, status)
        async with session:

            def refused(action: str, error: AmiActionError) -> None:
                raise AssertionError(f"{action} refused: {error}")

            await snapshot.read_facts(session, status, 10.0, refused)
            assert status.ping_rtt_ms is None
            rtt = await asyncio.wait_for(session.ping(), 5)
    assert status.ping_rtt_ms == rtt and 0 < rtt < 1000
    assert len(status.contact_list) == status.contacts == len(demo.settings.agents)
    first = status.contact_list[0]
    assert first["uri"] == f"sip:{first['endpoint']}@127.0.0.1:{str(first['uri']).rsplit(':')[-1]}"
    assert first["status"] == "NonQualified" and first["rtt_ms"] is None  # RoundtripUsec N/A
    assert len(status.endpoint_list) == status.endpoints == len(demo.settings.agents) + 1
    assert {e["endpoint"]: e["contacts"] for e in status.endpoint_list}["pstn"] == 0
    assert all(e["contacts"] == 1 for e in status.endpoint_list if e["endpoint"] != "pstn")


def test_a_contacts_qualify_round_trip_is_read_in_ms() -> None:
    assert snapshot._rtt_ms("1500") == 1.5  # RoundtripUsec: microseconds
    assert snapshot._rtt_ms("0") is None and snapshot._rtt_ms("N/A") is None
