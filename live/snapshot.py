"""The live picture, built once per tick for every open realtime page.

A realtime page refreshes every 2 s in each browser tab. Were each tab to run the live queries,
thirty tabs would run them fifteen times a second; instead `build()` runs them once per tick
(`LiveBoard`, owned by the service) and every tab renders the same frozen `Snapshot`
(bench/README.md, "Pages"). Every number comes from a named query in `queries/`; this module
only adds Erlang C to them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

import queries
from queries import erlang
from settings import Settings


@dataclass(frozen=True)
class Link:
    """One PBX link as the page needs it: is what we show live?"""

    name: str
    state: str
    since: float  # epoch seconds the state began
    last_error: str | None
    last_event_age_s: float | None


@dataclass(frozen=True)
class Snapshot:
    """What every realtime page shows until the next tick. Frames are never mutated."""

    seq: int
    taken_at: datetime  # UTC
    queues: pd.DataFrame  # live_queues + sl_s, sl_target_pct + Erlang C columns
    waiting: pd.DataFrame  # live_waiting
    agents: pd.DataFrame  # live_agents
    callbacks: pd.DataFrame  # callbacks_due
    links: tuple[Link, ...] = ()
    demo: bool = False
    error: str | None = None  # a CallboardError's text when a query failed
    settings: Settings = field(default_factory=Settings)

    def stale_reason(self, now: float | None = None) -> str | None:
        """Why the figures are not live, in words, or None when they are."""
        now = time.time() if now is None else now
        down = [link for link in self.links if link.state != "connected"]
        if down:
            return "; ".join(_down_text(link, now) for link in down)
        age = now - self.taken_at.timestamp()
        if age > max(3 * self.settings.live_refresh_s, 5.0):
            return f"the live snapshot is {age:.0f} s old: the service stopped refreshing it"
        return None


def _down_text(link: Link, now: float) -> str:
    since = datetime.fromtimestamp(link.since, UTC)
    text = f"PBX {link.name} is {link.state} since {since:%H:%M:%S} UTC"
    if link.last_event_age_s is not None:
        text += f", last event {link.last_event_age_s:.0f} s ago"
    return text + (f" ({link.last_error})" if link.last_error else "")


def start_of_day(now: datetime, tz: str = "UTC") -> datetime:
    """Today's start: midnight in the `timezone` setting (as the history page cuts days), UTC."""
    local = now.astimezone(ZoneInfo(tz))
    midnight = datetime.combine(local.date(), time_of_day(0), tzinfo=ZoneInfo(tz))
    return midnight.astimezone(UTC)


def interval_bounds(now: datetime, minutes: int) -> tuple[datetime, datetime]:
    """The current interval of `minutes` (15, 30, 60) that `now` falls in, on the clock."""
    start = now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)
    return start, start + timedelta(minutes=minutes)


def build(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    seq: int = 0,
    links: tuple[Link, ...] = (),
    demo: bool = False,
) -> Snapshot:
    """Run the live queries once through `con` and join targets and Erlang C to them."""
    now = datetime.now(UTC)
    today = start_of_day(now, settings.timezone)
    interval_start, interval_end = interval_bounds(now, settings.interval_min)
    frames = {
        "queues": queries.run(
            "live_queues", con, start=today, interval_start=interval_start,
            window_s=settings.erlang_window_s,
        ),
        "waiting": queries.run("live_waiting", con),
        "agents": queries.run("live_agents", con, start=today),
        "callbacks": queries.run("callbacks_due", con, start=today),
    }  # fmt: skip
    left_s = (interval_end - now).total_seconds()
    queues = with_erlang(frames["queues"], settings.erlang_window_s, left_s)
    return Snapshot(
        seq, now, queues, frames["waiting"], frames["agents"], frames["callbacks"],
        links, demo, None, settings,
    )  # fmt: skip


def failed(
    settings: Settings, seq: int, error: str, links: tuple[Link, ...] = (), demo: bool = False
) -> Snapshot:
    """A snapshot that carries only an error: the page shows it instead of numbers."""
    empty = pd.DataFrame()
    return Snapshot(seq, datetime.now(UTC), empty, empty, empty, empty, links, demo, error,
                    settings)  # fmt: skip


def with_erlang(queues: pd.DataFrame, window_s: float, left_s: float) -> pd.DataFrame:
    """live_queues plus each queue's Erlang C figures now, against its own threshold and target.

    Inputs (docs/kpis.md, "Erlang C now"): arrival rate = stays that entered in the last
    `window_s` / `window_s`; AHT = their mean talk; agents = agents_staffed. Columns added:
    traffic_erl, agents_needed, sl_model_pct, sl_projected_pct (NULL
    when no call was answered in the window: no AHT).
    """
    out = queues.copy()
    rows = [_erlang_row(row, window_s, left_s) for row in out.to_dict("records")]
    extra = pd.DataFrame(
        rows,
        columns=["traffic_erl", "agents_needed", "sl_model_pct", "sl_projected_pct"],
        index=out.index,
        dtype="Float64",
    )
    return pd.concat([out, extra], axis=1)


def _erlang_row(row: dict[str, Any], window_s: float, left_s: float) -> tuple[float | None, ...]:
    aht = row["aht_window_s"]
    if aht is None or pd.isna(aht) or aht <= 0:
        return (None, None, None, None)
    rate = row["offered_window"] / window_s
    target = float(row["sl_target_pct"]) / 100
    interval = (int(row["answered_interval"]), int(row["answered_within_sl_interval"]), left_s)
    s = erlang.staffing(rate, aht, int(row["agents_staffed"]), float(row["sl_s"]), target,
                        interval)  # fmt: skip
    # No arrivals in the window: no agent is needed (Erlang C would still say one).
    needed = None if s.agents_needed is None else float(s.agents_needed if rate > 0 else 0)
    projected = None if s.projected_sl is None else 100 * s.projected_sl
    return (s.traffic, needed, 100 * s.service_level, projected)


def is_finite(value: object) -> bool:
    """A number the page can print (not None, NaN, NA or infinite)."""
    return isinstance(value, int | float) and not pd.isna(value) and math.isfinite(value)
