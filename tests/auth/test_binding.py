"""Where the real service listens: 127.0.0.1 by default; a public address only with sign-in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.service_process import REPO, free_port, get, running_service


def listening(port: int) -> set[str]:
    """Local addresses in LISTEN state on `port`, read from the kernel's socket tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_the_service_listens_on_loopback_only_by_default(tmp_path: Path) -> None:
    with running_service(tmp_path, 'demo = "off"\n') as (base, _):
        assert get(base + "/healthz")[0] == 200
        port = int(base.rsplit(":", 1)[1])
        assert listening(port) == {"0100007F"}  # 127.0.0.1, and nothing else


def test_a_public_host_without_sign_in_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "callboard.toml"
    path.write_text(f'host = "0.0.0.0"\nport = {free_port()}\ndemo = "off"\n'
                    f'db_path = "{tmp_path / "cb.duckdb"}"\n')  # fmt: skip
    env = {**os.environ, "CALLBOARD_CONFIG": str(path)}
    done = subprocess.run([sys.executable, "dashboard.py"], cwd=REPO, env=env, timeout=60,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 1
    assert "error: host: '0.0.0.0' would publish the pages to the network" in done.stderr
    assert "Traceback" not in done.stderr
