"""Proof on a real Asterisk 16: agent presence from the collector's rows equals the presence
folded from the queue_log Asterisk wrote in the same run (loaded into a second store); a pause
made while the collector's AMI link is cut is filled from queue_log by an import after the
reconnect, and by the follower while the link is still down.

(../shared/ami-captures/ has no member lines in its queue_logs, so the lab makes them.)
Tolerance 1.5 s per duration: queue_log stamps whole epoch seconds, so each edge of a span
reads up to 1 s early, and the AMI event reaches the collector some ms after the line.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import queries
from service import Service
from storage.backfill import backfill_file
from storage.store import Store
from tests.collectors.lab_helpers import collecting, members, until
from tests.collectors.resilience_helpers import (
    following_settings,
    pause,
    pbx_of,
    ready,
    settings_of,
    table,
)
from tests.lab.ami import LabAmi
from tests.lab.asterisk import AsteriskLab
from tests.lab.relay import AmiRelay

pytestmark = pytest.mark.asterisk

TOLERANCE_S = 1.5
PRESENCE = ["logged_in_s", "pause_s", "unpaused_s"]


def presence(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    cursor = store.cursor()
    try:
        return queries.run("agent_summary", cursor, start=start, end=end).set_index("agent")
    finally:
        cursor.close()


async def test_presence_from_ami_equals_presence_from_queue_log(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    lab = asterisk_lab
    async with collecting(lab, tmp_path / "ami") as service, LabAmi(lab) as ami:
        first = len(lab.queue_log_lines())  # the lab is shared: this test's lines only
        start = datetime.now(UTC)
        # Erin, a dynamic member of two queues on an interface of her own (not an endpoint:
        # Asterisk takes any), paused in both at once (PAUSEALL) and removed from both.
        erin = [{"Queue": q, "Interface": "PJSIP/1099"} for q in ("support", "rna")]
        for membership in erin:
            await ami.action({"Action": "QueueAdd", **membership, "MemberName": "Erin"})
        await asyncio.sleep(2)
        pause_all = {"Action": "QueuePause", "Interface": "PJSIP/1099"}  # no Queue: all
        await ami.action({**pause_all, "Paused": "true", "Reason": "Lunch"})
        # Alice, static in support and rna: paused in both (in one only is no pause time).
        alice = {"Action": "QueuePause", "Interface": "PJSIP/1001"}
        await ami.action({**alice, "Paused": "true", "Reason": "Break"})
        await asyncio.sleep(3)
        await ami.action({**pause_all, "Paused": "false"})
        await ami.action({**alice, "Paused": "false"})
        await asyncio.sleep(2)
        for membership in erin:
            await ami.action({"Action": "QueueRemove", **membership})
        removed = "interface == 'PJSIP/1099' and not present"
        await until(lambda: len(members(service).query(removed)) == 2, 10, "the removals")
        await until(lambda: "".join(lab.queue_log_lines()[first:]).count("|REMOVEMEMBER|") == 2,
                    10, "REMOVEMEMBER in queue_log")  # fmt: skip
        end = datetime.now(UTC)
        from_ami = presence(service.store, start, end)
    log = tmp_path / "queue_log"
    log.write_text("\n".join(lab.queue_log_lines()[first:]) + "\n")
    with Store(tmp_path / "qlog.duckdb") as qstore:
        names = {"Erin": "PJSIP/1099", "Alice": "PJSIP/1001"}
        report = backfill_file(qstore, log, "lab", members=names)
        # Erin: 2 ADDMEMBER, 2 PAUSE, 2 UNPAUSE, 2 REMOVEMEMBER; Alice: 2 PAUSE, 2 UNPAUSE.
        assert report.member_states_added == 12 and not report.unmapped_members
        from_qlog = presence(qstore, start, end)

    # Erin, added and removed in the run: every presence column agrees.
    ami_erin, qlog_erin = from_ami.loc["Erin"], from_qlog.loc["Erin"]
    assert ami_erin["logged_in_s"] > 6 and ami_erin["pause_s"] > 2.5
    for column in PRESENCE:
        assert abs(ami_erin[column] - qlog_erin[column]) <= TOLERANCE_S, column
    assert set(ami_erin["pause_by_reason_s"]) == set(qlog_erin["pause_by_reason_s"]) == {"Lunch"}
    # Alice is a static member: queue_log knows her memberships from her first pause only (no
    # ADDMEMBER), so only her pause time can agree.
    assert abs(from_ami.loc["Alice", "pause_s"] - from_qlog.loc["Alice", "pause_s"]) <= TOLERANCE_S
    assert from_ami.loc["Alice", "pause_s"] >= 2.5


async def test_a_pause_in_an_ami_outage_is_filled_from_queue_log(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    """The collector's AMI link is cut; Bob (support only) pauses for 3 s and unpauses while
    it is down. Its login snapshot after the reconnect finds him unpaused as before, so its
    own rows hold no pause; queue_log's PAUSE and UNPAUSE fall in the outage between its
    sessions, and the import fills them in."""
    lab = asterisk_lab
    with AmiRelay(lab.ami_port) as relay:
        settings = settings_of(tmp_path / "cb.duckdb", pbx_of(lab, port=relay.port))
        async with Service(settings) as service:
            await ready(service)
            first = len(lab.queue_log_lines())
            start = datetime.now(UTC)
            relay.cut(down_for=6.0)
            collector = service.collectors[0]
            await until(lambda: collector.status.state != "connected", 5, "the lost link")
            await pause(lab, "PJSIP/1002", reason="Outage")
            await asyncio.sleep(3)
            await pause(lab, "PJSIP/1002", on=False)
            await ready(service, sessions=2)
            await asyncio.sleep(1)
            end = datetime.now(UTC)
            service.store.flush()
            seen = presence(service.store, start, end).loc["Bob"]
            log = tmp_path / "queue_log"
            log.write_text("\n".join(lab.queue_log_lines()[first:]) + "\n")
            report = await asyncio.to_thread(
                backfill_file, service.store, log, "lab", members={"Bob": "PJSIP/1002"}
            )
            filled = presence(service.store, start, end).loc["Bob"]
    assert seen["pause_s"] == 0
    assert report.member_rows_in_outages == 2  # PAUSE, UNPAUSE
    assert abs(filled["pause_s"] - 3.0) <= TOLERANCE_S
    assert set(filled["pause_by_reason_s"]) == {"Outage"}
    assert filled["logged_in_s"] == pytest.approx(seen["logged_in_s"])


async def test_the_follower_fills_a_pause_while_the_link_is_still_down(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    """As above, with the service following the lab's queue_log (storage/follower.py): Bob's
    pause is on the pages while the AMI link is still down (an outage with no session after
    it yet), and counted once after the reconnect."""
    lab = asterisk_lab
    with AmiRelay(lab.ami_port) as relay:
        settings = following_settings(lab, relay.port, tmp_path / "cb.duckdb")
        async with Service(settings) as service:
            await ready(service)
            start = datetime.now(UTC)
            # The lab's queue_log also holds earlier tests' lines: the follower loads those as
            # history before the collector's first row; this test's rows come after `start`.
            filled = "SELECT * FROM member_states WHERE source = 'queue_log' AND since >= $start"
            relay.cut(down_for=14.0)
            collector = service.collectors[0]
            await until(lambda: collector.status.state != "connected", 5, "the lost link")
            await pause(lab, "PJSIP/1002", reason="Outage")
            await asyncio.sleep(3)
            await pause(lab, "PJSIP/1002", on=False)
            await until(lambda: len(table(service, filled, start=start)) == 2, 6, "the follower")
            down = collector.status.state != "connected"
            during = presence(service.store, start, datetime.now(UTC)).loc["Bob"]
            # The collector's retries back off while the relay refuses: allow for it.
            await ready(service, sessions=2, timeout=45)
            await asyncio.sleep(2)  # the reconnect's restatement, and two more polls
            end = datetime.now(UTC)
            after = presence(service.store, start, end).loc["Bob"]
            rows = table(service, filled, start=start)
    assert down, "the pause was filled only after the link came back"
    assert abs(during["pause_s"] - 3.0) <= TOLERANCE_S
    assert set(during["pause_by_reason_s"]) == {"Outage"}
    assert len(rows) == 2 and set(rows["interface"]) == {"PJSIP/1002"}  # PAUSE, UNPAUSE
    assert abs(after["pause_s"] - 3.0) <= TOLERANCE_S
    assert after["logged_in_s"] == pytest.approx((end - start).total_seconds(), abs=TOLERANCE_S)
