"""Who may see what: roles, the pages each role reaches, and a person's queues.

Pure functions over settings and ID-token claims, so the rules are tested without Streamlit.
The one table that decides reach is `PAGE_ROLES`; a page missing from it is admin-only
(fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from settings import ALL_QUEUES, ROLES, OidcSettings, UserSettings

# Which roles reach each page (the key is the page's file stem under pages/).
PAGE_ROLES: dict[str, frozenset[str]] = {
    "realtime": frozenset({"supervisor", "admin"}),
    "history": frozenset({"manager", "admin"}),
    "pbx": frozenset({"admin"}),
}


@dataclass(frozen=True)
class User:
    """A signed-in person. `queues` None: every queue (admins, and ["*"] grants)."""

    name: str
    roles: frozenset[str]
    queues: frozenset[str] | None
    via: str  # "password", "oidc", or "open" (no sign-in configured)

    def may_see(self, page: str) -> bool:
        """Whether one of this person's roles reaches `page` (unknown pages: admins only)."""
        return bool(self.roles & PAGE_ROLES.get(page, frozenset({"admin"})))

    def may_see_queue(self, queue: str) -> bool:
        return self.queues is None or queue in self.queues

    def describe(self) -> str:
        roles = ", ".join(r for r in ROLES if r in self.roles) or "no role"
        return f"{self.name} ({roles})"


# Everyone is this user when no sign-in is configured (the service is then loopback-only).
OPEN_USER = User("local user", frozenset({"admin"}), None, "open")


def from_settings(entry: UserSettings, via: str) -> User:
    """The User a [[user]] entry grants."""
    everything = entry.role == "admin" or ALL_QUEUES in entry.queues
    return User(entry.name, frozenset({entry.role}), None if everything else
                frozenset(entry.queues), via)  # fmt: skip


def from_claims(
    claims: Mapping[str, object], oidc: OidcSettings, users: Iterable[UserSettings]
) -> User:
    """The User an OIDC ID token grants: a [[user]] entry with its (verified) email wins,
    else the roles and queues claims. Unknown role names are ignored; no role means no page."""
    email = str(claims.get("email") or "").lower()
    name = str(claims.get("name") or email or claims.get("sub") or "unknown")
    if email and claims.get("email_verified") is not False:
        for entry in users:
            if entry.email and entry.email == email:
                return from_settings(entry, "oidc")
    roles = frozenset(_names(claims.get(oidc.roles_claim))) & frozenset(ROLES)
    queues = _names(claims.get(oidc.queues_claim))
    everything = "admin" in roles or ALL_QUEUES in queues
    return User(name, roles, None if everything else frozenset(queues), "oidc")


def _names(value: object) -> list[str]:
    """A claim as a list of names: a JSON list, or one string split on commas/spaces."""
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    if isinstance(value, list | tuple):
        return [str(part) for part in value if isinstance(part, str) and part]
    return []
