"""Erlang C: how many agents a service-level target takes (staffing, not history).

M/M/N queue with infinite patience, as planners and QueueMetrics' and Wazo's staffing helpers
use it. Inputs: arrivals per second `rate`, average handle time `aht_s`, agents `n`.
Traffic A = rate * aht_s (Erlangs). Computed through the Erlang B recursion
B(0) = 1, B(k) = A·B(k-1) / (k + A·B(k-1)), then C = N·B / (N - A·(1 - B)): no factorials or
powers, so it stays exact and finite for hundreds of agents (A^N / N! overflows a float from
N ≈ 170).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from errors import QueryError


def traffic(rate_per_s: float, aht_s: float) -> float:
    """Offered load in Erlangs."""
    if rate_per_s < 0 or aht_s <= 0:
        raise QueryError("Erlang C needs a rate >= 0 and an average handle time > 0")
    return rate_per_s * aht_s


def erlang_b(a: float, n: int) -> float:
    """Blocking probability with `n` servers and load `a` (iterative, stable)."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def wait_probability(a: float, n: int) -> float:
    """Erlang C: probability that a call waits at all (1 when n <= a: the queue grows)."""
    if n <= a:
        return 1.0
    b = erlang_b(a, n)
    return n * b / (n - a * (1 - b))


def service_level(a: float, n: int, aht_s: float, threshold_s: float) -> float:
    """Share of calls answered within `threshold_s`: 1 - C·e^(-(N-A)·t/AHT)."""
    if n <= a:
        return 0.0
    return 1 - wait_probability(a, n) * math.exp(-(n - a) * threshold_s / aht_s)


def average_speed_of_answer(a: float, n: int, aht_s: float) -> float:
    """Mean wait over all calls: C·AHT / (N - A); infinite when n <= a."""
    if n <= a:
        return math.inf
    return wait_probability(a, n) * aht_s / (n - a)


def agents_for_target(
    a: float, aht_s: float, threshold_s: float, target: float, max_agents: int = 10_000
) -> int:
    """Fewest agents whose service level reaches `target` (a share, e.g. 0.8)."""
    if not 0 < target < 1:
        raise QueryError("the service-level target must be a share between 0 and 1")
    n = max(1, math.floor(a) + 1)
    while service_level(a, n, aht_s, threshold_s) < target:
        n += 1
        if n > max_agents:
            raise QueryError(f"more than {max_agents} agents would be needed")
    return n


def projected_service_level(
    answered: int, within: int, expected_calls: float, model_sl: float
) -> float | None:
    """Answered service level (a share) expected at the end of the current interval.

    The calls answered so far keep their result (`within` of `answered`); the `expected_calls`
    still to come (arrival rate x seconds left) are answered within the threshold at the
    Erlang C share `model_sl` (infinite patience: every call is answered). None when no call
    is answered and none is expected.
    """
    total = answered + expected_calls
    if total <= 0:
        return None
    return (within + expected_calls * model_sl) / total


@dataclass(frozen=True)
class Staffing:
    """Erlang C for one queue now: load, agents the target takes, what the staffed agents give."""

    traffic: float  # Erlangs
    agents_needed: int | None  # None: over max_agents
    service_level: float  # the share answered within the threshold with `staffed` agents
    projected_sl: float | None  # the answered service level expected at the interval's end


def staffing(
    rate_per_s: float,
    aht_s: float,
    staffed: int,
    threshold_s: float,
    target: float,
    interval: tuple[int, int, float],
) -> Staffing:
    """Erlang C for a queue now. `interval` = (answered so far, of them within the threshold,
    seconds left in it)."""
    a = traffic(rate_per_s, aht_s)
    try:
        needed: int | None = agents_for_target(a, aht_s, threshold_s, target)
    except QueryError:
        needed = None
    model = service_level(a, staffed, aht_s, threshold_s) if staffed > 0 else 0.0
    answered, within, left_s = interval
    projected = projected_service_level(answered, within, rate_per_s * left_s, model)
    return Staffing(a, needed, model, projected)
