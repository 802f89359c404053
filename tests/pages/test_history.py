"""The history page, run by Streamlit's AppTest against a real DuckDB store holding the
hand-worked day of tests/queries/kpi_fixture.py (Monday 2 November 2026, UTC)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import queries
from settings import QueueSettings
from storage.store import Store
from tests.conftest import REPO
from tests.queries.kpi_fixture import DAY, put_day
from ui import tables

MONDAY = DAY.date()
WINDOW = {"start": DAY, "end": DAY + timedelta(days=1)}


@pytest.fixture
def day(store: Store) -> Store:
    put_day(store)
    return store


def history(days: tuple[date, ...] | None = None) -> AppTest:
    """The app routed to the history page, with `days` chosen if given."""
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=30)
    at.switch_page("pages/history.py").run()
    assert not at.exception, at.exception
    if days is not None:
        at.date_input(key="history_days").set_value(days).run()
        assert not at.exception, at.exception
    return at


def tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def frames(at: AppTest) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe]


def tab(at: AppTest, label: str) -> list[pd.DataFrame]:
    """Open the tab `label` (only the open tab reads its queries) and return its tables."""
    at.session_state["history_tab"] = label
    at.run()
    assert not at.exception, at.exception
    return frames(at)


def test_tiles_and_tables_show_the_query_results(day: Store) -> None:
    at = history((MONDAY, MONDAY))
    totals = queries.read("totals", **WINDOW).iloc[0]
    # The hand-worked day: 11 callers, 4 answered, 3 abandoned; SL 2 / 4; ASA 20 s; AHT 126 s.
    assert tiles(at) == {
        "Offered": "11", "Answered": "4", "Abandoned": "3", "Service level": "50.0 %",
        "ASA": "20.0 s", "Abandon rate": "27.3 %", "AHT": "126 s",
    }  # fmt: skip
    assert tiles(at)["Abandon rate"] == tables.shown(totals["abandon_rate_pct"], " %")
    # The first tab is open: the interval table only.
    (intervals,) = frames(at)
    expected = queries.read("queue_intervals", **WINDOW, bucket="1 hour", tz="UTC")
    pd.testing.assert_frame_equal(intervals, expected, check_dtype=False)
    assert len(at.get("plotly_chart")) == 3 and len(at.get("download_button")) == 3
    (summary,) = tab(at, "Queues")
    pd.testing.assert_frame_equal(summary, queries.read("queue_summary", **WINDOW),
                                  check_dtype=False)  # fmt: skip
    conventions, targets = tab(at, "Service level")
    conventions = conventions.set_index("queue")
    assert conventions.loc["support"].iloc[0] == pytest.approx(100 * 2 / 3)  # S1, S2 of 3
    assert conventions.loc[tables.ALL_QUEUES].iloc[0] == pytest.approx(50.0)
    assert targets["queue"].tolist() == queries.read("queue_targets")["queue"].tolist()
    (waits,) = tab(at, "Waits")
    assert (
        waits["answered"].tolist()
        == queries.read("wait_distribution", **WINDOW)["answered"].tolist()
    )
    (matrix,) = tab(at, "Day × hour")
    assert matrix["offered"].sum() == 12  # stays, by their weekday and hour
    (agents,) = tab(at, "Agents")
    agents = agents.set_index("agent")
    expected = queries.read("agent_summary", **WINDOW).set_index("agent")
    assert agents["answered"].to_dict() == expected["answered"].to_dict()
    assert (
        agents.loc["Bob", "pause Training (s)"]
        == expected.loc["Bob", "pause_by_reason_s"]["Training"]
    )
    (unanswered,) = tab(at, "Unanswered")
    expected = queries.read("unanswered_by_reason", **WINDOW)
    assert unanswered["calls"].tolist() == expected["calls"].tolist()
    # Every table has its CSV, Parquet and Excel download.
    assert len(at.get("download_button")) == 3


def test_queue_interval_and_agent_filters(day: Store) -> None:
    at = history((MONDAY, MONDAY))
    at.multiselect(key="history_queues").set_value(["sales"]).run()
    at.selectbox(key="history_interval").set_value("15 min").run()
    assert not at.exception
    sales = queries.read("totals", **WINDOW, queues=["sales"]).iloc[0]
    assert tiles(at)["Offered"] == tables.shown(sales["offered"]) == "4"
    intervals = frames(at)[0]
    expected = queries.read(
        "queue_intervals", **WINDOW, queues=["sales"], bucket="15 minutes", tz="UTC"
    )
    assert intervals["bucket_start"].tolist() == expected["bucket_start"].tolist()
    assert set(intervals["queue"]) == {"sales"}
    tab(at, "Agents")
    at.multiselect(key="history_agents").set_value(["Carol"]).run()
    assert frames(at)[0]["agent"].tolist() == ["Carol"]


def test_each_queue_is_drawn_against_its_own_target(tmp_path: Path) -> None:
    # support has its own threshold (10 s) and target (90 %); sales keeps 20 s and 80 %.
    with Store(tmp_path / "cb.duckdb", 0.05, queues=[QueueSettings("support", None, 10, 90)]) as s:
        put_day(s)
        at = history((MONDAY, MONDAY))
        sl_chart = json.loads(at.get("plotly_chart")[0].proto.spec)
        notes = sorted(a["text"] for a in sl_chart["layout"]["annotations"])
        assert notes == ["target 80 % (sales)", "target 90 % (support)"]
        # The tiles and tables judge support at 10 s, as the queries do.
        summary = queries.read("queue_summary", **WINDOW).set_index("queue")
        assert summary.loc["support", "sl_answered_pct"] == pytest.approx(100 / 3)  # S1 only
        shown = tab(at, "Queues")[0].set_index("queue")
        assert shown.loc["support", "sl_answered_pct"] == pytest.approx(100 / 3)
        totals = queries.read("totals", **WINDOW).iloc[0]
        assert tiles(at)["Service level"] == tables.shown(totals["sl_answered_pct"], " %")


def test_a_range_without_calls_says_so(day: Store) -> None:
    at = history((MONDAY + timedelta(days=7), MONDAY + timedelta(days=8)))
    assert [i.value for i in at.info if "No calls" in i.value] == [
        "No calls entered the queues on 2026-11-09 to 2026-11-10 (UTC). Pick other days or queues."
    ]
    assert not at.metric and not at.dataframe


@pytest.mark.parametrize(
    ("days", "interval", "message"),
    [
        ((MONDAY, MONDAY - timedelta(days=1)), "60 min", "is before the start date"),
        ((MONDAY - timedelta(days=400), MONDAY), "Day", "401 days is more than the 366"),
        ((MONDAY - timedelta(days=40), MONDAY), "15 min", "pick 60 min or longer"),
    ],
)
def test_bad_filters_give_a_clear_message(
    day: Store, days: tuple[date, date], interval: str, message: str
) -> None:
    at = history()
    at.selectbox(key="history_interval").set_value(interval)
    at.date_input(key="history_days").set_value(days).run()
    assert not at.exception
    assert [e.value for e in at.error if message in e.value], [e.value for e in at.error]
    assert not at.metric


def test_history_without_a_store_says_so() -> None:
    at = history()
    assert any("store is not open" in e.value for e in at.error)
