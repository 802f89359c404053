"""The service's PBX set at runtime: console connections are loaded at start, a name the
settings file owns stays the file's, and a removed PBX's collector stops."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import connections
import queries
from demo import DemoPbx, DemoSettings
from errors import ConfigError
from service import Service
from settings import PbxSettings, Settings


async def until(check: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_saved_connections_are_collected_from_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with DemoPbx(DemoSettings(secret="d3mo-Secret-X")) as demo:
        saved = demo.pbx_settings("branch")
        clash = PbxSettings("main", port=1, username="u", secret="from-console")
        main = PbxSettings("main", port=1, username="u", secret="f")
        settings = Settings(tmp_path / "cb.duckdb", flush_interval_s=0.05, pbx=(main,))
        connections.save(connections.connections_file(settings), (saved, clash))
        async with Service(settings) as running:
            assert [(c.pbx.name, running.source_of(c.pbx.name)) for c in running.collectors] == [
                ("main", "file"), ("branch", "console")
            ]  # fmt: skip
            assert running.collectors[0].pbx.secret == "f" and not running.demo
            branch = running.collectors[1]
            await until(lambda: branch.ready)
            health = json.dumps(running.health())
            assert '"source": "console"' in health and demo.secret not in health
            with pytest.raises(ConfigError, match="is defined in defaults"):
                await running.remove_pbx("main")
            await running.remove_pbx("branch")
            assert [c.pbx.name for c in running.collectors] == ["main"]
            assert branch.status.state == "connected"  # its last state; the task is gone
            with pytest.raises(ConfigError, match="no PBX named 'branch'"):
                await running.remove_pbx("branch")
    assert "saved PBX connection 'main' ignored" in caplog.text
    assert "from-console" not in caplog.text


def test_a_demo_pbx_name_is_not_available_to_the_console(tmp_path: Path) -> None:
    running = Service(Settings(db_path=tmp_path / "cb.duckdb", demo="on"))
    with pytest.raises(ConfigError, match="built-in demo PBX"):
        running._editable("demo")


def live_pbxs(running: Service) -> set[str]:
    running.store.flush()
    return set(queries.read("live_members")["pbx"])


async def test_a_pbx_added_stops_the_auto_demo_and_a_removed_one_leaves_the_live_view(
    tmp_path: Path,
) -> None:
    settings = Settings(db_path=tmp_path / "cb.duckdb", flush_interval_s=0.05)  # demo = auto
    async with Service(settings) as running, DemoPbx(DemoSettings(secret="x-7")) as other:
        (demo,) = running.collectors
        await until(lambda: demo.ready)
        assert running.demo and live_pbxs(running) == {"demo"}
        await running.apply_pbx(other.pbx_settings("branch"))
        assert not running.demo and not running.live.demo
        (branch,) = running.collectors
        await until(lambda: branch.ready)
        assert live_pbxs(running) == {"branch"}  # the demo's members left with it
        await running.remove_pbx("branch")
        assert running.collectors == [] and live_pbxs(running) == set()
