"""The real service process (`python dashboard.py`, what `make run` starts): pages, /healthz
and /metrics on loopback, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    config = tmp_path / "callboard.toml"
    config.write_text(
        f'db_path = "{tmp_path / "cb.duckdb"}"\nport = {port}\n'
        '[[pbx]]\nname = "down"\nport = 1\nusername = "u"\nsecret = "s3cr3t-x"\n'
    )
    env = {**os.environ, "CALLBOARD_CONFIG": str(config)}
    proc = subprocess.Popen(
        [sys.executable, "dashboard.py"],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if get(base + "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    try:
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


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
