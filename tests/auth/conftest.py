"""A config with one user per role (real argon2 hashes) and a store with two queues' calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auth import passwords
from auth.passwords import hash_password
from collectors.rows import QueueCall
from storage.store import Store
from tests.test_browser import browser  # noqa: F401 (the headless chromium fixture)

PASSWORD = "correct horse battery staple"
# name -> (role, queues); every one has PASSWORD.
PEOPLE = {
    "sam": ("supervisor", ["support"]),
    "mia": ("manager", ["sales"]),
    "ada": ("admin", []),
}


def users_toml(extra: str = "") -> str:
    digest = hash_password(PASSWORD)
    entries = [
        f'[[user]]\nname = "{name}"\nrole = "{role}"\nqueues = {queues!r}\n'
        f'password_hash = "{digest}"\n'.replace("'", '"')
        for name, (role, queues) in PEOPLE.items()
    ]
    return "\n".join(entries) + extra


@pytest.fixture
def users_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """CALLBOARD_CONFIG points at a config with the three people; lockouts start clean."""
    path = tmp_path / "users.toml"
    path.write_text(users_toml())
    monkeypatch.setenv("CALLBOARD_CONFIG", str(path))
    passwords._failures.clear()
    yield path
    passwords._failures.clear()


def call(queue: str, call_id: str, outcome: str = "answered") -> QueueCall:
    now = datetime.now(UTC).replace(microsecond=0)
    return QueueCall(
        pbx="p", queue=queue, call_id=call_id, linkedid=None, caller_num="555",
        caller_name=None, entered_at=now - timedelta(seconds=30), position=1,
        outcome=outcome, wait_s=4.0, answered_at=None, agent=None, interface=None,
        talk_s=None, ended_by=None, ended_at=now, ring_attempts=0, source="ami",
    )  # fmt: skip


@pytest.fixture
def two_queues(store: Store) -> Store:
    """Today's calls in queues support (1.1) and sales (2.1)."""
    store.put(call("support", "1.1"))
    store.put(call("sales", "2.1"))
    store.flush()
    return store
