"""Callboard's settings: one frozen, typed object loaded from TOML plus environment overrides.

Every field has a default and a help line (`FIELDS` below is the declarative table, as datasette
keeps its settings); `tests/test_settings.py` fails if one is missing from
`callboard.example.toml`. A bad value raises `ConfigError` naming the field, e.g.
`pbx[0].port: must be an integer between 1 and 65535, got 'abc'`.

Environment overrides (they win over the file):
- `CALLBOARD_CONFIG`: path of the TOML file (default `callboard.toml` if it exists).
- `CALLBOARD_<FIELD>` for each top-level field, e.g. `CALLBOARD_DB_PATH`, `CALLBOARD_HOST`.
- A PBX's secret may be given as `secret_env = "NAME"`: the secret is read from `$NAME`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from errors import ConfigError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class PbxSettings:
    """One Asterisk PBX reached over AMI."""

    name: str
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = ""
    secret: str = field(default="", repr=False)  # never printed: repr=False
    ping_interval_s: float = 10.0
    queue_log_path: Path | None = None  # followed when set (storage/follower.py)

    def describe(self) -> str:
        """A safe one-line description (no secret) for logs and pages."""
        return f"{self.name} ({self.username}@{self.host}:{self.port})"


@dataclass(frozen=True)
class AgentSettings:
    """Who a queue member is: a display name and the omnichannel platform's username."""

    interface: str
    name: str | None = None
    username: str | None = None
    pbx: str | None = None  # None: this interface on every PBX


ROLES = ("supervisor", "manager", "admin")
ALL_QUEUES = "*"


@dataclass(frozen=True)
class UserSettings:
    """A person allowed in: a local password user, or an OIDC user mapped by email."""

    name: str
    role: str
    queues: tuple[str, ...] = ()  # ("*",): every queue
    email: str = ""
    password_hash: str = field(default="", repr=False)


@dataclass(frozen=True)
class OidcSettings:
    """Sign-in through an OpenID Connect provider (Streamlit's st.login)."""

    client_id: str
    server_metadata_url: str
    redirect_uri: str
    client_secret: str = field(default="", repr=False)
    cookie_secret: str = field(default="", repr=False)
    roles_claim: str = "callboard_roles"
    queues_claim: str = "callboard_queues"
    button: str = "Sign in with your organisation"


@dataclass(frozen=True)
class QueueSettings:
    """A queue's service-level targets, overriding what its PBX says (docs/kpis.md)."""

    name: str
    pbx: str | None = None  # None: this queue name on every PBX
    sl_threshold_s: float | None = None  # None: the queue's servicelevel, else 20 s
    sl_target_pct: float | None = None  # None: 80 %


@dataclass(frozen=True)
class Settings:
    """The whole service's configuration; see FIELDS for help on each field."""

    db_path: Path = Path("data/callboard.duckdb")
    host: str = "127.0.0.1"
    port: int = 8501
    flush_interval_s: float = 0.25
    store_buffer_rows: int = 200_000
    poll_interval_s: float = 60.0
    queue_log_poll_s: float = 2.0
    raw_retention_days: float = 30.0
    demo: str = "auto"
    timezone: str = "UTC"
    asa_target_s: float = 20.0
    abandon_target_pct: float = 5.0
    live_refresh_s: float = 1.0
    pause_alert_s: float = 900.0
    wrapup_alert_s: float = 120.0
    wrapup_reasons: str = "wrap-up,wrapup,acw"
    erlang_window_s: float = 3600.0
    interval_min: int = 30
    export: bool = True
    export_dir: Path | None = None  # None: `export` beside db_path
    export_every_min: float = 60.0
    export_grace_min: float = 60.0
    pbx: tuple[PbxSettings, ...] = ()
    agents: tuple[AgentSettings, ...] = ()
    queues: tuple[QueueSettings, ...] = ()
    users: tuple[UserSettings, ...] = ()
    oidc: OidcSettings | None = None
    source: str = "defaults"  # where the settings came from, for the admin page

    @property
    def export_path(self) -> Path:
        """The folder of the Parquet exports: `export_dir`, else `export` beside the store."""
        return self.export_dir or self.db_path.parent / "export"


