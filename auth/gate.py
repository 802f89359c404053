"""The Streamlit side of sign-in: who is signed in this session, the sign-in page, and the
checks every page makes (`require`, `allowed_queues`, `only_allowed`).

`dashboard.py` routes a session only to the pages its user's roles reach; each page calls
`require(<page>)` again (defence in depth: a page file reached some other way still refuses).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAuthError

import service
from auth.passwords import LockedOut, check
from auth.roles import OPEN_USER, User, from_claims, from_settings
from errors import CallboardError
from settings import Settings, load_settings

SESSION_KEY = "callboard_user"
log = logging.getLogger(__name__)
OPEN_NOTE = (
    "**No sign-in configured.** Anyone who can reach this address sees every page, so "
    "Callboard only listens on this machine (127.0.0.1). Add `[[user]]` or `[auth]` to "
    "`callboard.toml` before publishing it (README: Sign-in)."
)


def settings() -> Settings:
    """The running service's settings; without one (tests, a bare page), the config file's."""
    running = service.current()
    return running.settings if running is not None else load_settings()


def sign_in_configured(cfg: Settings) -> bool:
    return bool(cfg.users or cfg.oidc)


def current_user() -> User | None:
    """The person signed in to this session, OPEN_USER without sign-in, None if nobody yet."""
    cfg = settings()
    if not sign_in_configured(cfg):
        return OPEN_USER
    user = st.session_state.get(SESSION_KEY)
    if isinstance(user, User):
        return user
    if cfg.oidc is not None and st.user.get("is_logged_in") is True:
        return from_claims(st.user.to_dict(), cfg.oidc, cfg.users)
    return None


def require(page: str) -> User:
    """The signed-in user, if their roles reach `page`; otherwise the page stops here."""
    try:
        user = current_user()
    except CallboardError as e:
        st.error(f"{e.title}: {e}")
        st.stop()
    if user is None:
        st.error("Sign in first.")
        st.stop()
    if not user.may_see(page):
        st.error(f"{user.describe()} may not open this page.")
        st.stop()
    return user


def allowed_queues(selected: Iterable[str] | None = None) -> list[str] | None:
    """The `queues` parameter for a named query: the selection (None or empty: everything)
    cut to the signed-in user's queues. None means every queue, only for a user who may."""
    user = current_user()
    wanted = list(selected or [])
    if user is None:
        return []
    if user.queues is None:
        return wanted or None
    return [q for q in wanted if q in user.queues] if wanted else sorted(user.queues)


def only_allowed(frame: pd.DataFrame, column: str = "queue") -> pd.DataFrame:
    """The rows of a live frame whose queue the signed-in user may see."""
    user = current_user()
    if user is None:
        return frame.iloc[0:0]
    if user.queues is None:
        return frame
    return frame[frame[column].isin(user.queues)]


def sign_in_page() -> None:
    """The only page a session sees before it signs in: a password form and/or OIDC."""
    cfg = settings()
    st.title("Callboard — sign in")
    if cfg.oidc is not None and st.button(cfg.oidc.button, type="primary"):
        try:
            st.login()
        except StreamlitAuthError as e:  # Streamlit lacks the [auth] secrets dashboard.py gives
            st.error(f"Sign-in with the identity provider is not available: {e}")
    if cfg.users and any(u.password_hash for u in cfg.users):
        with st.form("sign-in"):
            name = st.text_input("Name", max_chars=200)
            password = st.text_input("Password", type="password", max_chars=1000)
            submitted = st.form_submit_button("Sign in")
        if submitted:
            _check_password(cfg, name, password)


def no_access_page() -> None:
    """For a signed-in person whose roles reach no page (e.g. an OIDC user without a role)."""
    user = current_user()
    who = user.describe() if user else "You"
    st.error(f"{who}: no page is open to you; ask an admin for a role.")


def _check_password(cfg: Settings, name: str, password: str) -> None:
    # The log names who tried (repr: a typed name cannot forge log lines), never a password.
    try:
        entry = check(name, password, cfg.users)
    except LockedOut as e:
        log.warning("sign-in refused for %r: locked for %.0f s", name, e.seconds)
        st.error(f"Too many failed sign-ins for this name; try again in {e.seconds:.0f} s.")
        return
    if entry is None:
        log.warning("sign-in failed for %r", name)
        st.error("Wrong name or password.")
        return
    log.info("%s signed in (%s)", entry.name, entry.role)
    st.session_state[SESSION_KEY] = from_settings(entry, "password")
    st.rerun()


def signed_in_sidebar(user: User) -> None:
    """Who is signed in, and the way out."""
    if user.via == "open":
        st.warning(OPEN_NOTE)
        return
    st.sidebar.caption(f"Signed in as **{user.describe()}**")
    if st.sidebar.button("Sign out"):
        st.session_state.pop(SESSION_KEY, None)
        if user.via == "oidc":
            st.logout()  # clears Streamlit's cookie and ends the provider's session
        else:
            st.rerun()
