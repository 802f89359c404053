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
