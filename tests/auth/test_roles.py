"""The reach rules, without Streamlit: PAGE_ROLES, [[user]] entries and OIDC claims."""

from __future__ import annotations

import pytest

from auth.roles import OPEN_USER, User, from_claims, from_settings
from settings import OidcSettings, UserSettings

OIDC = OidcSettings("cb", "https://id/.well-known", "https://cb/oauth2callback",
                    roles_claim="groups", queues_claim="queues")  # fmt: skip
ENTRIES = (UserSettings("Ann", "manager", ("sales",), "ann@example.com"),)


@pytest.mark.parametrize(
    ("role", "pages"),
    [
        ("supervisor", {"realtime"}),
        ("manager", {"history"}),
        ("admin", {"realtime", "history", "pbx", "some-future-page"}),
    ],
)
def test_pages_by_role_and_unknown_pages_are_admin_only(role: str, pages: set[str]) -> None:
    user = User("x", frozenset({role}), frozenset({"q"}), "t")
    candidates = {"realtime", "history", "pbx", "some-future-page"}
    assert {p for p in candidates if user.may_see(p)} == pages


def test_settings_entry_queues_and_the_star() -> None:
    sup = from_settings(UserSettings("s", "supervisor", ("a", "b")), "password")
    assert sup.queues == {"a", "b"} and sup.may_see_queue("a") and not sup.may_see_queue("c")
    assert from_settings(UserSettings("s", "manager", ("*",)), "password").queues is None
    assert from_settings(UserSettings("s", "admin", ("a",)), "password").queues is None
    assert OPEN_USER.queues is None and OPEN_USER.may_see("pbx")


@pytest.mark.parametrize(
    ("claims", "roles", "queues"),
    [
        ({"groups": ["supervisor", "other"], "queues": ["a", "b"]}, {"supervisor"}, {"a", "b"}),
        ({"groups": "manager, supervisor", "queues": "a b"}, {"manager", "supervisor"}, {"a", "b"}),
        ({"groups": "manager", "queues": ["*"]}, {"manager"}, None),
        ({"groups": ["admin"]}, {"admin"}, None),
        ({"groups": {"admin": True}, "queues": 7}, set(), set()),  # malformed claims: nothing
        ({}, set(), set()),
        # The email mapping wins over claims, case-insensitively ...
        ({"email": "ANN@example.com", "groups": ["admin"]}, {"manager"}, {"sales"}),
        # ... but not for an email the provider says is unverified.
        ({"email": "ann@example.com", "email_verified": False}, set(), set()),
    ],
)
def test_oidc_claims(claims: dict[str, object], roles: set[str], queues: set[str] | None) -> None:
    user = from_claims(claims, OIDC, ENTRIES)
    assert user.roles == roles and user.via == "oidc"
    assert user.queues == (None if queues is None else frozenset(queues))
