"""Raw events older than the retention are deleted; facts are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collectors.rows import RawEvent
from storage.retention import prune_raw_events
from storage.store import Store

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_raw_events_older_than_retention_go(store: Store) -> None:
    for age_days in (0, 10, 29, 31, 400):
        store.put(RawEvent("p", 1, NOW - timedelta(days=age_days), "X", None, "{}"))
    assert prune_raw_events(store, keep_days=30, now=NOW) == 2
    ages = store.cursor().execute("SELECT count(*) FROM raw_events").fetchone()
    assert ages == (3,)
    assert prune_raw_events(store, keep_days=0, now=NOW) == 0  # 0 keeps everything
