"""Proof on a real Asterisk run: every KPI computed from the collector's rows equals the same
KPI computed from the queue_log Asterisk wrote in the same run (loaded into a second store)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

import queries
from storage.backfill import backfill_file
from storage.store import Store
from tests.collectors.lab_helpers import collecting, finish, stored_calls
from tests.lab.asterisk import AsteriskLab

pytestmark = pytest.mark.asterisk

# Counts must be equal. Durations may differ by queue_log's whole-second rounding; a service
# level may differ only for a wait within that second of the threshold (none here: waits are
# ~1 s or > 5 s against 20 s).
COUNTS = ["offered", "answered", "abandoned", "timeout", "exitempty", "exitwithkey", "unknown",
          "short_abandons", "transferred", "answered_within_sl", "sl_answered_pct",
          "sl_inclusive_pct", "abandon_rate_pct"]  # fmt: skip
DURATIONS = ["asa_s", "talk_avg_s", "wait_lost_avg_s", "wait_answered_max_s"]


def kpis(store: Store, name: str) -> pd.DataFrame:
    cursor = store.cursor()
    try:
        return queries.run(name, cursor).set_index("queue").sort_index()
    finally:
        cursor.close()


async def test_kpis_from_ami_equal_kpis_from_queue_log(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    lab = asterisk_lab
    async with collecting(lab, tmp_path / "ami") as service:
        await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=1.0, talk_s=2.0)
        # answered, answered (caller hangs up), abandoned while Alice talks, a timeout
        first = lab.call("600", "76001")
        await asyncio.to_thread(lab.wait_busy, "Alice")
        others = [lab.call("600", "76002", hangup_after_s=2.0), lab.call("610", "76003")]
        await finish(first, *others)
        await finish(lab.call("600", "76004", talk_s=1.0))
        await stored_calls(service, 4)
        from_ami = {
            name: kpis(service.store, name) for name in ("queue_summary", "unanswered_by_reason")
        }
    with Store(tmp_path / "qlog.duckdb") as qstore:
        log = tmp_path / "queue_log"
        log.write_text("\n".join(lab.queue_log_lines()) + "\n")
        assert backfill_file(qstore, log, "lab").calls_added == 4
        from_qlog = {name: kpis(qstore, name) for name in from_ami}

    ami, qlog = from_ami["queue_summary"], from_qlog["queue_summary"]
    assert ami.loc["support", "offered"] == 4  # the timeout (610) is a support stay too
    pd.testing.assert_frame_equal(ami[COUNTS], qlog[COUNTS], check_dtype=False)
    assert ((ami[DURATIONS] - qlog[DURATIONS]).abs().fillna(0) <= 1.0).all().all()
    by_reason = ["reason", "calls"]
    pd.testing.assert_frame_equal(
        from_ami["unanswered_by_reason"][by_reason],
        from_qlog["unanswered_by_reason"][by_reason],
        check_dtype=False,
    )
