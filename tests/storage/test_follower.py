"""The queue_log follower on real files: partial lines, rotation, truncation, restarts, and the
stays it holds back while the collector still has them open."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import queries
from service import Service
from settings import PbxSettings, Settings
from storage.follower import QueueLogFollower
from storage.queue_log import fold_calls
from storage.store import Store

EPOCH = 1_793_000_000  # 2026-10-26: long past, so no stay waits for the grace period


def call_lines(callid: str, t: int, answered: bool = True) -> list[str]:
    """A stay of `callid` in support: answered after 5 s and 60 s of talk, or abandoned."""
    enter = f"{t}|{callid}|support|NONE|ENTERQUEUE||555|1\n"
    if not answered:
        return [enter, f"{t + 8}|{callid}|support|NONE|ABANDON|1|1|8\n"]
    return [
        enter,
        f"{t + 5}|{callid}|support|Alice|CONNECT|5|{callid}-agent|2\n",
        f"{t + 65}|{callid}|support|Alice|COMPLETECALLER|5|60|1\n",
    ]


def append(path: Path, *lines: str) -> None:
    with path.open("a") as f:
        f.write("".join(lines))


def stored(store: Store) -> dict[str, tuple[str, str]]:
    frame = queries.read("calls")
    return {r.call_id: (r.outcome, r.source) for r in frame.itertuples()}


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "queue_log"


@pytest.fixture
def follower(store: Store, log_path: Path) -> Iterator[QueueLogFollower]:
    log_path.touch()
    f = QueueLogFollower(store, "pbx", log_path)
    yield f
    f.close()


def test_a_line_still_being_written_waits_for_its_newline(
    store: Store, log_path: Path, follower: QueueLogFollower
) -> None:
    a = call_lines("A", EPOCH)
    append(log_path, a[0], a[1], a[2][:10])  # the COMPLETECALLER line cut in the middle
    assert follower.poll() == 0 and stored(store) == {}
    append(log_path, a[2][10:])
    assert follower.poll() == 1
    assert stored(store) == {"A": ("answered", "queue_log")}
    assert follower.report.bad_lines == 0


def test_rotation_reads_the_old_file_to_its_end_then_the_new_one(
    store: Store, log_path: Path, follower: QueueLogFollower
) -> None:
    b = call_lines("B", EPOCH + 100, answered=False)
    append(log_path, *call_lines("A", EPOCH), b[0])
    assert follower.poll() == 1
    append(log_path, b[1])  # written just before logrotate renames the file
    log_path.rename(log_path.with_name("queue_log.1"))
    append(log_path, *call_lines("C", EPOCH + 200))  # Asterisk reopens: a new file
    assert follower.poll() == 2
    assert stored(store) == {
        "A": ("answered", "queue_log"),
        "B": ("abandoned", "queue_log"),
        "C": ("answered", "queue_log"),
    }
    assert follower.tail.rotations == 1


def test_truncation_reads_the_file_again_from_its_start(
    store: Store, log_path: Path, follower: QueueLogFollower
) -> None:
    append(log_path, *call_lines("A", EPOCH), *call_lines("B", EPOCH + 100))
    assert follower.poll() == 2
    with log_path.open("w") as f:  # copytruncate
        f.write("".join(call_lines("C", EPOCH + 200, answered=False)))
    assert follower.poll() == 1
    assert stored(store)["C"] == ("abandoned", "queue_log")
    assert follower.tail.truncations == 1


def test_a_restart_resumes_at_the_oldest_open_stay(store: Store, log_path: Path) -> None:
    b = call_lines("B", EPOCH + 100, answered=False)
    append(log_path, *call_lines("A", EPOCH), b[0])
    first = QueueLogFollower(store, "pbx", log_path)
    assert first.poll() == 1
    first.close()
    append(log_path, b[1])  # B ends while the service is stopped
    second = QueueLogFollower(store, "pbx", log_path)
    assert second.tail.offset == sum(len(line) for line in call_lines("A", EPOCH))
    assert second.poll() == 1  # B, re-read from its ENTERQUEUE; A is not read again
    second.close()
    assert stored(store) == {"A": ("answered", "queue_log"), "B": ("abandoned", "queue_log")}


def test_a_file_rotated_while_stopped_is_finished_first(store: Store, log_path: Path) -> None:
    b = call_lines("B", EPOCH + 100, answered=False)
    append(log_path, *call_lines("A", EPOCH), b[0])
    first = QueueLogFollower(store, "pbx", log_path)
    first.poll()
    first.close()
    append(log_path, b[1])
    log_path.rename(log_path.with_name("queue_log-20261126"))
    append(log_path, *call_lines("C", EPOCH + 200))
    second = QueueLogFollower(store, "pbx", log_path)
    assert second.poll() == 2
    second.close()
    assert set(stored(store)) == {"A", "B", "C"}


def test_a_caller_back_in_the_queue_seconds_later_is_a_second_stay(
    store: Store, log_path: Path, follower: QueueLogFollower
) -> None:
    # A presses a key to leave (an IVR) and is back in the queue 4 s after entering it: the
    # same channel, so the same callid. The follower writes the first stay before the second
    # is read; the second is a stay of its own, not the first seen again.
    append(log_path, f"{EPOCH}|A|support|NONE|ENTERQUEUE||555|1\n",
           f"{EPOCH + 2}|A|support|NONE|EXITWITHKEY|1|1|2\n")  # fmt: skip
    assert follower.poll() == 1
    append(log_path, *call_lines("A", EPOCH + 4))
    assert follower.poll() == 1
    calls = queries.read("calls")
    assert list(calls["outcome"]) == ["exitwithkey", "answered"]


def test_stays_are_held_while_the_collector_has_them_open_and_for_the_grace(
    store: Store, log_path: Path, follower: QueueLogFollower
) -> None:
    now = int(time.time())
    append(log_path, *call_lines("A", EPOCH), *call_lines("B", now - 8, answered=False))
    # A is still open in the collector (its AMI row is on its way); B ended 0 s ago.
    assert follower.poll(frozenset({("support", "A")})) == 0
    assert follower.report.held == 2
    assert follower.poll() == 1  # A; B waits for the grace period
    follower.grace_s = 0
    assert follower.poll() == 1
    assert set(stored(store)) == {"A", "B"} and follower.report.held == 0


def test_what_the_collector_saw_is_kept_and_its_unknown_stays_replaced(
    store: Store, log_path: Path, follower: QueueLogFollower, captures: Path
) -> None:
    text = (captures / "b_mixed" / "queue_log").read_text()
    calls = fold_calls(text.splitlines(), pbx="pbx").calls
    store.put(dataclasses.replace(calls[0], source="ami"))
    store.put(dataclasses.replace(calls[1], source="ami", outcome="unknown", agent=None, gap=True))
    store.flush()
    lines = text.splitlines(keepends=True)
    for start in range(0, len(lines), 17):  # Asterisk writes; the follower polls meanwhile
        append(log_path, *lines[start : start + 17])
        follower.poll()
    report = follower.report
    assert (report.calls_added, report.calls_replaced, report.calls_known) == (19, 1, 1)
    frame = queries.read("calls").set_index("call_id")
    assert len(frame) == len(calls) == 20
    assert frame.loc[calls[0].call_id, "source"] == "ami"
    assert frame.loc[calls[1].call_id, "outcome"] == calls[1].outcome
    # queue_log_stays holds every stay queue_log has, the collector's included, once.
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM queue_log_stays").fetchone() == (20,)


async def test_the_service_follows_a_configured_queue_log(tmp_path: Path, captures: Path) -> None:
    # The PBX's AMI port is closed (nothing listens): every call comes from its queue_log.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "queue_log"
    path.write_text((captures / "b_mixed" / "queue_log").read_text())
    pbx = PbxSettings("lab", port=port, username="u", queue_log_path=path)
    settings = Settings(db_path=tmp_path / "cb.duckdb", demo="off", pbx=(pbx,),
                        queue_log_poll_s=0.1)  # fmt: skip
    async with Service(settings) as service:
        async with asyncio.timeout(20):
            while len(await asyncio.to_thread(queries.read, "calls")) < 20:
                await asyncio.sleep(0.1)
        calls = await asyncio.to_thread(queries.read, "calls")
        assert set(calls["source"]) == {"queue_log"} and service.collectors[0].status.failures
