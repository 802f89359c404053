"""What the store drops when it cannot keep up: counted per table and written as a gap.

The writer keeps every row it could not write yet (a full disk, a file it may not write) and
retries; the rows waiting are bounded by `store_buffer_rows`. Past that bound a new row is
dropped, never memory grown without end. Every dropped row is counted here, and once the
store writes again one `store_gaps` row records the window (first to last drop) and what it
lost, so reports know that period is incomplete; `python -m storage import-queue-log` brings
the lost calls back from Asterisk's queue_log.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from collectors.rows import Row


@dataclass(frozen=True)
class StoreGap:
    """Rows dropped between `started_at` and `ended_at` while the store could not write."""

    started_at: datetime
    ended_at: datetime
    counts: dict[str, int]  # rows dropped per table
    error: str | None  # why the store could not write meanwhile

    INSERT = "INSERT INTO store_gaps VALUES (?, ?, ?, ?)"

    @property
    def rows_dropped(self) -> int:
        return sum(self.counts.values())

    def params(self) -> list[object]:
        """The `store_gaps` row: detail says per table, e.g. "raw_events 1200, queue_calls 3"."""
        detail = ", ".join(f"{t} {n}" for t, n in sorted(self.counts.items(), key=_most))
        if self.error:
            detail += f"; {self.error}"
        return [self.started_at, self.ended_at, self.rows_dropped, detail]


class Overflow:
    """Counts rows dropped at the buffer bound; thread-safe (put() runs on any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_table: Counter[str] = Counter()
        self._since: datetime | None = None
        self._last: datetime | None = None
        self.total = 0  # every row ever dropped, for /healthz and /metrics

    def drop(self, row: Row) -> None:
        now = datetime.now(UTC)
        with self._lock:
            self._by_table[row.TABLE] += 1
            self.total += 1
            self._since = self._since or now
            self._last = now

    def gap(self, error: str | None) -> StoreGap | None:
        """The drops not yet recorded, as one gap; None when there are none."""
        with self._lock:
            if self._since is None or self._last is None:
                return None
            return StoreGap(self._since, self._last, dict(self._by_table), error)

    def recorded(self, gap: StoreGap) -> None:
        """`gap` is in the store: forget its rows (drops since then start the next gap)."""
        with self._lock:
            self._by_table.subtract(gap.counts)
            self._by_table = +self._by_table  # drop the zeros
            if not self._by_table:
                self._since = self._last = None
            else:  # dropped after the gap was taken: the next gap starts about then
                self._since = gap.ended_at


def _most(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])
