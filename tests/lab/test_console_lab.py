"""The PBX console's service side on a real Asterisk 16: "Test" says success, a wrong secret
and an unreachable port in words; a PBX added while the service runs is collected at once
(its members, a real call, the PBX's facts and ping), a bad edit is reported, and removing it
stops its collector. The page itself is tested on the demo PBX (tests/pages/test_pbx.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

import connections
from service import Service, metrics_text
from settings import Settings
from tests.collectors.resilience_helpers import by_caller, finish, live, pbx_of, until
from tests.lab.asterisk import AsteriskLab
from tests.lab.control import lab_ports_released  # noqa: F401 (a fixture)
from tests.lab.ports import free_port

pytestmark = [pytest.mark.asterisk, pytest.mark.usefixtures("lab_ports_released")]


async def test_test_connection_and_a_pbx_added_at_runtime(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    lab = asterisk_lab
    pbx = pbx_of(lab)
    result = await connections.check(pbx)
    assert result.ok and result.message.startswith(f"logged in to 127.0.0.1:{lab.ami_port}")
    wrong = await connections.check(replace(pbx, secret="not-" + lab.ami_secret))
    assert not wrong.ok and wrong.message.startswith("authentication failed for user 'callboard'")
    nobody = await connections.check(replace(pbx, port=free_port()))
    assert not nobody.ok and nobody.message.startswith("unreachable: cannot reach 127.0.0.1:")
    assert lab.ami_secret not in wrong.message + nobody.message

    settings = Settings(db_path=tmp_path / "cb.duckdb", flush_interval_s=0.1, demo="off")
    async with Service(settings) as service:
        assert service.collectors == []
        await service.apply_pbx(pbx)  # what the page's Save does, on the service's loop
        (collector,) = service.collectors
        await until(lambda: collector.ready, 20, "the added PBX's login and snapshot")
        status = collector.status
        assert str(status.asterisk_version).startswith("16.") and status.endpoints
        await until(lambda: status.ping_rtt_ms is not None, 5, "a ping")
        assert 'callboard_ping_rtt_ms{pbx="lab"} ' in metrics_text(service)
        assert "lab" in set(live(service, "live_members")["pbx"])
        await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=0.5, talk_s=1.0)
        await finish(lab.call("600", "71001"))
        await until(lambda: "71001" in by_caller(service), 10, "the call")
        assert by_caller(service)["71001"]["outcome"] == "answered"

        await service.apply_pbx(replace(pbx, secret="wrong"))  # an edit: restarted
        (edited,) = service.collectors
        await until(lambda: edited.status.state == "auth_failed", 15, "the refusal")
        assert edited.status.last_error == "authentication failed for user 'callboard'"
        await service.remove_pbx("lab")
        assert service.collectors == [] and connections.load(service.connections_path) == ()
