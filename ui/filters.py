"""The history page's filters as one typed value, and the query parameters they stand for.

Days are the manager's days: a date range in the configured time zone runs from the first
day's local midnight to the local midnight after the last day, given to the queries as UTC
instants (`[start, end)`, their convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from errors import FilterError

# Label shown -> the `bucket` value queue_intervals takes (queries.CHOICES["bucket"]).
INTERVALS: dict[str, str] = {
    "15 min": "15 minutes",
    "30 min": "30 minutes",
    "60 min": "1 hour",
    "Day": "1 day",
    "Week": "1 week",
    "Month": "1 month",
}
# A year and a day: a full year whatever the leap days; longer ranges are refused rather than
# left to scan for minutes.
MAX_DAYS = 366
# Sub-hour intervals over more than a month give more rows than anyone reads.
MAX_DAYS_SUB_HOUR = 31


@dataclass(frozen=True)
class HistoryFilter:
    """What the manager chose: days (inclusive), queues (empty: all), interval."""

    first_day: date
    last_day: date
    tz: str
    interval: str = "60 min"
    queues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise FilterError(
                f"The end date {self.last_day:%Y-%m-%d} is before the start date "
                f"{self.first_day:%Y-%m-%d}: pick an end on or after the start."
            )
        days = self.days()
        if days > MAX_DAYS:
            raise FilterError(
                f"{days} days is more than the {MAX_DAYS} the page shows at once: "
                "pick a shorter range (or use the Parquet exports for longer studies)."
            )
        if self.interval not in INTERVALS:
            raise FilterError(f"Unknown interval {self.interval!r}: pick one of the list.")
        if INTERVALS[self.interval].endswith("minutes") and days > MAX_DAYS_SUB_HOUR:
            raise FilterError(
                f"{self.interval} intervals over {days} days are too many rows to read: "
                f"pick 60 min or longer, or at most {MAX_DAYS_SUB_HOUR} days."
            )

    def days(self) -> int:
        """How many days the range covers, both ends included."""
        return (self.last_day - self.first_day).days + 1

    def window(self) -> tuple[datetime, datetime]:
        """[start, end) as UTC instants: local midnight of the first day to the one after
        the last day (a DST day is 23 or 25 hours long, as the manager lived it)."""
        zone = ZoneInfo(self.tz)
        start = datetime.combine(self.first_day, time.min, tzinfo=zone)
        end = datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def span(self) -> tuple[datetime, datetime]:
        """The range as local wall-clock times (no zone), as queue_intervals labels buckets."""
        return (
            datetime.combine(self.first_day, time.min),
            datetime.combine(self.last_day + timedelta(days=1), time.min),
        )

    def params(self) -> dict[str, Any]:
        """The parameters every history query shares: the range and the queues."""
        start, end = self.window()
        return {"start": start, "end": end, "queues": list(self.queues) or None}

    def describe(self) -> str:
        """The range in words, for messages: '2026-11-02 to 2026-11-08 (Europe/Paris)'."""
        where = f" in {', '.join(self.queues)}" if self.queues else ""
        if self.first_day == self.last_day:
            return f"{self.first_day:%Y-%m-%d} ({self.tz}){where}"
        return f"{self.first_day:%Y-%m-%d} to {self.last_day:%Y-%m-%d} ({self.tz}){where}"