# (name, help) of each top-level field; the PBX fields follow in PBX_FIELDS.
FIELDS: tuple[tuple[str, str], ...] = (
    ("db_path", "DuckDB file the service owns (only this process writes it)."),
    ("host", "Address the web service binds to; loopback unless you publish it."),
    ("port", "Port of the web service."),
    ("flush_interval_s", "Longest time a received row waits before it is written."),
    (
        "store_buffer_rows",
        "Most rows held while the database cannot be written (disk full); "
        "past it new rows are dropped, counted and recorded in store_gaps.",
    ),
    ("poll_interval_s", "Seconds between QueueStatus reconciliation polls."),
    ("queue_log_poll_s", "Seconds between two reads of a followed queue_log (queue_log_path)."),
    ("raw_retention_days", "Days raw AMI events are kept (0: forever); call facts are kept."),
    ("demo", "Built-in demo PBX: auto (only when no [[pbx]] is configured), on, or off."),
    ("timezone", "IANA time zone of the history page's days, hours and intervals."),
    ("asa_target_s", "Target average speed of answer (s): the line on the history ASA chart."),
    ("abandon_target_pct", "Target abandon rate (%): the line on the history abandon chart."),
    ("live_refresh_s", "Seconds between live snapshots (one for every open realtime page)."),
    ("pause_alert_s", "An agent paused longer than this is shown in the alert colour."),
    ("wrapup_alert_s", "An agent in wrap-up longer than this is shown in the alert colour."),
    ("wrapup_reasons", "Pause reasons that mean wrap-up (after-call work), comma-separated."),
    ("erlang_window_s", "Seconds of recent calls that give Erlang C its arrival rate and AHT."),
    ("interval_min", "Length of the interval the service level is projected to: 15, 30, 60."),
    ("export", "Export closed days to Parquet for notebooks and other tools (true or false)."),
    ("export_dir", "Folder of the Parquet exports (default: `export` beside db_path)."),
    ("export_every_min", "Minutes between exports (each writes only days that changed)."),
    ("export_grace_min", "Minutes a replaced export file stays for readers that opened it."),
)
PBX_FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "Short unique name; every row is tagged with it."),
    ("host", "AMI host."),
    ("port", "AMI port (manager.conf `port`)."),
    ("username", "AMI user (manager.conf section name)."),
    ("secret", "AMI secret. Prefer secret_env so it stays out of the file."),
    ("secret_env", "Name of an environment variable holding the secret."),
    ("ping_interval_s", "Seconds between AMI pings; a silent peer is dropped after two."),
    (
        "queue_log_path",
        "Asterisk's queue_log, if readable here: followed to fill what AMI missed (optional).",
    ),
)
AGENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("interface", "The member interface, as queues.conf or QueueAdd names it (PJSIP/1001)."),
    ("name", "Display name shown on the pages (else the queue member name)."),
    ("username", "The omnichannel platform's username linked to this SIP extension."),
    ("pbx", "Only on this PBX (default: the interface on every PBX)."),
)

QUEUE_FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "The queue's name, as queues.conf names it."),
    ("pbx", "Only on this PBX (default: this queue name on every PBX)."),
    (
        "sl_threshold_s",
        "Service-level threshold in seconds (default: the queue's servicelevel, else 20).",
    ),
    ("sl_target_pct", "Service-level target in percent the pages compare with (default 80)."),
)

USER_FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "Sign-in name (local users) or a label (OIDC users)."),
    ("role", "supervisor (realtime), manager (history) or admin (everything, PBX console)."),
    ("queues", 'Queues this person may see; ["*"] for every queue (admins see all anyway).'),
    ("email", "OIDC users: the email claim this entry gives its role and queues to."),
    ("password_hash", "Local users: an argon2 hash from `python -m auth hash`, never a password."),
)
AUTH_FIELDS: tuple[tuple[str, str], ...] = (
    ("client_id", "OIDC client id registered with the identity provider."),
    ("client_secret", "OIDC client secret. Prefer client_secret_env."),
    ("client_secret_env", "Name of an environment variable holding the client secret."),
    ("server_metadata_url", "The provider's .well-known/openid-configuration URL."),
    ("redirect_uri", "This service's public URL + /oauth2callback, as registered."),
    ("cookie_secret", "Key signing the sign-in cookie. Prefer cookie_secret_env."),
    ("cookie_secret_env", "Name of an environment variable holding the cookie key."),
    ("roles_claim", "ID-token claim with the person's roles (list or comma-separated)."),
    ("queues_claim", "ID-token claim with the person's queues (list or comma-separated)."),
    ("button", "Label of the sign-in button."),
)


