"""Local users' passwords: argon2id hashes (argon2-cffi), checked in constant-ish time.

An unknown name is checked against a dummy hash so that timing does not tell which names
exist; repeated failures for one name lock it for a while (`LOCK_AFTER`, `LOCK_S`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from settings import UserSettings

LOCK_AFTER = 5  # failures in a row before a name is locked
LOCK_S = 60.0  # how long it stays locked
# Names whose failures are remembered; beyond this the oldest are forgotten, so that a flood
# of made-up names cannot grow memory (each try still costs the guesser a full check).
MAX_TRACKED = 10_000

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("callboard: no such user")
_failures: dict[str, tuple[int, float]] = {}  # name -> (failures in a row, locked until)
_lock = threading.Lock()


class LockedOut(Exception):
    """Too many failed sign-ins for this name; `seconds` until the next try."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"locked for {seconds:.0f} s")
        self.seconds = seconds


def hash_password(password: str) -> str:
    """An argon2id hash for a [[user]]'s password_hash (what `python -m auth hash` prints)."""
    return _hasher.hash(password)


def check(name: str, password: str, users: Iterable[UserSettings]) -> UserSettings | None:
    """The [[user]] entry whose name and password match, else None; LockedOut while locked."""
    now = time.monotonic()
    with _lock:
        count, until = _failures.get(name, (0, 0.0))
    if until > now:
        raise LockedOut(until - now)
    entry = next((u for u in users if u.name == name and u.password_hash), None)
    ok = _verify(entry.password_hash if entry else _DUMMY_HASH, password) and entry is not None
    with _lock:
        if ok:
            _failures.pop(name, None)
        else:
            count += 1
            _failures.pop(name, None)  # re-inserted last: the oldest entries go first
            _failures[name] = (count, now + LOCK_S if count >= LOCK_AFTER else 0.0)
            while len(_failures) > MAX_TRACKED:
                _failures.pop(next(iter(_failures)))
    return entry if ok else None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
