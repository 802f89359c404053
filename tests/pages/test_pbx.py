"""The PBX console, run by Streamlit's AppTest against a running Service (its real DuckDB
file, the built-in demo PBX speaking AMI on loopback and checking credentials)."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import connections
import queries
from service import Service
from settings import PbxSettings, Settings
from tests.conftest import REPO
from tests.service_thread import service_thread

WRONG = "wr0ng-s3cret-Zq"
PAGE = str(REPO / "pages" / "pbx.py")


def wait_for(check: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Service]:
    settings = Settings(db_path=tmp_path / "cb.duckdb", flush_interval_s=0.05, demo="on")
    with service_thread(settings) as running:
        (demo,) = running.collectors
        wait_for(lambda: demo.ready)
        yield running


def page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=30).run()


def rendered(at: AppTest) -> str:
    """Everything the page sent to the browser, as text (every element's protobuf)."""
    out: list[str] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        children = getattr(node, "children", {})
        for child in children.values() if isinstance(children, dict) else children:
            walk(child)

    walk(at._tree)
    out.append(str(at._tree.get_widget_states()))  # every widget's value,
    out += [str(w.value) for w in at.text_input]  # those of a form's inputs included
    return "\n".join(out)


def fill(at: AppTest, suffix: str, **values: str) -> None:
    for field, value in values.items():
        at.text_input(key=f"pbx-{field}{suffix}").input(value)


def test_console_shows_the_link_and_what_the_pbx_says(running: Service) -> None:
    (demo,) = running.collectors
    at = page()
    assert not at.exception
    assert [h.value for h in at.subheader] == ["demo: connected"]
    metrics = {m.label: m.value for m in at.metric}
    facts = at.markdown[0].value
    assert f"**Asterisk** {demo.status.asterisk_version} · **up for** 15 min" in facts
    assert f"**current calls** {demo.status.current_calls}" in facts
    assert metrics["Reconnects"] == "0" and metrics["Failures"] == "0"
    frames = [df.value for df in at.dataframe]
    contacts, endpoints, members, waiting, sessions, hours = frames
    assert len(contacts) == demo.status.contacts and len(endpoints) == demo.status.endpoints
    live = queries.read("live_members")
    assert sorted(members["agent"]) == sorted(live.loc[live["pbx"] == "demo", "agent"])
    assert list(sessions["state"]) == ["connected"]
    assert {"queue", "call_id", "wait_s"} <= set(waiting.columns)  # callers come and go
    # The demo's history came from its queue_log: the hours before the login are "filled".
    assert hours["filled"].sum() > 0 and list(hours["bucket_start"]) == sorted(
        hours["bucket_start"], reverse=True
    )
    day = queries.read("completeness", start=datetime.now(UTC) - timedelta(hours=24))
    assert hours["filled"].sum() == day.loc[day["pbx"] == "demo", "filled"].sum()
    assert "rows written" in at.caption[0].value


def test_wrong_secret_is_reported_in_words_and_never_shown(running: Service) -> None:
    (demo,) = running.collectors
    at = page()
    fill(at, ":new", name="other", port=str(demo.pbx.port), username="demo", secret=WRONG)
    assert WRONG in rendered(at)  # typed, not sent yet: the check below can see a secret
    at.button(key="pbx-test").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Test failed: authentication failed for user 'demo': check the username and secret "
        "in manager.conf"
    ]
    assert at.text_input(key="pbx-secret:new").value == ""
    page_text = rendered(at)
    assert "authentication failed for user" in page_text  # the walk reads the elements
    assert WRONG not in page_text
    fill(at, ":new", port="99999", secret=WRONG)
    at.button(key="pbx-save").click().run()
    assert [e.value for e in at.error] == [
        "Configuration error: pbx.port: must be an integer between 1 and 65535, got '99999'"
    ]
    assert "other" not in running.console_pbx and WRONG not in rendered(at)


def test_a_pbx_added_on_the_page_is_collected_without_a_restart(running: Service) -> None:
    (demo,) = running.collectors
    at = page()
    fill(at, ":new", name="branch", port=str(demo.pbx.port), username="demo", secret="demo")
    at.button(key="pbx-test").click().run()
    assert at.success[0].value.startswith("Test passed: logged in to 127.0.0.1:")
    fill(at, ":new", secret="demo")  # the test emptied it
    at.button(key="pbx-save").click().run()
    assert not at.exception and at.success[0].value.startswith("Saved branch (demo@127.0.0.1")
    branch = next(c for c in running.collectors if c.pbx.name == "branch")
    wait_for(lambda: branch.ready)
    wait_for(lambda: len(queries.read("pbx_sessions", pbx="branch", limit=5)) == 1)
    # Kept for the next start, readable by the service's user only.
    path = connections.connections_file(running.settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert connections.load(path) == (branch.pbx,)
    at.run()
    assert "branch: connected" in [h.value for h in at.subheader]
    assert at.selectbox(key="pbx-choice").value == "branch"
    assert at.text_input(key="pbx-secretbranch").value == ""  # write-only: never filled in
    # Edit with a blank secret: the stored one is kept, the collector restarted.
    fill(at, "branch", ping_interval_s="5")
    at.button(key="pbx-save").click().run()
    wait_for(lambda: running.console_pbx["branch"].ping_interval_s == 5.0)
    assert running.console_pbx["branch"].secret == "demo"
    restarted = next(c for c in running.collectors if c.pbx.name == "branch")
    assert restarted is not branch
    wait_for(lambda: restarted.ready)
    at.button(key="pbx-remove").click().run()
    assert not at.exception and [c.pbx.name for c in running.collectors] == ["demo"]
    assert connections.load(path) == ()


def test_a_pbx_from_the_settings_file_is_read_only(tmp_path: Path) -> None:
    down = PbxSettings(name="main", port=1, username="cb", secret="x")
    settings = Settings(db_path=tmp_path / "cb.duckdb", pbx=(down,), demo="off")
    with service_thread(settings) as running:
        at = page()
        assert not at.exception
        assert any("read-only here: main" in c.value for c in at.caption)
        assert at.subheader[0].value.startswith("main: ")
        fill(at, ":new", name="main", username="cb", secret="y")
        at.button(key="pbx-save").click().run()
        assert "is defined in defaults: edit it there" in at.error[-1].value
        assert running.console_pbx == {}


def test_a_store_that_cannot_write_says_why(
    running: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real failures (full disk, read-only folder) are proven in tests/storage; here the
    # store's health is replaced (the live writer would clear a set error) to check the words.
    real = running.store.health()
    failing = {**real, "last_error": "disk full: No space left", "failing_for_s": 75.0}
    monkeypatch.setattr(running.store, "health", lambda: failing)
    at = page()
    assert not at.exception
    assert at.error[0].value.startswith(
        f"Store {running.store.path} cannot write (for 1 min 15 s): disk full: No space left."
    )
