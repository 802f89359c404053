"""Query frames reshaped for reading and downloading: columns renamed, maps spread into
columns, frames put side by side. Never a new number: every value is one a query returned."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

# The service-level conventions, as queue_summary (and totals, for all queues) names them.
CONVENTIONS: dict[str, str] = {
    "sl_answered_pct": "answered within SL / answered (QueueMetrics SLA)",
    "sl_inclusive_pct": "answered within SL / offered (inclusive)",
    "sl_asterisk_perf_pct": "Asterisk ServicelevelPerf",
    "sl_asterisk_perf2_pct": "Asterisk ServicelevelPerf2",
}
ALL_QUEUES = "All chosen queues (callers once)"
NO_REASON = "(no reason)"


def conventions(summary: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    """One row per queue and one for all chosen queues, a column per SL convention. Asterisk
    keeps its figures per queue only, so the all-queues row has none."""
    rows = summary[["queue", *CONVENTIONS]].copy()
    every = totals[[c for c in CONVENTIONS if c in totals.columns]].copy()
    every.insert(0, "queue", ALL_QUEUES)
    both = pd.concat([rows, every], ignore_index=True)
    return both.rename(columns=CONVENTIONS)


def agents(frame: pd.DataFrame) -> pd.DataFrame:
    """agent_summary with pause_by_reason_s spread into one `pause <reason> (s)` column per
    reason (a map does not go into CSV or Excel); NULL where the agent's state is unknown."""
    maps: list[Any] = list(frame["pause_by_reason_s"])
    reasons = sorted({r for m in maps if isinstance(m, dict) for r in m})
    flat = frame.drop(columns="pause_by_reason_s")
    for reason in reasons:
        label = f"pause {reason or NO_REASON} (s)"
        flat[label] = [m.get(reason, 0.0) if isinstance(m, dict) else math.nan for m in maps]
    return flat


def shown(value: Any, unit: str = "", digits: int = 1) -> str:
    """A tile's text: a count as is, a rate or time rounded, a missing rate as '—'."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    if unit == "":
        return f"{int(value):,}"
    return f"{float(value):,.{digits}f}{unit}"


# queue_targets' rule for a queue it has no row for (no [[queue]], no QueueParams yet).
DEFAULT_SL_TARGET_PCT = 80.0


def sl_targets(targets: pd.DataFrame, queues: list[str]) -> dict[str, float]:
    """Each queue's service-level target (%) from queue_targets' rows; a queue name kept on
    several PBXs takes its all-PBX row (pbx NULL, listed first) or else its first PBX's."""
    found = targets.drop_duplicates("queue").set_index("queue")["sl_target_pct"]
    return {q: float(found.get(q, DEFAULT_SL_TARGET_PCT)) for q in queues}
