"""Runs the real service (`python dashboard.py`, what `make run` starts) for a test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    """(status, body) of a GET, HTTP errors included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@contextmanager
def running_service(folder: Path, config: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start the service with `config` (TOML, without db_path/port) until /healthz answers;
    yield (base URL, process); kill it afterwards if the test has not stopped it."""
    port = free_port()
    path = folder / "callboard.toml"
    path.write_text(f'db_path = "{folder / "cb.duckdb"}"\nport = {port}\n{config}')
    env = {**os.environ, "CALLBOARD_CONFIG": str(path)}
    proc = subprocess.Popen([sys.executable, "dashboard.py"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
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
