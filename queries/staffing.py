"""Staffing per interval: agents Erlang C asks for, from measured history, against agents there.

Per queue and interval (UTC): the arrival rate and AHT measured from history
(`queue_intervals`), the traffic they make (Erlangs), the fewest agents whose Erlang C service
level reaches the queue's target (`queue_targets`, `queries/erlang.py`), and the agents that
were logged in and staffed (`queue_staffing`). An interval without answered calls takes the
queue's AHT over the whole range; an interval without calls needs no agent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from errors import QueryError
from queries import erlang
from queries import run as run_query

DEFAULT_THRESHOLD_S = 20.0  # as the queue_thresholds rule (storage/schema.sql)
DEFAULT_TARGET_PCT = 80.0
BUCKET_S = {"15 minutes": 900, "30 minutes": 1800, "1 hour": 3600}


def staffing(
    con: duckdb.DuckDBPyConnection,
    start: datetime,
    end: datetime,
    queues: list[str] | None = None,
    bucket: str = "30 minutes",
) -> pd.DataFrame:
    """One row per queue and interval: measured load, agents needed, agents there."""
    if bucket not in BUCKET_S:
        raise QueryError(f"staffing: bucket must be one of {', '.join(BUCKET_S)}")
    span: dict[str, Any] = {"start": start, "end": end, "queues": queues}
    calls = run_query("queue_intervals", con, **span, bucket=bucket, tz="UTC")
    there = run_query("queue_staffing", con, **span, bucket=bucket)
    frame = there.merge(calls, on=["queue", "bucket_start"], how="outer")
    frame["offered"] = frame["offered"].fillna(0).astype("int64")
    totals = run_query("queue_summary", con, **span).set_index("queue")["aht_s"]
    targets = _targets(con, queues)
    rows = [_row(r, BUCKET_S[bucket], totals, targets) for r in frame.to_dict("records")]
    columns = ["queue", "bucket_start", "offered", "arrivals_per_h", "aht_s", "aht_from",
               "traffic_erlang", "sl_threshold_s", "sl_target_pct", "agents_needed",
               "agents_logged_in", "agents_staffed", "shortfall"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).sort_values(["queue", "bucket_start"],
                                                          ignore_index=True)  # fmt: skip


def _row(
    r: dict[str, Any], width_s: int, totals: pd.Series, targets: dict[str, tuple[float, float]]
) -> dict[str, Any]:
    queue = r["queue"]
    offered = int(r["offered"])
    aht: Any = r.get("talk_avg_s")
    aht_from: str | None = "interval"
    if aht is None or pd.isna(aht):
        aht, aht_from = totals.get(queue), "range"
    if aht is None or pd.isna(aht):
        aht, aht_from = None, None  # never answered in the range: no AHT to measure
    threshold, target = targets.get(queue, (DEFAULT_THRESHOLD_S, DEFAULT_TARGET_PCT))
    needed: int | None = 0
    traffic = 0.0
    if offered and aht:
        traffic = erlang.traffic(offered / width_s, float(aht))
        needed = erlang.agents_for_target(traffic, float(aht), threshold, target / 100)
    elif offered:
        needed = None
    staffed = _number(r.get("agents_staffed"))
    return {
        "queue": queue, "bucket_start": r["bucket_start"], "offered": offered,
        "arrivals_per_h": offered * 3600 / width_s, "aht_s": aht, "aht_from": aht_from,
        "traffic_erlang": traffic, "sl_threshold_s": threshold, "sl_target_pct": target,
        "agents_needed": needed, "agents_logged_in": _number(r.get("agents_logged_in")),
        "agents_staffed": staffed,
        "shortfall": None if needed is None else needed - staffed,
    }  # fmt: skip


def _targets(
    con: duckdb.DuckDBPyConnection, queues: list[str] | None
) -> dict[str, tuple[float, float]]:
    """Per queue name: the strictest threshold and target among its PBXs' rows."""
    frame = run_query("queue_targets", con, queues=queues)
    grouped = frame.groupby("queue").agg({"sl_threshold_s": "min", "sl_target_pct": "max"})
    return {str(q): (float(t), float(p)) for q, (t, p) in grouped.iterrows()}


def _number(value: Any) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)
