"""Sign-in as a person does it: the real service, a real headless chromium (Debian's, through
playwright) and, for OIDC, a real OpenID Connect provider on 127.0.0.1 (oidc-provider-mock,
a working Authlib/Flask provider, not a stub of Streamlit's side). Screenshots go to
test-artifacts/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oidc_provider_mock
import pytest
import werkzeug.serving

from tests.auth.conftest import PASSWORD, users_toml
from tests.service_process import running_service
from tests.test_browser import ARTIFACTS

pytestmark = pytest.mark.browser

CLIENT_SECRET = "oidc-client-secret-7f3a"
COOKIE_SECRET = "cookie-secret-0123456789abcdef-5e1b"
SAM = {"email": "sam@example.com", "name": "Sam Super", "callboard_roles": ["supervisor"],
       "callboard_queues": ["support"]}  # fmt: skip


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real OIDC provider on 127.0.0.1 with two one-click users; yields its base URL."""
    # Plain http on loopback: Authlib refuses it unless told so (here and in the service).
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    users = [
        oidc_provider_mock.User(sub="sam", claims=SAM),
        oidc_provider_mock.User(sub="nobody", claims={"email": "nobody@example.com"}),
    ]
    app = oidc_provider_mock.app(user_claims=users, require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def oidc_config(provider: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CB_OIDC_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("CB_COOKIE_SECRET", COOKIE_SECRET)
    return (
        'demo = "on"\n[auth]\nclient_id = "callboard"\nclient_secret_env = "CB_OIDC_SECRET"\n'
        'cookie_secret_env = "CB_COOKIE_SECRET"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
        # Streamlit fills in {port} with the port it serves on.
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
    )


def test_oidc_sign_in_through_a_real_provider_reaches_only_the_supervisors_queues(
    tmp_path: Path, browser: Any, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_service(tmp_path, oidc_config(provider, monkeypatch)) as (base, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base + "/")
        page.get_by_text("Sign in with your organisation").click()
        # The provider's own authorization page, then back through /oauth2callback.
        page.get_by_role("button", name="sam", exact=True).click(timeout=20_000)
        page.get_by_text("Signed in as").wait_for(timeout=20_000)
        assert "Sam Super (supervisor)" in page.inner_text('[data-testid="stSidebar"]')
        page.locator(".cb-tile").first.wait_for(state="attached", timeout=20_000)
        time.sleep(2.5)  # a refresh or two of the live fragment
        tiles = set(page.locator(".cb-tile").evaluate_all("els => els.map(e => e.dataset.q)"))
        assert tiles == {"support"}  # the demo has support, sales and billing
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sign-in-oidc-supervisor.png"), full_page=True)
        # The supervisor cannot reach the admin page by typing its address either.
        page.goto(base + "/pbx")
        page.get_by_text("Signed in as").wait_for(timeout=20_000)
        assert "PBX console" not in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "sign-in-oidc-supervisor-pbx.png"), full_page=True)
        # Sign out (from a fresh page, no "page not found" dialog over it): back to sign-in.
        page.goto(base + "/")
        page.get_by_text("Signed in as").wait_for(timeout=20_000)
        page.get_by_role("button", name="Sign out").click()
        # Streamlit ends the provider's session too (its end_session page), then comes back.
        page.wait_for_url("**/oauth2/end_session**", timeout=60_000)
        page.get_by_role("button", name="End session").click(timeout=20_000)
        page.get_by_text("Sign in with your organisation").wait_for(timeout=30_000)


def test_oidc_user_without_a_role_sees_no_page(
    tmp_path: Path, browser: Any, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_service(tmp_path, oidc_config(provider, monkeypatch)) as (base, _):
        page = browser.new_page()
        page.goto(base + "/")
        page.get_by_text("Sign in with your organisation").click()
        page.get_by_role("button", name="nobody", exact=True).click(timeout=20_000)
        page.get_by_text("no page is open to you").wait_for(timeout=20_000)
        assert ".cb-tile" not in page.content()


def test_local_password_sign_in_in_the_browser(tmp_path: Path, browser: Any) -> None:
    with running_service(tmp_path, 'demo = "on"\n' + users_toml()) as (base, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base + "/")
        page.get_by_role("textbox", name="Name").fill("mia")
        page.get_by_role("textbox", name="Password").fill("wrong password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_text("Wrong name or password.").wait_for(timeout=20_000)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_text("Signed in as").wait_for(timeout=20_000)
        page.get_by_role("heading", name="History").wait_for(timeout=20_000)
        body = page.inner_text("body")
        assert "PBX console" not in body and "Realtime" not in body
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sign-in-local-manager.png"), full_page=True)
