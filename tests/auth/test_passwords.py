"""Local passwords: argon2id hashes, the `python -m auth hash` CLI, lockout after failures."""

from __future__ import annotations

import subprocess
import sys

import pytest

from auth import passwords
from auth.passwords import LockedOut, check, hash_password
from settings import UserSettings
from tests.conftest import REPO


@pytest.fixture(autouse=True)
def clean_lockouts() -> None:
    passwords._failures.clear()


def user(password: str) -> UserSettings:
    return UserSettings("ann", "supervisor", ("support",), "", hash_password(password))


def test_hash_is_argon2id_and_only_the_right_password_matches() -> None:
    ann = user("s3cret password")
    assert ann.password_hash.startswith("$argon2id$")
    assert "s3cret" not in ann.password_hash and "s3cret" not in repr(ann)
    assert check("ann", "s3cret password", [ann]) == ann
    assert check("ann", "s3cret passwor", [ann]) is None
    assert check("bob", "s3cret password", [ann]) is None
    # An OIDC-only entry (no hash) can never sign in with a password.
    oidc_only = UserSettings("ann", "supervisor", ("support",), "ann@example.com", "")
    assert check("ann", "", [oidc_only]) is None


def test_failures_in_a_row_lock_the_name_and_success_resets_the_count() -> None:
    ann = user("s3cret password")
    for _ in range(passwords.LOCK_AFTER - 1):
        assert check("ann", "nope", [ann]) is None
    assert check("ann", "s3cret password", [ann]) == ann  # resets the count
    for _ in range(passwords.LOCK_AFTER):
        check("ann", "nope", [ann])
    with pytest.raises(LockedOut) as caught:
        check("ann", "s3cret password", [ann])
    assert 0 < caught.value.seconds <= passwords.LOCK_S


def test_cli_hashes_a_password_from_stdin_and_refuses_a_short_one() -> None:
    run = [sys.executable, "-m", "auth", "hash", "--stdin"]
    done = subprocess.run(run, input="a long enough password\n", capture_output=True, text=True,
                          cwd=REPO, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    digest = done.stdout.strip()
    assert digest.startswith("$argon2id$") and "long enough" not in done.stdout
    assert check("ann", "a long enough password", [UserSettings("ann", "admin", (), "", digest)])
    short = subprocess.run(run, input="short\n", capture_output=True, text=True, cwd=REPO,
                           timeout=60, check=False)  # fmt: skip
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    assert not short.stdout


def test_made_up_names_cannot_grow_the_failure_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "MAX_TRACKED", 3)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hash_password("x"))
    for i in range(10):
        check(f"nobody-{i}", "guess", [])
    assert list(passwords._failures) == ["nobody-7", "nobody-8", "nobody-9"]