def valid_name(name: str) -> bool:
    """Whether `name` may name a PBX (the rule of [[pbx]] name)."""
    return bool(_NAME_RE.match(name))


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load the TOML file (if any) and apply environment overrides; validate everything."""
    env = os.environ if env is None else env
    if path is None and env.get("CALLBOARD_CONFIG"):
        path = Path(env["CALLBOARD_CONFIG"])
    if path is None and Path("callboard.toml").exists():
        path = Path("callboard.toml")
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        data = _read_toml(path)
        source = str(path)
    for name, _ in FIELDS:
        value = env.get(f"CALLBOARD_{name.upper()}")
        if value is not None:
            data[name] = value
    return _build(data, env, source)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None


def _build(data: dict[str, Any], env: Mapping[str, str], source: str) -> Settings:
    known = {name for name, _ in FIELDS} | {"pbx", "agent", "queue", "user", "auth"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown setting (known: {', '.join(sorted(known))})")
    pbxs = tuple(build_pbx(p, env, where) for where, p in _tables(data.get("pbx", []), "pbx"))
    names = [p.name for p in pbxs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"pbx: name {dupes[0]!r} is used twice; names must be unique")
    users = _build_users(data.get("user", []))
    oidc = _build_oidc(data["auth"], env) if "auth" in data else None
    host = _text(data, "host", Settings.host)
    if not (users or oidc) and not _is_loopback(host):
        raise ConfigError(
            f"host: {host!r} would publish the pages to the network with no sign-in; add "
            '[[user]] or [auth] (README: Sign-in), or keep host = "127.0.0.1"'
        )
    return Settings(
        db_path=Path(_text(data, "db_path", str(Settings.db_path))),
        host=host,
        port=_int(data, "port", Settings.port, 1, 65535),
        flush_interval_s=_float(data, "flush_interval_s", Settings.flush_interval_s, 0.01, 5.0),
        store_buffer_rows=_int(
            data, "store_buffer_rows", Settings.store_buffer_rows, 1000, 100_000_000
        ),
        poll_interval_s=_float(data, "poll_interval_s", Settings.poll_interval_s, 1.0, 86400.0),
        queue_log_poll_s=_float(data, "queue_log_poll_s", Settings.queue_log_poll_s, 0.1, 3600),
        raw_retention_days=_float(
            data, "raw_retention_days", Settings.raw_retention_days, 0, 36500
        ),
        demo=_choice(data, "demo", Settings.demo, ("auto", "on", "off")),
        timezone=_zone(data, "timezone", Settings.timezone),
        asa_target_s=_float(data, "asa_target_s", Settings.asa_target_s, 0, 3600),
        abandon_target_pct=_float(data, "abandon_target_pct", Settings.abandon_target_pct, 0, 100),
        live_refresh_s=_float(data, "live_refresh_s", Settings.live_refresh_s, 0.2, 60.0),
        pause_alert_s=_float(data, "pause_alert_s", Settings.pause_alert_s, 1.0, 86400.0),
        wrapup_alert_s=_float(data, "wrapup_alert_s", Settings.wrapup_alert_s, 1.0, 86400.0),
        wrapup_reasons=_text(data, "wrapup_reasons", Settings.wrapup_reasons),
        erlang_window_s=_float(data, "erlang_window_s", Settings.erlang_window_s, 60.0, 86400.0),
        interval_min=_interval_min(data),
        export=_bool(data, "export", Settings.export),
        export_dir=Path(folder) if (folder := _text(data, "export_dir", "")) else None,
        export_every_min=_float(data, "export_every_min", Settings.export_every_min, 1, 10080),
        export_grace_min=_float(data, "export_grace_min", Settings.export_grace_min, 0, 10080),
        pbx=pbxs,
        agents=_build_agents(data.get("agent", [])),
        queues=_build_queues(data.get("queue", [])),
        users=users,
        oidc=oidc,
        source=source,
    )


def _tables(raw: Any, kind: str) -> list[tuple[str, Any]]:
    """A `[[kind]]` array of tables as (where, entry) pairs; anything else is refused."""
    if not isinstance(raw, list):
        raise ConfigError(f"{kind}: must be a list of [[{kind}]] tables")
    return [(f"{kind}[{i}]", entry) for i, entry in enumerate(raw)]


def _check_table(
    entry: Any, where: str, fields: tuple[tuple[str, str], ...], expected: str
) -> dict[str, Any]:
    """`entry` as a table of known `fields` only; the error names the first unknown key."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table with {expected}")
    unknown = sorted(set(entry) - {name for name, _ in fields})
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown setting")
    return entry


