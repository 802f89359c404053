"""Sign-in and reach: local users (argon2 hashes) and OIDC (st.login), three roles, each
person limited to their queues. Pages use `require`, `allowed_queues` and `only_allowed`;
`dashboard.py` uses `current_user` to route; `python -m auth hash` makes a password hash."""

from auth.gate import allowed_queues, current_user, only_allowed, require
from auth.roles import PAGE_ROLES, User

__all__ = ["PAGE_ROLES", "User", "allowed_queues", "current_user", "only_allowed", "require"]
