"""History: how did the queues and agents do over a period? For managers.

Filters in the sidebar; every number below comes from a named query (through `ui.data.read`,
cached for a minute); `ui.tables` only renames and reshapes, `ui.charts` only draws.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

import auth
import service
from errors import CallboardError
from settings import Settings
from ui import charts, downloads, tables
from ui.data import read
from ui.filters import INTERVALS, HistoryFilter

user = auth.require("history")
running = service.current()
settings = running.settings if running is not None else Settings()
st.title("History")
if running is not None and running.demo:
    st.info(service.DEMO_NOTE)


def choose() -> HistoryFilter | None:
    """The sidebar's filters; None (with the reason shown) until they make a valid range."""
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    sidebar = st.sidebar
    days = sidebar.date_input("Days", (today - timedelta(days=6), today), key="history_days")
    interval = sidebar.selectbox("Interval", list(INTERVALS), index=2, key="history_interval")
    sidebar.caption(f"Days and intervals in {settings.timezone} (setting `timezone`).")
    if not isinstance(days, tuple) or len(days) != 2:
        st.info("Pick the last day of the range too.")
        return None
    chosen = HistoryFilter(days[0], days[1], settings.timezone, interval)
    # Only the person's queues are offered, and only they are queried (auth/roles.py).
    queues = [q for q in _options("queue_summary", "queue", "history_queues", chosen.params())
              if user.may_see_queue(q)]  # fmt: skip
    picked = sidebar.multiselect("Queues", queues, key="history_queues",
                                 placeholder="All your queues")  # fmt: skip
    allowed = auth.allowed_queues(picked)
    if allowed == []:
        st.info("None of the chosen queues is one of yours.")
        return None
    return replace(chosen, queues=tuple(allowed or ()))


def _options(query: str, column: str, key: str, params: dict[str, Any]) -> list[str]:
    """Names with data in the range, plus those already chosen (a choice never vanishes)."""
    found = read(query, **params)[column].dropna().astype(str)
    return sorted(set(found) | set(st.session_state.get(key, [])))


def tiles(totals: pd.DataFrame) -> None:
    row = totals.iloc[0]
    for column, (label, value, help_text) in zip(st.columns(7), [
        ("Offered", tables.shown(row["offered"]), "Callers (a transferred caller once)."),
        ("Answered", tables.shown(row["answered"]), "Callers answered in any queue."),
        ("Abandoned", tables.shown(row["abandoned"]), "Callers who hung up waiting."),
        ("Service level", tables.shown(row["sl_answered_pct"], " %"),
         "Answered within the threshold of the queue entered first / answered "
         "(QueueMetrics); thresholds and the other conventions: Service level tab."),
        ("ASA", tables.shown(row["asa_s"], " s"), "Mean wait of answered callers."),
        ("Abandon rate", tables.shown(row["abandon_rate_pct"], " %"), "Abandoned / offered."),
        ("AHT", tables.shown(row["aht_s"], " s", 0), "Mean talk time of answered calls."),
    ], strict=True):  # fmt: skip
        column.metric(label, value, help=help_text)


def trends(chosen: HistoryFilter, intervals: pd.DataFrame, sl_pct: dict[str, float]) -> None:
    span = chosen.span()
    figures = {
        "sl": charts.trend(intervals, "sl_answered_pct", "Service level", "%", sl_pct, span),
        "asa": charts.trend(intervals, "asa_s", "Average speed of answer", "s",
                            settings.asa_target_s, span),
        "abandon": charts.trend(intervals, "abandon_rate_pct", "Abandon rate", "%",
                                settings.abandon_target_pct, span),
    }  # fmt: skip
    for column, (key, fig) in zip(st.columns(3), figures.items(), strict=True):
        column.plotly_chart(fig, key=f"trend-{key}", config={"displaylogo": False})


def table(frame: pd.DataFrame, name: str) -> None:
    st.dataframe(frame, hide_index=True, width="stretch")
    downloads.buttons(frame, name)


def show(chosen: HistoryFilter) -> None:
    params = chosen.params()
    totals = read("totals", **params)
    if totals["offered"].iloc[0] == 0:
        st.info(f"No calls entered the queues on {chosen.describe()}. Pick other days or queues.")
        return
    tiles(totals)
    intervals = read("queue_intervals", **params, bucket=INTERVALS[chosen.interval],
                     tz=chosen.tz)  # fmt: skip
    targets = read("queue_targets", queues=params["queues"])
    queues = sorted(set(intervals["queue"]))
    trends(chosen, intervals, tables.sl_targets(targets, queues))
    # Only the open tab reads its queries (the agent table costs more than all the rest).
    tabs = st.tabs(list(TABS), key="history_tab", on_change="rerun")
    for tab, draw in zip(tabs, TABS.values(), strict=True):
        if tab.open:
            with tab:
                draw(chosen, {"totals": totals, "intervals": intervals, "targets": targets})


Shown = dict[str, pd.DataFrame]


def intervals_tab(chosen: HistoryFilter, shown: Shown) -> None:
    table(shown["intervals"], "intervals")


def queues_tab(chosen: HistoryFilter, shown: Shown) -> None:
    table(read("queue_summary", **chosen.params()), "queues")


def service_level_tab(chosen: HistoryFilter, shown: Shown) -> None:
    summary = read("queue_summary", **chosen.params())
    st.caption("The same calls under each convention, each queue judged by its threshold.")
    table(tables.conventions(summary, shown["totals"]), "service_level")
    st.caption("Thresholds and targets: [[queue]] settings, else the queue's servicelevel.")
    table(shown["targets"], "queue_targets")


def waits_tab(chosen: HistoryFilter, shown: Shown) -> None:
    waits = read("wait_distribution", **chosen.params())
    left, right = st.columns(2)
    left.plotly_chart(charts.wait_bars(waits, "answered", "Answered, by wait"), key="w-a")
    right.plotly_chart(charts.wait_bars(waits, "lost", "Lost, by wait"), key="w-l")
    table(waits, "wait_distribution")


def day_hour_tab(chosen: HistoryFilter, shown: Shown) -> None:
    matrix = read("day_hour_matrix", **chosen.params(), tz=chosen.tz)
    st.plotly_chart(charts.heatmap(matrix, "offered", "Calls offered"), key="heat")
    table(matrix, "day_hour")


def agents_tab(chosen: HistoryFilter, shown: Shown) -> None:
    params = chosen.params()
    names = _options("agent_summary", "agent", "history_agents", params)
    agents = st.multiselect("Agents", names, key="history_agents", placeholder="All agents")
    frame = read("agent_summary", **params, agents=agents or None)
    table(tables.agents(frame), "agents")


def unanswered_tab(chosen: HistoryFilter, shown: Shown) -> None:
    unanswered = read("unanswered_by_reason", **chosen.params())
    st.plotly_chart(charts.reasons(unanswered), key="reasons")
    table(unanswered, "unanswered")


TABS = {
    "Intervals": intervals_tab,
    "Queues": queues_tab,
    "Service level": service_level_tab,
    "Waits": waits_tab,
    "Day × hour": day_hour_tab,
    "Agents": agents_tab,
    "Unanswered": unanswered_tab,
}


try:
    chosen = choose()
    if chosen is not None:
        show(chosen)
except CallboardError as e:
    st.error(f"{e.title}: {e}")
