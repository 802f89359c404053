"""Follows a PBX's queue_log as Asterisk writes it, and fills in what AMI missed.

`LogTail` reads the complete lines appended since the last read, rotation-aware: when the path
names a new file (logrotate's rename: another inode) the old file is read to its end first, then
the new one from its start; when the file got shorter (copytruncate) it is read again from the
start. A last line without its newline waits for it.

`QueueLogFollower.poll()` folds the new lines (storage/queue_log.py) and writes the finished stays
through the backfill (storage/backfill.py, on the store's writer): a stay the collector saw is
kept, one it missed is added (source `queue_log`), an `unknown` gap stay is replaced. A finished
stay is held back while the collector still has it open, or until `grace_s` after its end, so a
call AMI is about to write is never written twice; the backfill's duplicate check covers the rest.
Member lines become presence rows at once (storage/presence.py), which keeps them to the time
before the collector's first member row: a follower that starts with the collector loads the
presence of the history it reads first, and nothing after. Those rows are put in time order
(a rewrite of the changelog) once a poll finds the file nearly read (CAUGHT_UP_LINES), not at
every step of a first read.

Where to resume is kept in the store (`queue_log_offsets`): the file's inode and the offset of
the oldest line still needed (the ENTERQUEUE of a stay not written yet), so a restart re-reads
the open stays from their start; stays written twice are recognised and skipped. If the file was
rotated while the service was stopped, the rotated file (same folder, same inode) is finished
first.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from collectors.rows import QueueCall, RingAttempt
from storage.backfill import write_new
from storage.presence import next_rowid, order_members, write_members
from storage.queue_log import QueueLogFolder
from storage.store import Store

log = logging.getLogger(__name__)

READ_BYTES = 4 << 20  # at most this much per read: a first read of a big file goes in steps
CAUGHT_UP_LINES = 10_000  # a poll reading fewer lines has (nearly) caught up with the file
GRACE_S = 10.0  # AMI rows of a call follow its queue_log lines by well under this
Key = tuple[str, str]  # (callid, queue), as queue_log keys a stay
Held = tuple[str, str, datetime]  # (callid, queue, entered_at): one stay, even re-entered


@dataclass
class Line:
    """One complete queue_log line and where it starts in its file."""

    offset: int
    text: str


class LogTail:
    """The complete lines appended to `path` since the last `read()`; see the module doc."""

    def __init__(self, path: Path, inode: int | None = None, offset: int = 0) -> None:
        self.path = path
        self._file: int | None = None  # an os-level descriptor: offsets are plain bytes
        self.inode: int | None = None
        self.offset = 0  # where the next read starts, in the open file
        self.rotations = 0
        self.truncations = 0
        self._resume(inode, offset)

    def _resume(self, inode: int | None, offset: int) -> None:
        if inode is None:
            return
        rotated = self._rotated_file(inode)
        if rotated is not None:  # rotated while we were away: finish it first
            self._open(rotated, offset)
        elif self._stat(self.path) is not None:
            st = self._stat(self.path)
            if st is not None and st.st_ino == inode and st.st_size >= offset:
                self._open(self.path, offset)

    def _rotated_file(self, inode: int) -> Path | None:
        """A file beside `path` (queue_log.1, queue_log-20261126, ...) with this inode."""
        current = self._stat(self.path)
        if current is not None and current.st_ino == inode:
            return None
        try:
            for entry in os.scandir(self.path.parent):
                if entry.name.startswith(self.path.name) and entry.inode() == inode:
                    return Path(entry.path)
        except OSError:
            return None
        return None

    def read(self) -> list[Line]:
        """The complete lines written since the last call (possibly none)."""
        if self._file is None and not self._open(self.path, 0):
            return []
        lines = self._read_complete()
        current = self._stat(self.path)
        if current is None:
            return lines  # moved away and not recreated yet: keep the old file
        if current.st_ino != self.inode:  # rotated: the old file is read to its end above
            lines += self._rest_of_old()
            self.rotations += 1
            log.info("%s was rotated; reading the new file from its start", self.path)
            if self._open(self.path, 0):
                lines += self._read_complete()
        elif current.st_size < self.offset:  # truncated in place (copytruncate)
            self.truncations += 1
            log.info("%s was truncated; reading it again from its start", self.path)
            self._open(self.path, 0)
            lines += self._read_complete()
        return lines

    def close(self) -> None:
        if self._file is not None:
            os.close(self._file)
            self._file = None

    def _open(self, path: Path, offset: int) -> bool:
        self.close()
        try:
            self._file = os.open(path, os.O_RDONLY)
        except OSError:
            return False
        self.inode = os.fstat(self._file).st_ino
        self.offset = offset
        return True

    def _read_complete(self) -> list[Line]:
        lines: list[Line] = []
        assert self._file is not None
        while True:
            data = os.pread(self._file, READ_BYTES, self.offset)
            end = data.rfind(b"\n") + 1
            if end == 0:
                return lines  # nothing, or a line still being written
            lines.extend(self._split(data[:end], self.offset))
            self.offset += end
            if len(data) < READ_BYTES:
                return lines

    def _rest_of_old(self) -> list[Line]:
        # A rotated file is complete: a last line without newline is all it will ever hold.
        assert self._file is not None
        data = os.pread(self._file, READ_BYTES, self.offset)
        return self._split(data, self.offset) if data.strip() else []

    @staticmethod
    def _split(data: bytes, start: int) -> list[Line]:
        lines, offset = [], start
        for raw in data.splitlines(keepends=True):
            lines.append(Line(offset, raw.decode("utf-8", errors="replace")))
            offset += len(raw)
        return lines

    @staticmethod
    def _stat(path: Path) -> os.stat_result | None:
        try:
            return path.stat()
        except OSError:
            return None


@dataclass
class FollowReport:
    """Running totals of one follower, for logs and the admin page."""

    lines: int = 0
    calls_added: int = 0
    calls_replaced: int = 0
    calls_known: int = 0
    held: int = 0  # finished stays waiting for the collector or the grace period
    bad_lines: int = 0
    member_states_added: int = 0
    member_rows_in_outages: int = 0  # of those, inside the collector's AMI outages
    errors: list[str] = field(default_factory=list)


class QueueLogFollower:
    """Follows one PBX's queue_log into the store; `poll()` does one round (blocking I/O)."""

    def __init__(self, store: Store, pbx: str, path: Path, grace_s: float = GRACE_S) -> None:
        self.store, self.pbx, self.path, self.grace_s = store, pbx, path, grace_s
        inode, offset = store.in_writer(functools.partial(_saved, pbx=pbx, path=str(path))) or (
            None,
            0,
        )
        self.tail = LogTail(path, inode, offset)
        self.folder = QueueLogFolder(pbx)
        self.report = FollowReport()
        self._entered: dict[Key, int] = {}  # ENTERQUEUE offset of stays not written yet
        self._held: dict[Held, tuple[QueueCall, list[RingAttempt]]] = {}
        self._inode = self.tail.inode
        self._saved: tuple[int, int] | None = None
        self._unordered: int | None = None  # first rowid of member rows not yet put in order

    def poll(self, open_stays: frozenset[tuple[str, str]] = frozenset()) -> int:
        """Read, fold and write what is due; `open_stays` are the (queue, call_id) the
        collector still follows. Returns the stays written (added or replacing)."""
        lines = self.tail.read()
        if self.tail.inode != self._inode:  # another file: old offsets mean nothing there
            self._entered = dict.fromkeys(self._entered, 0)
            self._inode = self.tail.inode
        for line in lines:
            parts = line.text.split("|", 5)
            if len(parts) > 4 and parts[4] == "ENTERQUEUE":
                self._entered.setdefault((parts[1], parts[2]), line.offset)
        calls, attempts = self.folder.feed([line.text for line in lines])
        self.report.lines += len(lines)
        self._write_members(caught_up=len(lines) < CAUGHT_UP_LINES)
        self.report.bad_lines = len(self.folder.account.bad_lines)
        by_stay: dict[Key, list[RingAttempt]] = {}
        for attempt in attempts:
            by_stay.setdefault((attempt.call_id, attempt.queue), []).append(attempt)
        for call in calls:
            key = (call.call_id, call.queue)
            self._held[(*key, call.entered_at)] = (call, by_stay.pop(key, []))
        written = self._write(self._due(open_stays))
        self._prune_entered()
        self._save()
        return written

    def close(self) -> None:
        self.tail.close()

    def _due(self, open_stays: frozenset[tuple[str, str]]) -> list[Held]:
        horizon = datetime.now(UTC) - timedelta(seconds=self.grace_s)
        due = [
            key
            for key, (call, _) in self._held.items()
            if (call.queue, call.call_id) not in open_stays and _end(call) <= horizon
        ]
        self.report.held = len(self._held) - len(due)
        return due

    def _write(self, due: list[Held]) -> int:
        if not due:
            return 0
        calls = [self._held[k][0] for k in due]
        attempts = [a for k in due for a in self._held[k][1]]
        result = self.store.in_writer(functools.partial(write_new, calls=calls, attempts=attempts))
        added, replaced = result or (0, 0)
        self.report.calls_added += added
        self.report.calls_replaced += replaced
        self.report.calls_known += len(calls) - added
        for key in due:
            del self._held[key]
        return added

    def _write_members(self, caught_up: bool) -> None:
        rows = self.folder.take_members()
        if rows:
            first = self.store.in_writer(next_rowid) or 0
            written = self.store.in_writer(
                functools.partial(write_members, rows=rows, pbx=self.pbx, order=False)
            )
            if written is not None and written.added:
                self.report.member_states_added += written.added
                self.report.member_rows_in_outages += written.in_outages
                self._unordered = first if self._unordered is None else self._unordered
        if caught_up and self._unordered is not None:
            self.store.in_writer(
                functools.partial(order_members, pbx=self.pbx, first=self._unordered)
            )
            self._unordered = None

    def _prune_entered(self) -> None:
        # Resume offsets are needed for stays still open in the folder or held back only.
        needed = self.folder.open_keys() | {(k[0], k[1]) for k in self._held}
        for key in [k for k in self._entered if k not in needed]:
            del self._entered[key]

    def _save(self) -> None:
        if self.tail.inode is None:
            return
        resume = min(self._entered.values(), default=self.tail.offset)
        if self._saved == (self.tail.inode, resume):
            return
        self._saved = (self.tail.inode, resume)
        self.store.in_writer(
            functools.partial(
                _save, pbx=self.pbx, path=str(self.path), inode=self.tail.inode, offset=resume
            )
        )


def _end(call: QueueCall) -> datetime:
    return call.ended_at or call.answered_at or call.entered_at


def _saved(con: duckdb.DuckDBPyConnection, pbx: str, path: str) -> tuple[int, int] | None:
    row = con.execute(
        "SELECT inode, resume_offset FROM queue_log_offsets WHERE pbx = ? AND path = ?",
        [pbx, path],
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else None


def _save(con: duckdb.DuckDBPyConnection, pbx: str, path: str, inode: int, offset: int) -> None:
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM queue_log_offsets WHERE pbx = ? AND path = ?", [pbx, path])
    con.execute(
        "INSERT INTO queue_log_offsets VALUES (?, ?, ?, ?, ?)",
        [pbx, path, inode, offset, datetime.now(UTC)],
    )
    con.execute("COMMIT")
