"""PBX connections an admin makes on the PBX console page, kept outside git.

They live in `pbx-connections.json` next to the DuckDB file (`connections_file(settings)`),
written atomically with mode 0600 because it holds AMI secrets, and are loaded when the
service starts. PBXs from `callboard.toml` stay read-only on the page: the file is theirs.
What an admin types is validated by the same function as a [[pbx]] table
(`settings.build_pbx`), so a port or a name is wrong in the same words in both places.

    {"pbx": [{"name": "branch", "host": "10.0.0.5", "port": 5038, "username": "callboard",
              "secret": "...", "ping_interval_s": 10.0}]}
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from collectors.ami import AmiAuthError, AmiError, AmiSession, AmiUnreachable
from errors import ConfigError
from settings import PbxSettings, Settings, build_pbx

FILE_NAME = "pbx-connections.json"
CHECK_TIMEOUT_S = 5.0
FORM_FIELDS = ("name", "host", "port", "username", "secret", "ping_interval_s", "queue_log_path")


def connections_file(settings: Settings) -> Path:
    """Where page-made connections are kept: beside the DuckDB file, outside the repo."""
    return settings.db_path.parent / FILE_NAME


def load(path: Path) -> tuple[PbxSettings, ...]:
    """The connections saved in `path` (none if it does not exist), each validated again."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ()
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read the saved PBX connections: {e}") from None
    entries = data.get("pbx") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f'{path}: expected {{"pbx": [...]}}')
    return tuple(build_pbx(e, {}, f"{path.name} pbx[{i}]") for i, e in enumerate(entries))


def save(path: Path, pbxs: tuple[PbxSettings, ...]) -> None:
    """Replace `path` with these connections: a new 0600 file renamed over the old one, so a
    crash leaves the old or the new list, never half of one, and no other user can read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"pbx": [_plain(p) for p in pbxs]}, indent=2)
    fd, tmp = tempfile.mkstemp(prefix=".pbx-", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(pbx: PbxSettings) -> dict[str, Any]:
    # JSON values as the settings loader reads them back: a path as text, an unset one left out.
    return {
        k: str(v) if isinstance(v, Path) else v for k, v in asdict(pbx).items() if v is not None
    }


def from_form(values: Mapping[str, str], previous: PbxSettings | None) -> PbxSettings:
    """A PBX from the console's form. Editing, a blank secret keeps the stored one (the page
    never shows it, so the admin cannot retype it); adding, a secret is required."""
    raw: dict[str, Any] = {k: str(values.get(k, "")).strip() for k in FORM_FIELDS}
    raw["secret"] = str(values.get("secret", ""))  # a secret may start or end with a space
    if previous is not None:
        raw["name"] = previous.name  # the name is the PBX's identity: every row carries it
    if not raw["secret"] and previous is not None:
        raw["secret"] = previous.secret
    if not raw["secret"]:
        raise ConfigError("pbx.secret: required (the manager.conf secret of that user)")
    pbx = build_pbx(raw, {}, "pbx")
    return pbx if previous is None else replace(pbx, name=previous.name)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a one-off AMI login, in words for the page."""

    ok: bool
    message: str


async def check(pbx: PbxSettings, timeout: float = CHECK_TIMEOUT_S) -> CheckResult:
    """Log in once with these settings, ping, log out: success, authentication failed or
    unreachable, said in words (never the secret)."""
    try:
        session = await AmiSession.open(pbx, lambda _event: None, timeout=timeout)
    except AmiAuthError as e:
        return CheckResult(False, f"{e}: check the username and secret in manager.conf")
    except AmiUnreachable as e:
        return CheckResult(False, f"unreachable: {e}")
    try:
        async with session:
            rtt = await session.ping(timeout)
    except AmiError as e:
        return CheckResult(False, f"logged in, then the session failed: {e}")
    version = f", AMI {session.version}" if session.version else ""
    return CheckResult(
        True,
        f"logged in to {pbx.host}:{pbx.port} as {pbx.username!r}{version}; "
        f"ping round trip {rtt:.1f} ms",
    )
