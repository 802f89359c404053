"""Helpers for the real-Asterisk resilience tests: settings for the lab (or a relay to it),
waiting, reading the store, and the checks every scenario makes against queue_log: nothing
invented, nothing written twice."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pandas as pd

import queries
from service import Service
from settings import PbxSettings, Settings
from storage.queue_log import fold_calls
from tests.collectors.lab_helpers import until
from tests.lab.asterisk import AsteriskLab
from tests.lab.sipp import SippProcess


def pbx_of(
    lab: AsteriskLab, name: str = "lab", port: int | None = None, secret: str | None = None
) -> PbxSettings:
    """The lab's AMI (or a relay to it, on `port`), pinged every second."""
    return PbxSettings(
        name, lab.ami_host, port or lab.ami_port, lab.ami_username,
        lab.ami_secret if secret is None else secret, ping_interval_s=1.0,
    )  # fmt: skip


def settings_of(db: Path, *pbxs: PbxSettings, poll_s: float = 2.0) -> Settings:
    return Settings(db_path=db, flush_interval_s=0.1, poll_interval_s=poll_s, pbx=pbxs)


def following_settings(lab: AsteriskLab, port: int, db: Path) -> Settings:
    """The lab through a relay on `port`, its queue_log followed every 0.5 s."""
    pbx = dataclasses.replace(pbx_of(lab, port=port), queue_log_path=lab.queue_log_path)
    return dataclasses.replace(settings_of(db, pbx), queue_log_poll_s=0.5)


async def cli(lab: AsteriskLab, command: str) -> str:
    return await asyncio.to_thread(lab.cli, command)


async def finish(*callers: SippProcess, timeout: float = 20.0) -> None:
    for caller in callers:
        assert await asyncio.to_thread(caller.wait, timeout) == 0, caller.diagnostics()


def table(service: Service, sql: str, **params: object) -> pd.DataFrame:
    """Rows of the store (flushed first); rowid order is arrival order."""
    service.store.flush()
    cursor = service.store.cursor()
    try:
        return cursor.execute(sql, params).df()
    finally:
        cursor.close()


def live(service: Service, query: str) -> pd.DataFrame:
    """A named query (the pages' own) on the store, flushed first."""
    service.store.flush()
    return queries.read(query)


def by_caller(service: Service, pbx: str = "lab") -> dict[str, dict[str, object]]:
    calls = table(service, "SELECT * FROM queue_calls WHERE pbx = $pbx", pbx=pbx)
    assert not calls.duplicated(["queue", "call_id"]).any(), calls  # never written twice
    return {str(r["caller_num"]): r for r in calls.to_dict("records")}


def nothing_invented(rows: dict[str, dict[str, object]], lab: AsteriskLab) -> None:
    """Every stored call is a queue_log call; its outcome is queue_log's unless `unknown`."""
    qlog = {c.call_id: c for c in fold_calls(lab.queue_log_lines(), pbx="lab").calls}
    for caller, row in rows.items():
        assert row["call_id"] in qlog, (caller, row)
        truth = qlog[str(row["call_id"])]
        assert row["queue"] == truth.queue, caller
        assert row["outcome"] in ("unknown", truth.outcome), (caller, row, truth)


def sessions(service: Service, pbx: str = "lab") -> pd.DataFrame:
    """One line per connection_sessions id: its states and when it started and ended."""
    return table(
        service,
        "SELECT session_id, list(state ORDER BY rowid) AS states, min(started_at) AS started,"
        " max(ended_at) AS ended, arg_max(detail, rowid) AS detail FROM connection_sessions"
        " WHERE pbx = $pbx GROUP BY session_id ORDER BY session_id",
        pbx=pbx,
    )


def gap_between_logins(logins: pd.DataFrame, closed_because: str) -> float:
    """Seconds between the first session's end and the second's start, checking on the way
    that there were two sessions and that the first closed for the reason given."""
    connected = logins[logins["states"].map(lambda states: "connected" in list(states))]
    assert len(connected) == 2, logins
    first, second = connected.iloc[0], connected.iloc[1]
    assert list(first["states"]) == ["connected", "closed"], logins
    assert str(first["detail"]).startswith(closed_because), logins
    return float((second["started"] - first["ended"]).total_seconds())


def answered(service: Service) -> int:
    """How many answers (AgentConnect) the collector has seen."""
    return len(table(service, "FROM ring_attempts WHERE result = 'answered'"))


def joined(service: Service) -> set[str]:
    """Caller numbers the collector has seen join a queue."""
    return set(table(service, "SELECT caller_num FROM waiting_callers")["caller_num"])


async def ready(service: Service, sessions: int = 1, timeout: float = 20.0) -> None:
    collector = service.collectors[0]
    await until(
        lambda: collector.ready and collector.status.sessions >= sessions,
        timeout,
        f"login #{sessions} and its snapshot",
    )


async def pause(lab: AsteriskLab, *interfaces: str, reason: str = "", on: bool = True) -> None:
    verb = "pause" if on else "unpause"
    for interface in interfaces:
        tail = f" reason {reason}" if reason else ""
        await cli(lab, f"queue {verb} member {interface} queue support{tail}")
