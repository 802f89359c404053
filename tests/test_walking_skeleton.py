"""Done-when of the walking skeleton: three real SIP calls into `support` on a real Asterisk 16
are collected over AMI into DuckDB, shown on the realtime page (AppTest), and agree call for
call with the queue_log Asterisk wrote in the same run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import queries
from service import Service
from storage.queue_log import fold_calls
from tests.collectors.lab_helpers import lab_settings, until
from tests.conftest import REPO
from tests.lab.asterisk import AsteriskLab
from tests.pages.board_html import column, tiles

pytestmark = pytest.mark.asterisk


async def test_three_calls_reach_store_page_and_match_queue_log(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    lab = asterisk_lab
    async with Service(lab_settings(lab, tmp_path / "cb.duckdb")) as service:
        collector = service.collectors[0]
        await until(lambda: collector.status.state == "connected", 15, "the AMI login")
        await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=1.0, talk_s=3.0)
        await asyncio.to_thread(lab.start_agent, "1002", answer_after_s=1.0, talk_s=3.0)
        # Two callers take both agents; the third waits, then hangs up after 3 s: an abandon.
        callers = [lab.call("600", "71001"), lab.call("600", "71002")]
        await asyncio.to_thread(lab.wait_busy, "Alice", "Bob")
        callers.append(lab.call("600", "71003", hangup_after_s=3.0))
        for caller in callers:
            await asyncio.to_thread(caller.wait, 30)
        service.store.flush()
        await until(lambda: len(queries.read("calls")) == 3, 15, "three calls in the store")

        calls = queries.read("calls").set_index("call_id")
        qlog = {c.call_id: c for c in fold_calls(lab.queue_log_lines(), pbx="lab").calls}
        assert sorted(calls.index) == sorted(qlog)
        for call_id, q in qlog.items():
            a = calls.loc[call_id]
            agent = None if pd.isna(a["agent"]) else a["agent"]
            assert (a["queue"], a["outcome"], agent) == (q.queue, q.outcome, q.agent), call_id
            assert abs(a["wait_s"] - (q.wait_s or 0)) <= 1.0, call_id
        assert sorted(calls["outcome"]) == ["abandoned", "answered", "answered"]
        assert sorted(calls["caller_num"]) == ["71001", "71002", "71003"]

        # The realtime page, run in this process, shows the agents and today's three outcomes
        # (the live board is rebuilt once a second, so wait for the one with the calls in it).
        def page_board() -> str:
            page = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=30).run()
            assert not page.exception
            bodies = [str(getattr(e, "value", "")) for e in page.get("html")]
            return next(b for b in bodies if "cb-board" in b and "<style>" not in b)

        html = ""
        for _ in range(10):
            html = await asyncio.to_thread(page_board)
            if tiles(html).get("support", {}).get("offered") == "3":
                break
            await asyncio.sleep(1)
        support = tiles(html)["support"]
        assert (support["offered"], support["answered"], support["abandoned"]) == ("3", "2", "1")
        assert {"Alice", "Bob", "Carol"} <= set(column(html, "agent"))
