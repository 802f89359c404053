"""The real service process (`python dashboard.py`, what `make run` starts): pages, /healthz
and /metrics on loopback, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service_process import get, running_service


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    pbx = '[[pbx]]\nname = "down"\nport = 1\nusername = "u"\nsecret = "s3cr3t-x"\n'
    with running_service(tmp_path, pbx) as running:
        yield running


def test_healthz_metrics_and_page_are_served(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    status, body = get(base + "/healthz")
    health = json.loads(body)
    assert status == 200
    (pbx,) = health["pbx"]
    assert pbx["name"] == "down" and pbx["state"] in ("connecting", "unreachable")
    assert "s3cr3t-x" not in body
    status, text = get(base + "/metrics")
    assert status == 200 and 'callboard_pbx_up{pbx="down"} 0' in text
    status, page = get(base + "/")
    assert status == 200 and "<html" in page.lower()


def test_sigterm_stops_cleanly_and_logs_no_secret(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    _, proc = server
    time.sleep(1.5)  # let the collector fail once against the closed port
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "store flushed and checkpointed" in out
    assert "cannot reach 127.0.0.1:1" in out
    assert "s3cr3t-x" not in out


def test_without_a_pbx_the_demo_pbx_runs_and_is_labelled(tmp_path: Path) -> None:
    with running_service(tmp_path, "") as (base, _):
        deadline = time.monotonic() + 20
        while True:
            health = json.loads(get(base + "/healthz")[1])
            if health["pbx"] and health["pbx"][0]["state"] == "connected":
                break
            assert time.monotonic() < deadline, health
            time.sleep(0.2)
        assert health["pbx"][0]["name"] == "demo"
        assert health["pbx"][0]["snapshot_errors"] == 0  # it answers every login action
        assert health["message"].startswith("demo data")
        assert 'callboard_pbx_up{pbx="demo"} 1' in get(base + "/metrics")[1]


def test_wallboard_route_serves_the_board_and_says_when_stale(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    # The PBX "down" never connects: the board is served, marked stale, never as live.
    base, _ = server
    status, page = get(base + "/wallboard?queues=support")
    assert status == 200 and "<script>" in page and "/live/board" in page
    assert "cb-wall" in page and "4.5rem" in page
    deadline = time.monotonic() + 10
    body = ""
    while time.monotonic() < deadline and "Stale: not live." not in body:
        status, body = get(base + "/live/board?queues=support")
        time.sleep(0.2)
    assert status == 200 and "Stale: not live." in body and "PBX down is" in body
    assert "cb-stale" in body and "<script" not in body


def test_wallboard_route_is_refused_when_sign_in_is_on(tmp_path: Path) -> None:
    # /wallboard carries no session, so it cannot tell who asks: with sign-in on it refuses.
    from auth.passwords import hash_password

    users = f'[[user]]\nname = "a"\nrole = "admin"\npassword_hash = "{hash_password("pw-1")}"\n'
    with running_service(tmp_path, users) as (base, _):
        for path in ("/wallboard", "/live/board"):
            status, body = get(base + path)
            assert status == 403 and "/?wallboard=1" in body and "cb-tile" not in body
