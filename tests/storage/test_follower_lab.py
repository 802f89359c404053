"""The queue_log follower on a real Asterisk 16 whose AMI socket is cut during calls: the calls
the collector missed come from the queue_log Asterisk writes meanwhile, and the stored calls
then equal queue_log's, call for call."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import queries
from service import Service
from storage.queue_log import fold_calls
from tests.collectors.resilience_helpers import (
    by_caller,
    finish,
    following_settings,
    joined,
    pause,
    ready,
    table,
    until,
)
from tests.lab.asterisk import AsteriskLab
from tests.lab.control import lab_ports_released  # noqa: F401 (a fixture)
from tests.lab.relay import AmiRelay

pytestmark = [pytest.mark.asterisk, pytest.mark.usefixtures("lab_ports_released")]


def stays(service: Service) -> int:
    return len(table(service, "SELECT call_id FROM queue_calls WHERE outcome <> 'unknown'"))


def noted(service: Service) -> int:
    return len(table(service, "SELECT call_id FROM queue_log_stays"))


async def test_the_follower_fills_what_an_ami_cut_missed(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    lab = asterisk_lab
    with AmiRelay(lab.ami_port) as relay:
        settings = following_settings(lab, relay.port, tmp_path / "cb.duckdb")
        async with Service(settings) as service:
            await ready(service)
            await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=0.5, talk_s=30)
            seen = lab.call("600", "81201", talk_s=1.0)  # before the cut: the collector's
            await finish(seen)
            await pause(lab, "PJSIP/1001", reason="cut")  # callers now wait
            across = lab.call("600", "81204", hangup_after_s=3.0)  # joins, abandons in the cut
            await until(lambda: "81204" in joined(service), 5, "81204 joins")
            relay.cut(down_for=8.0)
            cut_at = time.monotonic()
            unseen = lab.call("600", "81202", hangup_after_s=1.5)  # all of it in the cut
            await finish(across, unseen)
            await pause(lab, "PJSIP/1001", on=False)
            answered_in_cut = lab.call("600", "81203", talk_s=1.0)
            await finish(answered_in_cut)
            assert time.monotonic() - cut_at < 8.0, "the calls meant for the cut outlasted it"
            await ready(service, sessions=2)
            after = lab.call("600", "81205", talk_s=1.0)
            await finish(after)
            # The follower holds a stay 10 s after its end, so that AMI's row comes first.
            await until(lambda: stays(service) >= 5 and noted(service) >= 5, 30, "every call")
            await asyncio.sleep(1.0)
            rows = by_caller(service)  # asserts that no stay is written twice
            service.store.flush()
            cursor = service.store.cursor()
            calls = queries.run("calls", cursor).set_index("call_id")
            completeness = queries.run("completeness", cursor, bucket="1 day")
            cursor.close()

    truth = {c.call_id: c for c in fold_calls(lab.queue_log_lines(), pbx="lab").calls}
    assert set(calls.index) == set(truth), "the stored calls are queue_log's calls"
    for call_id, call in truth.items():
        row = calls.loc[call_id]
        agent = row["agent"] if isinstance(row["agent"], str) else None
        assert (row["queue"], row["outcome"], agent) == (call.queue, call.outcome, call.agent)
        assert row["wait_s"] == pytest.approx(call.wait_s, abs=1.0), call_id
    source = {caller: row["source"] for caller, row in rows.items()}
    print(f"follower after an AMI cut: {source}")
    assert source["81201"] == source["81205"] == "ami"
    assert source["81202"] == "queue_log"  # never seen by the collector
    assert source["81204"] == "queue_log"  # seen waiting, closed unknown, replaced
    assert rows["81204"]["outcome"] == "abandoned"
    (day,) = completeness.to_dict("records")
    assert (day["stays"], day["unknown"], day["queue_log"]) == (5, 0, 5)
    assert day["filled"] >= 2 and day["completeness_pct"] == 100.0
