"""What a person sees: a real headless browser (Debian's chromium, driven by playwright) on the
running service while a real Asterisk takes a call. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.asterisk import AsteriskLab
from tests.service_process import REPO, running_service

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags from the machine notes: no sandbox as root, and no background traffic off loopback.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        missing = "Debian's chromium is not installed (make test installs it)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(missing)  # in CI a missing browser is a failure, not a skip
        pytest.skip(missing)
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


def wait_for_tick(page: object, timeout_ms: int = 15_000) -> str:
    """Wait until the live board's stamp changes without a reload; return the new stamp."""
    stamp = page.locator('[data-k="stamp"]')  # type: ignore[attr-defined]
    stamp.wait_for(timeout=20_000)
    before = stamp.inner_text()
    page.wait_for_function(  # type: ignore[attr-defined]
        "b => document.querySelector('[data-k=stamp]')?.textContent !== b", arg=before,
        timeout=timeout_ms,
    )  # fmt: skip
    return str(stamp.inner_text())


def save(page: object, name: str, docs: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)  # type: ignore[attr-defined]
    if docs:  # the README shows the current ones
        shutil.copy(ARTIFACTS / name, REPO / "docs" / "screenshots" / name)


def test_demo_pbx_is_what_a_new_user_sees(tmp_path: Path, browser: object) -> None:
    # `make run` on a fresh machine: no PBX configured, so the built-in demo PBX runs.
    with running_service(tmp_path, "") as (base, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
        page.goto(base + "/")
        page.get_by_text("Demo data.").wait_for(timeout=20_000)
        page.locator('[data-k="waiting"][data-q="support"]').wait_for(timeout=20_000)
        # The live tiles update by themselves: two ticks, no reload.
        first = wait_for_tick(page)
        second = wait_for_tick(page)
        assert first != second and first.startswith("Live, updated")
        save(page, "demo-realtime.png", docs=True)


def test_wallboard_mode_is_large_selected_and_live(tmp_path: Path, browser: object) -> None:
    with running_service(tmp_path, "") as (base, _):
        page = browser.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        page.goto(base + "/?wallboard=1&queues=support,sales")
        page.locator('[data-k="waiting"][data-q="sales"]').wait_for(timeout=20_000)
        wait_for_tick(page)
        queues = page.locator(".cb-tile").evaluate_all("ts => ts.map(t => t.dataset.q)")
        assert sorted(queues) == ["sales", "support"]  # billing is not on this wall
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
        size = page.locator('[data-k="waiting"][data-q="support"]').evaluate(
            "e => parseFloat(getComputedStyle(e).fontSize)"
        )
        assert size >= 60  # 4.5rem: readable across a room
        save(page, "wallboard.png", docs=True)


def test_a_deep_link_opened_first_is_routed(tmp_path: Path, browser: object) -> None:
    # The first visitor after a start opens a bookmark: the router still runs (its menu, not
    # one made from the pages/ folder, which would bypass dashboard.py).
    with running_service(tmp_path, "") as (base, _):
        page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
        page.goto(base + "/history")
        page.get_by_text("Offered").first.wait_for(timeout=30_000)
        page.get_by_text("PBX console").first.wait_for(timeout=10_000)
        assert page.get_by_text("dashboard", exact=True).count() == 0


def test_history_page_of_the_demo(tmp_path: Path, browser: object) -> None:
    # The demo PBX loads its queue_log as history: the manager's page has a week to show.
    with running_service(tmp_path, "") as (base, _):
        page = browser.new_page(viewport={"width": 1500, "height": 1100})  # type: ignore[attr-defined]
        page.goto(base + "/")
        page.get_by_text("Demo data.").wait_for(timeout=20_000)
        page.get_by_role("link", name="History").click()
        page.get_by_text("Abandon rate").first.wait_for(timeout=20_000)
        # The three trend charts are drawn (plotly builds an SVG per chart).
        page.locator(".js-plotly-plot .main-svg").nth(2).wait_for(timeout=20_000)
        assert page.get_by_text("Traceback").count() == 0
        time.sleep(1.0)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "history.png"), full_page=True)
        shutil.copyfile(ARTIFACTS / "history.png", REPO / "docs" / "screenshots" / "history.png")
        # A tab reads its queries when opened: the agent table appears on the click.
        page.get_by_role("tab", name="Agents").click()
        page.get_by_text("occupancy_pct").first.wait_for(state="attached", timeout=20_000)
        page.screenshot(path=str(ARTIFACTS / "history-agents.png"), full_page=True)
        assert page.get_by_text("Traceback").count() == 0


