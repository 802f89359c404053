"""Reconciliation per interval (`completeness`), worked by hand.

PBX p, queue support. 08:00-09:00: the collector saw A to its end and B only until an outage
(unknown + gap); queue_log (loaded through the backfill) holds A, B and C: B is replaced, C
added. 09:00-10:00: the collector saw D, and E until an outage; queue_log was not read for that
hour. 10:00-11:00: queue_log holds F, of PBX p, queue sales, which nobody else saw.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime, timedelta

import queries
from collectors.rows import QueueCall
from storage.backfill import write_new
from storage.store import Store
from tests.queries.test_kpis import assert_rows

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def stay(call_id: str, hhmm: str, source: str, queue: str = "support") -> QueueCall:
    h, m = (int(x) for x in hhmm.split(":"))
    entered = DAY + timedelta(hours=h, minutes=m)
    return QueueCall(
        "p", queue, call_id, call_id, None, None, entered, 1, "answered", 5.0,
        entered + timedelta(seconds=5), "Alice", None, 60.0, "agent",
        entered + timedelta(seconds=65), 1, source,
    )  # fmt: skip


def unknown(call: QueueCall) -> QueueCall:
    return dataclasses.replace(call, outcome="unknown", agent=None, talk_s=None, ended_by=None,
                               ended_at=None, answered_at=None, gap=True)  # fmt: skip


def test_completeness_by_hand(store: Store) -> None:
    for call in (stay("A", "08:10", "ami"), unknown(stay("B", "08:20", "ami")),
                 stay("D", "09:10", "ami"), unknown(stay("E", "09:20", "ami"))):  # fmt: skip
        store.put(call)
    store.flush()
    logged = [stay(c, t, "queue_log") for c, t in (("A", "08:10"), ("B", "08:20"), ("C", "08:30"))]
    logged.append(stay("F", "10:05", "queue_log", queue="sales"))
    assert store.in_writer(functools.partial(write_new, calls=logged, attempts=[])) == (3, 1)
    frame = queries.run("completeness", store.cursor())
    hour = [datetime(2026, 11, 2, h) for h in (8, 9, 10)]
    assert_rows(frame, [
        {"pbx": "p", "queue": "sales", "bucket_start": hour[2], "stays": 1, "ami": 0,
         "filled": 1, "unknown": 0, "gap": 0, "queue_log": 1,
         "completeness_pct": 100.0, "ami_pct": 0.0},
        # A seen; B replaced from queue_log (no longer a gap row); C filled.
        {"pbx": "p", "queue": "support", "bucket_start": hour[0], "stays": 3, "ami": 1,
         "filled": 2, "unknown": 0, "gap": 0, "queue_log": 3,
         "completeness_pct": 100.0, "ami_pct": 100 / 3},
        # D seen; E still unknown: 1 of 2 complete.
        {"pbx": "p", "queue": "support", "bucket_start": hour[1], "stays": 2, "ami": 1,
         "filled": 0, "unknown": 1, "gap": 1, "queue_log": 0,
         "completeness_pct": 50.0, "ami_pct": 50.0},
    ])  # fmt: skip
    # Loading the same queue_log again notes nothing twice.
    store.in_writer(functools.partial(write_new, calls=logged, attempts=[]))
    again = queries.run("completeness", store.cursor(), queues=["support"], bucket="1 day")
    assert list(again["queue_log"]) == [3] and list(again["stays"]) == [5]