def _build_agents(raw: Any) -> tuple[AgentSettings, ...]:
    agents = []
    for where, raw_entry in _tables(raw, "agent"):
        entry = _check_table(raw_entry, where, AGENT_FIELDS, "interface, name, username")
        interface = _text(entry, "interface", "", where)
        if "/" not in interface:
            raise ConfigError(f"{where}.interface: expected TECH/RESOURCE like PJSIP/1001")
        agents.append(AgentSettings(
            interface=interface,
            name=_text(entry, "name", "", where) or None,
            username=_text(entry, "username", "", where) or None,
            pbx=_text(entry, "pbx", "", where) or None,
        ))  # fmt: skip
    return tuple(agents)


def _build_queues(raw: Any) -> tuple[QueueSettings, ...]:
    queues: list[QueueSettings] = []
    for where, raw_entry in _tables(raw, "queue"):
        entry = _check_table(raw_entry, where, QUEUE_FIELDS, "name, sl_threshold_s, sl_target_pct")
        name = _text(entry, "name", "", where)
        if not name:
            raise ConfigError(f"{where}.name: required (the queue's name in queues.conf)")
        queue = QueueSettings(
            name=name,
            pbx=_text(entry, "pbx", "", where) or None,
            sl_threshold_s=_optional(entry, "sl_threshold_s", 86400, where),
            sl_target_pct=_optional(entry, "sl_target_pct", 100, where),
        )
        if any((q.pbx, q.name) == (queue.pbx, queue.name) for q in queues):
            on = f" on PBX {queue.pbx!r}" if queue.pbx else ""
            raise ConfigError(f"{where}: queue {name!r}{on} is configured twice")
        queues.append(queue)
    return tuple(queues)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: only "localhost" is known to stay on this machine
        return False


def _build_users(raw: Any) -> tuple[UserSettings, ...]:
    users = [_build_user(where, entry) for where, entry in _tables(raw, "user")]
    for attr in ("name", "email"):
        values = [getattr(u, attr) for u in users if getattr(u, attr)]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ConfigError(f"user: {attr} {dupes[0]!r} is used twice")
    return tuple(users)


def _build_user(where: str, raw: Any) -> UserSettings:
    entry = _check_table(raw, where, USER_FIELDS, "name, role, queues, password_hash")
    name = _text(entry, "name", "", where)
    if not name:
        raise ConfigError(f"{where}.name: required")
    role = _choice(entry, "role", "", ROLES, where)
    queues = entry.get("queues", [])
    if not isinstance(queues, list) or not all(isinstance(q, str) and q for q in queues):
        raise ConfigError(f'{where}.queues: must be a list of queue names, like ["support"]')
    if role != "admin" and not queues:
        raise ConfigError(f'{where}.queues: required for a {role} (["*"] for every queue)')
    password_hash = _text(entry, "password_hash", "", where)
    if password_hash and not password_hash.startswith("$argon2"):
        raise ConfigError(f"{where}.password_hash: not an argon2 hash; make one with "
                          "`python -m auth hash` (never put a password here)")  # fmt: skip
    email = _text(entry, "email", "", where).lower()
    if not (password_hash or email):
        raise ConfigError(f"{where}: give password_hash (local sign-in) or email (OIDC)")
    return UserSettings(name, role, tuple(queues), email, password_hash)


def _build_oidc(raw: Any, env: Mapping[str, str]) -> OidcSettings:
    if not isinstance(raw, dict):
        raise ConfigError("auth: must be a table ([auth])")
    unknown = sorted(set(raw) - {name for name, _ in AUTH_FIELDS})
    if unknown:
        raise ConfigError(f"auth.{unknown[0]}: unknown setting")
    values = {}
    for key in ("client_id", "server_metadata_url", "redirect_uri"):
        values[key] = _text(raw, key, "", "auth")
        if not values[key]:
            raise ConfigError(f"auth.{key}: required for OIDC sign-in")
    for key in ("server_metadata_url", "redirect_uri"):
        if not values[key].startswith(("https://", "http://")):
            raise ConfigError(f"auth.{key}: must be an absolute http(s) URL")
    if not values["redirect_uri"].endswith("/oauth2callback"):
        raise ConfigError("auth.redirect_uri: must end with /oauth2callback")
    secrets = {key: _secret(raw, key, env) for key in ("client_secret", "cookie_secret")}
    if len(secrets["cookie_secret"]) < 32:
        raise ConfigError("auth.cookie_secret: at least 32 characters of random text")
    return OidcSettings(
        **values,
        **secrets,
        roles_claim=_text(raw, "roles_claim", OidcSettings.roles_claim, "auth"),
        queues_claim=_text(raw, "queues_claim", OidcSettings.queues_claim, "auth"),
        button=_text(raw, "button", OidcSettings.button, "auth"),
    )


