"""The history filters: local days to UTC instants, and the messages for bad choices."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from errors import FilterError
from ui.filters import HistoryFilter


def test_a_day_runs_from_local_midnight_to_local_midnight() -> None:
    chosen = HistoryFilter(date(2026, 11, 2), date(2026, 11, 2), "Europe/Paris")
    assert chosen.window() == (
        datetime(2026, 11, 1, 23, tzinfo=UTC),
        datetime(2026, 11, 2, 23, tzinfo=UTC),
    )


def test_the_night_clocks_go_back_makes_a_25_hour_day() -> None:
    start, end = HistoryFilter(date(2026, 10, 25), date(2026, 10, 25), "Europe/Paris").window()
    assert (end - start).total_seconds() == 25 * 3600


def test_params_leave_all_queues_as_null() -> None:
    chosen = HistoryFilter(date(2026, 11, 2), date(2026, 11, 8), "UTC")
    assert chosen.params()["queues"] is None and chosen.days() == 7
    assert HistoryFilter(date(2026, 11, 2), date(2026, 11, 2), "UTC", queues=("a",)).params()[
        "queues"
    ] == ["a"]


def test_a_full_year_is_allowed_but_not_more() -> None:
    HistoryFilter(date(2024, 1, 1), date(2024, 12, 31), "UTC", "Month")  # 366 days, leap year
    with pytest.raises(FilterError, match="367 days is more than the 366"):
        HistoryFilter(date(2024, 1, 1), date(2025, 1, 1), "UTC", "Month")


def test_unknown_interval() -> None:
    with pytest.raises(FilterError, match="Unknown interval '5 min'"):
        HistoryFilter(date(2026, 11, 2), date(2026, 11, 2), "UTC", "5 min")
