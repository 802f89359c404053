"""OIDC through Streamlit's own st.login: the `[auth]` secrets Streamlit reads, built from
Callboard's settings at start and handed to `st.App(secrets=...)`, so no secrets.toml is
written and nothing secret is in git (the secrets come from the environment)."""

from __future__ import annotations

from streamlit.runtime.secrets import SecretsValue

from settings import OidcSettings


def streamlit_secrets(oidc: OidcSettings | None) -> dict[str, SecretsValue] | None:
    """The `secrets=` mapping for st.App: Streamlit's `[auth]` section, or None."""
    if oidc is None:
        return None
    return {
        "auth": {
            "redirect_uri": oidc.redirect_uri,
            "cookie_secret": oidc.cookie_secret,
            "client_id": oidc.client_id,
            "client_secret": oidc.client_secret,
            "server_metadata_url": oidc.server_metadata_url,
        }
    }
