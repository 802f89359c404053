"""Erlang C against a published worked example, and for large centres."""

from __future__ import annotations

import math

import pytest

from errors import QueryError
from queries.erlang import (
    agents_for_target,
    average_speed_of_answer,
    service_level,
    traffic,
    wait_probability,
)

# Call Centre Helper's worked example ("Erlang C formula, made simple"): 100 calls in 30
# minutes, AHT 180 s, target 80 % answered in 20 s. A = 100 * 180 / 1800 = 10 Erlangs.
# Published: N=11 waits 68.2 %, SL 39.0 %; N=12 SL 64.0 %; N=13 SL 79.6 %; N=14 SL 88.8 %,
# so 14 agents; ASA with 14 agents 7.8 s (0.1741 * 180 / 4).
A = traffic(100 / 1800, 180)


def test_published_worked_example() -> None:
    assert pytest.approx(10.0) == A
    assert wait_probability(A, 11) == pytest.approx(0.6821, abs=1e-4)
    published = {11: 0.3897, 12: 0.6402, 13: 0.7956, 14: 0.8884}
    for n, sl in published.items():
        assert service_level(A, n, 180, 20) == pytest.approx(sl, abs=1e-3), n
    assert agents_for_target(A, 180, 20, 0.80) == 14
    assert average_speed_of_answer(A, 14, 180) == pytest.approx(7.8, abs=0.1)


def test_erlang_b_textbook_value() -> None:
    # Erlang B table: A = 5 Erlangs on 10 lines blocks 1.84 % of calls.
    from queries.erlang import erlang_b

    assert erlang_b(5.0, 10) == pytest.approx(0.01838, abs=1e-5)


def test_large_centres_stay_finite_and_monotonic() -> None:
    a = traffic(2.0, 300)  # 600 Erlangs: 7,200 calls an hour
    n = agents_for_target(a, 300, 20, 0.8)
    assert 600 < n < 660
    levels = [service_level(a, k, 300, 20) for k in range(n - 5, n + 5)]
    assert all(math.isfinite(x) for x in levels) and levels == sorted(levels)


def test_understaffed_and_bad_input() -> None:
    assert wait_probability(10.0, 10) == 1.0 and service_level(10.0, 9, 180, 20) == 0.0
    assert average_speed_of_answer(10.0, 10, 180) == math.inf
    with pytest.raises(QueryError):
        traffic(1.0, 0)
    with pytest.raises(QueryError):
        agents_for_target(A, 180, 20, 1.5)
