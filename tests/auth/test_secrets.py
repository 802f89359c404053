"""Secrets never leak: with AMI secrets, the OIDC client and cookie secrets and a local
user's password configured and used, none of them appears on any page (AppTest: every
element and widget value), in /healthz, /metrics or Streamlit's own endpoints, in the log of
a whole run, in the downloads (CSV, Parquet, Excel of every named query), or in the files
left on disk (the DuckDB file, its Parquet export, the demo's queue_log)."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import queries
import service
import storage.__main__ as storage_cli
from auth.gate import SESSION_KEY
from auth.passwords import hash_password
from auth.roles import OPEN_USER
from service import Service
from settings import PbxSettings, load_settings
from storage.store import connect
from tests.conftest import REPO
from tests.pages.test_pbx import rendered
from tests.service_process import get, running_service
from tests.service_thread import service_thread
from ui import downloads

AMI_SECRET = "ami-S3cret-9b1f4e"
CONSOLE_SECRET = "console-S3cret-77aa01"
CLIENT_SECRET = "oidc-client-S3cret-4c2d"
COOKIE_SECRET = "cookie-S3cret-0123456789abcdef0123"
PASSWORD = "user-passw0rd-S3cret-e51"
SECRETS = (AMI_SECRET, CONSOLE_SECRET, CLIENT_SECRET, COOKIE_SECRET, PASSWORD)
ENV = {"CB_AMI_SECRET": AMI_SECRET, "CB_OIDC_SECRET": CLIENT_SECRET,
       "CB_COOKIE_SECRET": COOKIE_SECRET}  # fmt: skip


def config(folder: Path) -> str:
    """Everything secret configured: a PBX (closed port), OIDC, a local admin."""
    return (
        f'demo = "on"\n[[pbx]]\nname = "down"\nport = 1\nusername = "cb"\n'
        'secret_env = "CB_AMI_SECRET"\nping_interval_s = 1\n'
        '[auth]\nclient_id = "callboard"\nclient_secret_env = "CB_OIDC_SECRET"\n'
        'cookie_secret_env = "CB_COOKIE_SECRET"\n'
        'server_metadata_url = "http://127.0.0.1:1/.well-known/openid-configuration"\n'
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'[[user]]\nname = "ada"\nrole = "admin"\npassword_hash = "{hash_password(PASSWORD)}"\n'
    )


def leaks(text: str | bytes) -> list[str]:
    blob = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    return [s for s in SECRETS if s.encode() in blob]


def state(running: Service, name: str) -> str:
    return next(c.status.state for c in running.collectors if c.pbx.name == name)


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def running(tmp_path: Path, secret_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    path = tmp_path / "callboard.toml"
    path.write_text(f'db_path = "{tmp_path / "cb.duckdb"}"\nflush_interval_s = 0.05\n'
                    + config(tmp_path))  # fmt: skip
    monkeypatch.setenv("CALLBOARD_CONFIG", str(path))
    with service_thread(load_settings()) as service:
        yield service


@pytest.mark.usefixtures("secret_env")
def test_no_secret_on_any_page_in_the_log_the_downloads_or_the_store(
    running: Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    demo = next(c for c in running.collectors if c.pbx.name != "down")
    # A console PBX with a wrong secret: the secret is sent in a refused login.
    running.call(running.apply_pbx(PbxSettings(
        name="wrong", port=demo.pbx.port, username="demo", secret=CONSOLE_SECRET,
        ping_interval_s=1)))  # fmt: skip
    deadline = time.monotonic() + 20
    while state(running, "wrong") != "auth_failed" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert state(running, "wrong") == "auth_failed"
    # Sign-in with the password, then every page as the admin.
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=30).run()
    at.text_input[0].input("ada")
    at.text_input[1].input(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    assert not at.exception and SESSION_KEY in at.session_state
    shown = [rendered(at)]
    for page in ("realtime", "history", "pbx"):
        one = AppTest.from_file(str(REPO / "pages" / f"{page}.py"), default_timeout=30)
        one.session_state[SESSION_KEY] = OPEN_USER
        one.run()
        assert not one.exception, page
        shown.append(rendered(one))
    # The pages did render in full (the PBXs named, the console's tables) ...
    assert "Signed in as" in shown[0] and "History" in shown[2]
    assert "down" in shown[3] and "wrong" in shown[3] and "authentication failed" in shown[3]
    # ... and no secret is among what they sent.
    assert all(not leaks(text) for text in shown), [leaks(t) for t in shown]
    # Every named query's rows, as the history page's downloads make them.
    cursor = running.store.cursor()
    try:
        for name in queries.names():
            frame = queries.run(name, cursor)
            for make in (downloads.to_csv, downloads.to_parquet, downloads.to_xlsx):
                assert not leaks(make(frame)), (name, make.__name__)
    finally:
        cursor.close()
    assert not leaks(str(running.health())) and not leaks(service.metrics_text(running))
    assert not leaks("\n".join(r.getMessage() for r in caplog.records))
    assert not leaks(caplog.text)


def test_no_secret_over_http_or_in_the_log_of_the_real_service(
    tmp_path: Path, secret_env: None
) -> None:
    with running_service(tmp_path, config(tmp_path)) as (base, proc):
        time.sleep(2.0)  # the closed-port PBX fails a few times; the demo collects
        bodies = [get(base + path)[1] for path in (
            "/healthz", "/metrics", "/", "/_stcore/health", "/_stcore/host-config",
            "/auth/login", "/oauth2callback?code=x&state=y", "/pbx", "/history",
            "/wallboard", "/live/board",
        )]  # fmt: skip
        # The session-less wall-screen routes refuse while sign-in is on (live/web.py).
        assert get(base + "/live/board")[0] == 403 and "cb-tile" not in bodies[-1]
        assert '"name": "down"' in bodies[0].replace('":"', '": "') and "down" in bodies[1]
        assert all(not leaks(body) for body in bodies), [leaks(b) for b in bodies]
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, log[-2000:]
    assert "cannot reach 127.0.0.1:1" in log  # the secret's PBX was tried
    assert not leaks(log)
    # The Parquet export of everything collected (today included), then every file on disk:
    # the store, the export, the demo's queue_log.
    until = (date.today() + timedelta(days=2)).isoformat()
    argv = ["export", "--db", str(tmp_path / "cb.duckdb"), "--dir", str(tmp_path / "export"),
            "--since", "2000-01-01", "--until", until]  # fmt: skip
    assert storage_cli.main(argv) == 0
    assert list((tmp_path / "export").rglob("*.parquet"))
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "callboard.toml":
            assert not leaks(path.read_bytes()), path
    con = connect(tmp_path / "cb.duckdb", read_only=True)
    try:  # the store was written (so searching its bytes meant something)
        assert con.execute("SELECT count(*) FROM connection_sessions").fetchone() != (0,)
    finally:
        con.close()