def test_wall_screen_page_updates_itself(tmp_path: Path, browser: object) -> None:
    # /wallboard: no Streamlit session, the page polls the cached board every 2 s.
    with running_service(tmp_path, "") as (base, _):
        page = browser.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        page.goto(base + "/wallboard?queues=support,billing")
        page.locator('[data-k="waiting"][data-q="billing"]').wait_for(timeout=20_000)
        first = wait_for_tick(page)
        assert first != wait_for_tick(page)
        queues = page.locator(".cb-tile").evaluate_all("ts => ts.map(t => t.dataset.q)")
        assert sorted(queues) == ["billing", "support"]
        save(page, "wall-screen.png")


@pytest.mark.asterisk
def test_realtime_page_updates_live_while_a_call_is_answered(
    asterisk_lab: AsteriskLab, tmp_path: Path, browser: object
) -> None:
    lab = asterisk_lab
    config = (f'[[pbx]]\nname = "lab"\nport = {lab.ami_port}\nusername = "{lab.ami_username}"\n'
              f'secret = "{lab.ami_secret}"\nping_interval_s = 2\n')  # fmt: skip
    with running_service(tmp_path, config) as (base, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
        page.goto(base + "/")
        page.get_by_text("Alice").first.wait_for(timeout=20_000)
        lab.start_agent("1001", answer_after_s=1.0, talk_s=2.0)
        caller = lab.call("600", "71001")
        assert caller.wait(30) == 0, caller.diagnostics()
        # The fragment refreshes by itself every 2 s: no reload, the finished call appears.
        page.wait_for_function(
            "() => document.querySelector('[data-k=answered][data-q=support]')"
            "?.textContent === '1'",
            timeout=15_000,
        )
        save(page, "realtime.png", docs=True)
        page.get_by_text("PBX console").click()
        page.get_by_text("connected").first.wait_for(state="attached", timeout=10_000)
        time.sleep(0.5)
        save(page, "pbx-console.png")


def test_pbx_console_tests_a_connection_and_never_shows_the_secret(
    tmp_path: Path, browser: object
) -> None:
    # The demo PBX checks credentials as Asterisk does: the console's "Test" with a wrong
    # secret must say so in words and hand the secret back to nobody.
    wrong = "wr0ng-Br0wser-s3cret"
    with running_service(tmp_path, "") as (base, _):
        page = browser.new_page(viewport={"width": 1400, "height": 2300})  # type: ignore[attr-defined]
        page.goto(base + "/")
        page.get_by_text("PBX console").click()
        page.get_by_text("demo: connected").wait_for(timeout=30_000)
        described = page.get_by_text(re.compile(r"demo@127\.0\.0\.1:\d+")).first.inner_text()
        port = re.search(r"127\.0\.0\.1:(\d+)", described)
        assert port is not None, described
        page.get_by_label("Name", exact=True).fill("branch")
        page.get_by_label("Port", exact=True).fill(port.group(1))
        page.get_by_label("Username").fill("demo")
        page.get_by_label("Secret", exact=True).fill(wrong)
        page.get_by_role("button", name="Test").click()
        page.get_by_text("Test failed: authentication failed for user 'demo'").wait_for(
            timeout=15_000
        )
        assert page.get_by_label("Secret", exact=True).input_value() == ""
        assert wrong not in page.content()
        page.get_by_text("Data completeness").click()  # sessions, and where queue_log filled
        page.get_by_text("Last 10 AMI sessions").wait_for(timeout=10_000)
        time.sleep(1.0)
        save(page, "console.png", docs=True)
