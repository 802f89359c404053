"""Each role's reach through the real app (AppTest on dashboard.py): which pages the
navigation offers, what a page shows, and a page file opened by a role it is not for."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from auth.gate import SESSION_KEY
from auth.roles import User
from storage.store import Store
from tests.auth.conftest import PASSWORD
from tests.conftest import REPO
from tests.pages.board_html import cells, tiles

PAGE_FILES = {
    "realtime": "pages/realtime.py",
    "history": "pages/history.py",
    "pbx": "pages/pbx.py",
}


def app() -> AppTest:
    return AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=30)


def sign_in(name: str, password: str = PASSWORD) -> AppTest:
    at = app().run()
    assert [t.value for t in at.title] == ["Callboard — sign in"]
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click()
    return at.run()


def offered(at: AppTest) -> set[str]:
    """The pages this session's navigation registered (switch_page refuses the others)."""
    reachable = set()
    for key, path in PAGE_FILES.items():
        try:
            at.switch_page(path)
        except ValueError:
            continue
        reachable.add(key)
    return reachable


def shown_queues(at: AppTest) -> set[str]:
    """Queue names on the page: every table's queue column (the history page's total row left
    out) and the realtime board's tiles and queue cells."""
    names = {q for df in at.dataframe if "queue" in df.value for q in df.value["queue"]}
    for html in (str(getattr(e, "value", "")) for e in at.get("html")):
        if "cb-board" in html and "<style>" not in html:
            names |= set(tiles(html)) | {text for key, _, text in cells(html) if key == "queue"}
    return {q for q in names if not str(q).startswith("All chosen queues")}


@pytest.mark.usefixtures("users_config")
def test_nothing_but_the_sign_in_page_before_signing_in(two_queues: Store) -> None:
    at = app().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Callboard — sign in"]
    assert not at.dataframe
    assert offered(at) == set()


@pytest.mark.usefixtures("users_config")
def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="auth.gate")
    at = sign_in("sam\nfake log line", "wrong")
    assert "sign-in failed for 'sam\\nfake log line'" in caplog.text  # one line, quoted
    at = sign_in("sam", "wrong")
    assert [e.value for e in at.error] == ["Wrong name or password."]
    assert SESSION_KEY not in at.session_state
    assert [e.value for e in sign_in("nobody").error] == ["Wrong name or password."]
    for _ in range(4):
        sign_in("sam", "wrong")
    locked = sign_in("sam")  # the right password, but the name is locked now
    assert "Too many failed sign-ins" in locked.error[0].value


@pytest.mark.usefixtures("users_config")
@pytest.mark.parametrize(
    ("name", "pages", "queues"),
    [
        ("sam", {"realtime"}, {"support"}),
        ("mia", {"history"}, {"sales"}),
        ("ada", {"realtime", "history", "pbx"}, {"support", "sales"}),
    ],
)
def test_each_role_reaches_its_pages_and_queues(
    two_queues: Store, name: str, pages: set[str], queues: set[str]
) -> None:
    at = sign_in(name)
    assert not at.exception
    assert offered(at) == pages
    for page in sorted(pages - {"pbx"}):
        at.switch_page(PAGE_FILES[page]).run()
        assert not at.exception
        assert shown_queues(at) == queues
        if page == "history":  # the queue filter offers only the person's queues
            assert set(at.multiselect(key="history_queues").options) == queues


@pytest.mark.usefixtures("users_config")
@pytest.mark.parametrize(
    ("page", "user"),
    [
        ("pages/pbx.py", User("sam", frozenset({"supervisor"}), frozenset({"support"}), "t")),
        ("pages/realtime.py", User("mia", frozenset({"manager"}), frozenset({"sales"}), "t")),
        ("pages/history.py", User("sam", frozenset({"supervisor"}), frozenset({"support"}), "t")),
        ("pages/realtime.py", None),
    ],
)
def test_a_page_file_refuses_a_role_it_is_not_for(
    two_queues: Store, page: str, user: User | None
) -> None:
    # Defence in depth: the page itself checks, whatever routed the session to it.
    at = AppTest.from_file(str(REPO / page), default_timeout=30)
    if user is not None:
        at.session_state[SESSION_KEY] = user
    at.run()
    assert not at.exception
    assert not at.dataframe
    expected = "Sign in first." if user is None else f"{user.describe()} may not open this page."
    assert [e.value for e in at.error] == [expected]


def test_without_sign_in_configured_everyone_is_admin_with_a_banner(
    two_queues: Store, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALLBOARD_CONFIG", raising=False)
    at = app().run()
    assert not at.exception
    assert any("No sign-in configured" in w.value for w in at.warning)
    assert offered(at) == {"realtime", "history", "pbx"}
    assert shown_queues(at.switch_page("pages/realtime.py").run()) == {"support", "sales"}


OIDC = """
[auth]
client_id = "callboard"
client_secret = "oidc-client-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
cookie_secret = "0123456789abcdef0123456789abcdef"
"""


@pytest.mark.parametrize(
    ("claims", "pages", "queues"),
    [
        # Roles and queues from the ID token's claims.
        ({"callboard_roles": ["supervisor"], "callboard_queues": "sales"}, {"realtime"}, {"sales"}),
        ({"callboard_roles": "admin"}, {"realtime", "history", "pbx"}, {"support", "sales"}),
        # A [[user]] entry with the email wins over the claims.
        ({"email": "Sam@Example.com", "callboard_roles": ["admin"]}, {"realtime"}, {"support"}),
        ({"callboard_roles": ["root"]}, set(), set()),  # unknown role: nothing
    ],
)
def test_oidc_user_reach_comes_from_claims_or_the_email_mapping(
    two_queues: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    claims: dict[str, object],
    pages: set[str],
    queues: set[str],
) -> None:
    path = tmp_path / "oidc.toml"
    path.write_text(OIDC + '[[user]]\nname = "sam"\nrole = "supervisor"\nqueues = ["support"]\n'
                    'email = "sam@example.com"\n')  # fmt: skip
    monkeypatch.setenv("CALLBOARD_CONFIG", str(path))
    at = app()
    at.run()
    assert [b.label for b in at.button] == ["Sign in with your organisation"]
    assert not at.text_input  # no local password users: no form
    at.user = {"is_logged_in": True, "sub": "x1", **claims}
    at.run()
    assert not at.exception
    assert offered(at) == pages
    if "realtime" in pages:
        assert shown_queues(at.switch_page("pages/realtime.py").run()) == queues
    if not pages:
        assert "no page is open to you" in at.error[0].value


@pytest.mark.usefixtures("users_config")
@pytest.mark.parametrize(
    ("asked", "queues"),
    [("sales,support", {"support"}), ("sales", set()), ("'; DROP TABLE queue_calls; --", set())],
)
def test_queues_asked_for_in_the_url_are_cut_to_the_persons_own(
    two_queues: Store, asked: str, queues: set[str]
) -> None:
    # The wallboard URL (?queues=...) is typed by whoever holds the browser.
    at = sign_in("sam")
    at.query_params["queues"] = asked
    at.switch_page("pages/realtime.py").run()
    assert not at.exception
    assert shown_queues(at) == queues
