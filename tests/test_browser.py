"""What a person sees: a real headless browser (Debian's chromium, driven by playwright) on the
running service while a real Asterisk takes a call. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
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


def test_demo_pbx_is_what_a_new_user_sees(tmp_path: Path, browser: object) -> None:
    # `make run` on a fresh machine: no PBX configured, so the built-in demo PBX runs.
    with running_service(tmp_path, "") as (base, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
        page.goto(base + "/")
        page.get_by_text("Demo data.").wait_for(timeout=20_000)
        page.get_by_text("answered").first.wait_for(state="attached", timeout=20_000)
        ARTIFACTS.mkdir(exist_ok=True)
        time.sleep(1.0)
        page.screenshot(path=str(ARTIFACTS / "demo-realtime.png"), full_page=True)


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
        # st.dataframe draws on a canvas; its cells exist (hidden) for accessibility.
        page.get_by_text("Alice").first.wait_for(state="attached", timeout=20_000)
        lab.start_agent("1001", answer_after_s=1.0, talk_s=2.0)
        caller = lab.call("600", "71001")
        assert caller.wait(30) == 0, caller.diagnostics()
        # The fragment refreshes by itself every 2 s: no reload, the finished call appears.
        page.get_by_text("Today's calls (1)").wait_for(timeout=15_000)
        page.get_by_text("answered").first.wait_for(state="attached", timeout=5_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "realtime.png"), full_page=True)
        page.get_by_text("PBX console").click()
        page.get_by_text("connected").first.wait_for(state="attached", timeout=10_000)
        time.sleep(0.5)
        page.screenshot(path=str(ARTIFACTS / "pbx-console.png"), full_page=True)
