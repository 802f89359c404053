"""Console-made PBX connections: validated like [[pbx]], kept 0600, secret write-only; the
one-off login test against the demo PBX's AMI server (it checks credentials)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

import connections
from demo import DemoPbx, DemoSettings
from errors import ConfigError
from settings import PbxSettings

FORM = {"name": "branch", "host": "10.0.0.5", "port": "5038", "username": "cb",
        "secret": " s3 ", "ping_interval_s": "10"}  # fmt: skip


def test_a_form_becomes_pbx_settings_with_the_settings_file_rules() -> None:
    pbx = connections.from_form(FORM, None)
    assert pbx == PbxSettings("branch", "10.0.0.5", 5038, "cb", " s3 ", 10.0)
    followed = connections.from_form({**FORM, "queue_log_path": "/var/log/q"}, None)
    assert followed.queue_log_path == Path("/var/log/q")
    for field, value, message in [
        ("port", "abc", "pbx.port: must be an integer between 1 and 65535, got 'abc'"),
        ("name", "bad name!", "pbx.name: must be 1-64 letters"),
        ("username", "", "pbx.username: required"),
        ("ping_interval_s", "0", "pbx.ping_interval_s: must be a number between 0.2"),
        ("secret", "", "pbx.secret: required"),
    ]:
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
            connections.from_form({**FORM, field: value}, None)


def test_editing_keeps_the_name_and_a_blank_secret_keeps_the_stored_one() -> None:
    before = connections.from_form(FORM, None)
    after = connections.from_form({**FORM, "name": "other", "secret": "", "port": "6038"}, before)
    assert (after.name, after.secret, after.port) == ("branch", " s3 ", 6038)
    assert connections.from_form({**FORM, "secret": "new"}, before).secret == "new"


def test_saved_connections_are_0600_replaced_whole_and_loaded_back(tmp_path: Path) -> None:
    path = tmp_path / "data" / connections.FILE_NAME
    assert connections.load(path) == ()
    pbx = connections.from_form(FORM, None)
    connections.save(path, (pbx,))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert connections.load(path) == (pbx,)
    connections.save(path, ())
    assert connections.load(path) == () and [p.name for p in path.parent.iterdir()] == [
        connections.FILE_NAME
    ]


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / connections.FILE_NAME
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read the saved PBX connections"):
        connections.load(path)
    path.write_text(json.dumps({"pbx": [{"name": "x", "port": 0, "username": "u"}]}))
    with pytest.raises(ConfigError, match=r"pbx-connections.json pbx\[0\].port: must be"):
        connections.load(path)


async def test_check_says_success_auth_failed_or_unreachable() -> None:
    async with DemoPbx(DemoSettings(auth_fail_delay_s=0.0)) as demo:
        good = demo.pbx_settings("d")
        result = await connections.check(good)
        assert result.ok and result.message.startswith(f"logged in to 127.0.0.1:{demo.port}")
        assert "ping round trip" in result.message
        wrong = PbxSettings("d", "127.0.0.1", demo.port, "demo", "n0pe-x")
        result = await connections.check(wrong)
        assert not result.ok and "authentication failed for user 'demo'" in result.message
        assert "n0pe-x" not in result.message
    result = await connections.check(good, timeout=2.0)  # the demo is gone: nobody listens
    assert not result.ok and result.message.startswith("unreachable: cannot reach 127.0.0.1:")
