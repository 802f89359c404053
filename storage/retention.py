"""Retention: raw AMI events are kept for `raw_retention_days`, facts forever.

Raw events serve audits and replays of recent trouble; the derived facts (calls, ring
attempts, member states) are the history managers report on, so they are never pruned here.
The delete runs on the store's writer thread, like every write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from storage.store import Store


def prune_raw_events(store: Store, keep_days: float, now: datetime | None = None) -> int:
    """Delete raw events received before `now - keep_days`; return how many went."""
    if keep_days <= 0:
        return 0  # 0 means keep forever
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)

    def delete(con: duckdb.DuckDBPyConnection) -> int:
        row = con.execute("DELETE FROM raw_events WHERE received_at < ?", [cutoff]).fetchone()
        return int(row[0]) if row else 0

    return store.in_writer(delete) or 0
