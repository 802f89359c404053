"""The KPI queries on real Asterisk 16 calls (../shared/ami-captures), folded from the
queue_log Asterisk wrote, against what the scenario drove (summary.json) and what Asterisk
itself counted (QueueParams and QueueMember in the AMI QueueStatus answer after the calls).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

import queries
from collectors.snapshot import QueueSnapshot
from storage.queue_log import fold_calls
from storage.store import Store

SCENARIOS = ["a_all_answered", "b_mixed"]


def events(path: Path, name: str) -> list[dict[str, str]]:
    """The `Event: <name>` blocks of a raw AMI capture, as field dicts."""
    blocks = re.split(r"\r?\n\r?\n", path.read_text())
    found = []
    for block in blocks:
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line
        )  # fmt: skip
        if fields.get("Event") == name:
            found.append(fields)
    return found


def put_folded(store: Store, folder: Path) -> None:
    """Fold the scenario's queue_log into stays and ring attempts, and write them."""
    parse = fold_calls((folder / "queue_log").read_text().splitlines(), pbx="lab")
    assert not parse.bad_lines and not parse.open_calls
    for call in parse.calls:
        store.put(call)
    for attempt in parse.ring_attempts:
        store.put(attempt)
    store.flush()


@pytest.fixture(params=SCENARIOS)
def scenario(request: pytest.FixtureRequest, captures: Path, store: Store) -> tuple[Path, Store]:
    folder: Path = captures / request.param
    put_folded(store, folder)
    return folder, store


def test_every_query_runs_on_real_calls(scenario: tuple[Path, Store]) -> None:
    _, store = scenario
    for name in queries.names():
        queries.run(name, store.cursor())


def test_queue_summary_counts_what_the_scenario_drove(scenario: tuple[Path, Store]) -> None:
    folder, store = scenario
    driven = json.loads((folder / "summary.json").read_text())["calls"]
    # queue_log's verdict per call: answered/agent_hangup, answered/caller_hangup, abandon,
    # timeout (the driver's own view agrees, summary.json checks that)
    expected: Counter[tuple[str, str]] = Counter()
    for call in driven:
        outcome = call["queue_log"].split("/")[0]
        expected[call["queue"], "offered"] += 1
        expected[call["queue"], {"abandon": "abandoned"}.get(outcome, outcome)] += 1
    frame = queries.run("queue_summary", store.cursor()).set_index("queue")
    for queue in frame.index:
        for column in ("offered", "answered", "abandoned", "timeout"):
            assert frame.loc[queue, column] == expected[queue, column], (queue, column)
    assert frame["offered"].sum() == len(driven)
    totals = queries.run("totals", store.cursor())
    assert totals["offered"][0] == len(driven)  # every driven call is one caller in one queue


def test_asterisk_counters_agree_where_the_definitions_match(scenario: tuple[Path, Store]) -> None:
    folder, store = scenario
    # QueueReset ran before the calls (control.sent): Asterisk counted from zero.
    assert all(
        (q["Completed"], q["Abandoned"]) == ("0", "0")
        for q in events(folder / "initial_actions.ami", "QueueParams")
    )
    assert all(
        m["CallsTaken"] == "0" for m in events(folder / "initial_actions.ami", "QueueMember")
    )
    for params in events(folder / "final_actions.ami", "QueueParams"):
        queue, sl_s = params["Queue"], float(params["ServiceLevel"])
        row = queries.run("queue_summary", store.cursor(), queues=[queue], sl_s=sl_s).iloc[0]
        # Completed: answered calls; Abandoned: record_abandoned() ran, i.e. ABANDON,
        # EXITWITHTIMEOUT and EXITEMPTY.
        assert row["answered"] == int(params["Completed"])
        assert row["abandoned"] + row["timeout"] + row["exitempty"] == int(params["Abandoned"])
        # Asterisk prints both with %2.1f, and 0.0 where we say NULL.
        assert round(row["sl_asterisk_perf_pct"], 1) == float(params["ServicelevelPerf"])
        assert round(row["sl_asterisk_perf2_pct"], 1) == float(params["ServicelevelPerf2"])
    # CallsTaken counts a member's completed calls in every queue it serves (the same number
    # shows under each queue): agent_summary over all queues.
    agents = queries.run("agent_summary", store.cursor()).set_index("agent")
    for member in events(folder / "final_actions.ami", "QueueMember"):
        name = member["Name"]
        answered = agents.loc[name, "answered"] if name in agents.index else 0
        assert answered == int(member["CallsTaken"]), name


def test_each_queue_is_judged_by_its_own_servicelevel(scenario: tuple[Path, Store]) -> None:
    # The collector writes QueueStatus's QueueParams as queue_params rows; without sl_s and
    # without [[queue]] settings, each queue's servicelevel is its threshold, so the Asterisk
    # columns equal what Asterisk printed.
    folder, store = scenario
    answer = QueueSnapshot.of(events(folder / "final_actions.ami", "QueueParams"))
    rows = answer.params_rows("lab", datetime(2026, 11, 2, tzinfo=UTC))
    assert rows and len(rows) == len(answer.params)
    for row in rows:
        store.put(row)
    store.flush()
    targets = queries.run("queue_targets", store.cursor()).set_index("queue")
    summary = queries.run("queue_summary", store.cursor()).set_index("queue")
    for params in answer.params:
        queue = params["Queue"]
        assert targets.loc[queue, "sl_threshold_s"] == float(params["ServiceLevel"])
        assert targets.loc[queue, "sl_threshold_source"] == "asterisk"
        if queue not in summary.index:
            continue
        row = summary.loc[queue]
        assert row["sl_threshold_s"] == float(params["ServiceLevel"])
        assert round(row["sl_asterisk_perf_pct"], 1) == float(params["ServicelevelPerf"])
        assert round(row["sl_asterisk_perf2_pct"], 1) == float(params["ServicelevelPerf2"])


def test_b_mixed_figures(captures: Path, store: Store) -> None:
    # b_mixed's support queue, from its queue_log: waits of the 10 answered calls 1, 3, 11, 2,
    # 1, 21, 26, 2, 1, 32 (7 within 20 s); abandoned after 3 and 10 s; timeouts after 15 and
    # 60 s. ServicelevelPerf 7 / 10 = 70.0; ServicelevelPerf2 (7 + 3) / (10 + 4) = 71.4.
    put_folded(store, captures / "b_mixed")
    row = queries.run("queue_summary", store.cursor(), queues=["support"]).iloc[0]
    assert (row["offered"], row["answered_within_sl"], row["short_abandons"]) == (14, 7, 1)
    assert row["sl_inclusive_pct"] == 50.0  # 7 / 14
    assert row["asa_s"] == 10.0  # 100 / 10
    assert row["abandon_rate_pct"] == pytest.approx(100 * 2 / 14)
    bob = queries.run("agent_summary", store.cursor()).set_index("agent").loc["Bob"]
    assert (bob["answered"], bob["ring_noanswer"]) == (0, 9)  # Bob never answers
