"""`pbx_sessions`, worked by hand: a session written at open and at close is one row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import queries
from collectors.rows import ConnectionSession
from storage.store import Store

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)


def test_sessions_newest_first_one_row_each(store: Store) -> None:
    m = timedelta(minutes=1)
    for row in [
        ConnectionSession("p", 1, T0, None, "connected", None),
        ConnectionSession("p", 1, T0, T0 + 10 * m, "closed", "connection closed by peer: reset"),
        ConnectionSession("p", 2, T0 + 11 * m, T0 + 11 * m, "unreachable", "cannot reach"),
        ConnectionSession("p", 3, T0 + 12 * m, None, "connected", None),
        ConnectionSession("other", 9, T0, None, "connected", None),
    ]:
        store.put(row)
    store.flush()
    frame = queries.read("pbx_sessions", pbx="p", limit=10)
    assert list(frame["session_id"]) == [3, 2, 1]
    assert list(frame["state"]) == ["connected", "unreachable", "closed"]
    assert frame["duration_s"][1] == 0.0 and frame["duration_s"][2] == 600.0
    assert frame["duration_s"][0] > 600  # open: runs to now
    assert list(queries.read("pbx_sessions", pbx="p", limit=1)["session_id"]) == [3]
    assert queries.read("pbx_sessions", pbx="p' OR 1=1 --", limit=10).empty