def _secret(raw: Mapping[str, Any], key: str, env: Mapping[str, str]) -> str:
    """`key` from the file, or from the environment variable `key_env` names."""
    name = _text(raw, f"{key}_env", "", "auth")
    if name and name not in env:
        raise ConfigError(f"auth.{key}_env: environment variable {name} is not set")
    value = env[name] if name else _text(raw, key, "", "auth")
    if not value:
        raise ConfigError(f"auth.{key}: required (or {key}_env)")
    return value


def build_pbx(raw: Any, env: Mapping[str, str], where: str) -> PbxSettings:
    """One [[pbx]] table validated; errors name the field as `<where>.<field>`. The PBX
    console validates what an admin types with this same function (connections.py)."""
    raw = _check_table(raw, where, PBX_FIELDS, "name, host, port, username, secret")
    name = _text(raw, "name", "", where)
    if not _NAME_RE.match(name):
        raise ConfigError(f"{where}.name: must be 1-64 letters, digits, '.', '_' or '-'")
    secret = _text(raw, "secret", "", where)
    secret_env = _text(raw, "secret_env", "", where)
    if secret_env:
        if secret_env not in env:
            raise ConfigError(f"{where}.secret_env: environment variable {secret_env} is not set")
        secret = env[secret_env]
    username = _text(raw, "username", "", where)
    if not username:
        raise ConfigError(f"{where}.username: required (the manager.conf user)")
    return PbxSettings(
        name=name,
        host=_text(raw, "host", PbxSettings.host, where),
        port=_int(raw, "port", PbxSettings.port, 1, 65535, where),
        username=username,
        secret=secret,
        ping_interval_s=_float(
            raw, "ping_interval_s", PbxSettings.ping_interval_s, 0.2, 3600, where
        ),
        queue_log_path=Path(log) if (log := _text(raw, "queue_log_path", "", where)) else None,
    )


def _text(data: Mapping[str, Any], key: str, default: str, where: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{_path(where, key)}: must be text, got {type(value).__name__}")
    return value


def _int(data: Mapping[str, Any], key: str, default: int, lo: int, hi: int, where: str = "") -> int:
    value = data.get(key, default)
    try:
        number = int(value)
        ok = str(number) == str(value).strip() and lo <= number <= hi
    except (TypeError, ValueError):
        ok = False
    if not ok or isinstance(value, bool):
        raise ConfigError(
            f"{_path(where, key)}: must be an integer between {lo} and {hi}, got {value!r}"
        )
    return number


def _float(
    data: Mapping[str, Any], key: str, default: float, lo: float, hi: float, where: str = ""
) -> float:
    value = data.get(key, default)
    try:
        number = float(value)
        ok = lo <= number <= hi and not isinstance(value, bool)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(
            f"{_path(where, key)}: must be a number between {lo} and {hi}, got {value!r}"
        )
    return number


def _optional(data: Mapping[str, Any], key: str, hi: float, where: str) -> float | None:
    """An optional number in [0, hi]: None when the key is absent."""
    return None if data.get(key) is None else _float(data, key, 0, 0, hi, where)


def _interval_min(data: Mapping[str, Any]) -> int:
    minutes = _int(data, "interval_min", Settings.interval_min, 15, 60)
    if minutes not in (15, 30, 60):
        raise ConfigError(f"interval_min: must be 15, 30 or 60, got {minutes}")
    return minutes


def _bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()  # from the environment, e.g. CALLBOARD_EXPORT=false
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{key}: must be true or false, got {value!r}")


def _choice(
    data: Mapping[str, Any], key: str, default: str, allowed: tuple[str, ...], where: str = ""
) -> str:
    value = _text(data, key, default, where)
    if value not in allowed:
        raise ConfigError(
            f"{_path(where, key)}: must be one of {', '.join(allowed)}, got {value!r}"
        )
    return value


def _zone(data: Mapping[str, Any], key: str, default: str) -> str:
    value = _text(data, key, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{key}: must be an IANA time zone such as Europe/Paris or UTC, got {value!r}"
        ) from None
    return value


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
