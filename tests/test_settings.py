"""Settings: every field documented, bad values named, secrets kept out of reprs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from errors import ConfigError
from settings import (
    AGENT_FIELDS,
    AUTH_FIELDS,
    FIELDS,
    PBX_FIELDS,
    QUEUE_FIELDS,
    USER_FIELDS,
    AgentSettings,
    QueueSettings,
    load_settings,
)

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "callboard.toml"
    path.write_text(text)
    return path


def test_every_setting_is_in_the_example_file_with_its_help() -> None:
    example = (REPO / "callboard.example.toml").read_text()
    fields = FIELDS + PBX_FIELDS + AGENT_FIELDS + QUEUE_FIELDS + USER_FIELDS + AUTH_FIELDS
    for name, help_text in fields:
        assert re.search(rf"^#? ?#? ?{name} = ", example, re.M), f"{name} missing from example"
        assert help_text in example, f"help for {name} missing from example"


def test_example_file_loads() -> None:
    settings = load_settings(REPO / "callboard.example.toml", env={})
    assert settings.pbx == () and settings.host == "127.0.0.1" and settings.port == 8501


def test_pbx_with_secret_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[[pbx]]\nname = "main"\nusername = "cb"\nsecret_env = "S"\n')
    settings = load_settings(path, env={"S": "hunter2"})
    (pbx,) = settings.pbx
    assert pbx.secret == "hunter2"
    assert "hunter2" not in repr(settings) and "hunter2" not in pbx.describe()


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('port = "abc"', {}, "port: must be an integer between 1 and 65535, got 'abc'"),
        ("port = 70000", {}, "port: must be an integer"),
        ("flush_interval_s = -1", {}, "flush_interval_s: must be a number"),
        ("colour = 1", {}, "colour: unknown setting"),
        ('timezone = "Mars/Olympus"', {}, "timezone: must be an IANA time zone"),
        ('timezone = "../etc"', {}, "timezone: must be an IANA time zone"),
        ("abandon_target_pct = 120", {}, "abandon_target_pct: must be a number"),
        ('[[pbx]]\nname = "a"\nusername = "u"\nport = "x"', {}, "pbx[0].port: must be an integer"),
        ('[[pbx]]\nname = "bad name!"\nusername = "u"', {}, "pbx[0].name: must be"),
        ('[[pbx]]\nname = "a"', {}, "pbx[0].username: required"),
        (
            '[[pbx]]\nname = "a"\nusername = "u"\nsecret_env = "NOPE"',
            {},
            "pbx[0].secret_env: environment variable NOPE is not set",
        ),
        (
            '[[pbx]]\nname = "a"\nusername = "u"\n[[pbx]]\nname = "a"\nusername = "v"',
            {},
            "pbx: name 'a' is used twice",
        ),
        ("port = 8501", {"CALLBOARD_PORT": "x"}, "port: must be an integer"),
        ("this is not toml", {}, "is not valid TOML"),
        ('export = "maybe"', {}, "export: must be true or false, got 'maybe'"),
        ("export_every_min = 0", {}, "export_every_min: must be a number"),
    ],
)
def test_bad_values_name_the_field(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), env=env)
    assert message in str(caught.value)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 8600\n")
    settings = load_settings(path, env={"CALLBOARD_PORT": "8700", "CALLBOARD_DB_PATH": "x.db"})
    assert settings.port == 8700 and settings.db_path == Path("x.db")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})


def test_agent_identity_map(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[[agent]]\ninterface = "PJSIP/1001"\nname = "Alice M"\nusername = "alice"\n'
    )
    assert load_settings(path, env={}).agents == (
        AgentSettings(interface="PJSIP/1001", name="Alice M", username="alice"),
    )
    with pytest.raises(ConfigError, match=r"agent\[0\].interface: expected TECH/RESOURCE"):
        load_settings(write(tmp_path, '[[agent]]\ninterface = "1001"\n'), env={})


def test_queue_targets(tmp_path: Path) -> None:
    text = (
        '[[queue]]\nname = "support"\nsl_threshold_s = 30\nsl_target_pct = 90\n'
        '[[queue]]\nname = "support"\npbx = "branch"\nsl_threshold_s = 15\n'
        '[[queue]]\nname = "sales"\nsl_target_pct = 75.5\n'
    )
    assert load_settings(write(tmp_path, text), env={}).queues == (
        QueueSettings(name="support", sl_threshold_s=30.0, sl_target_pct=90.0),
        QueueSettings(name="support", pbx="branch", sl_threshold_s=15.0),
        QueueSettings(name="sales", sl_target_pct=75.5),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[queue]]\nsl_threshold_s = 30", "queue[0].name: required"),
        ('[[queue]]\nname = "q"\nsl_threshold_s = -1', "queue[0].sl_threshold_s: must be a number"),
        ('[[queue]]\nname = "q"\nsl_target_pct = 120', "queue[0].sl_target_pct: must be a number"),
        ('[[queue]]\nname = "q"\nsl_target_pct = "high"', "queue[0].sl_target_pct: must be"),
        ('[[queue]]\nname = "q"\ncolour = 1', "queue[0].colour: unknown setting"),
        ('[[queue]]\nname = "q"\n[[queue]]\nname = "q"', "queue[1]: queue 'q' is configured twice"),
        ("queue = 3", "queue: must be a list of [[queue]] tables"),
    ],
)
def test_bad_queue_targets_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), env={})
    assert message in str(caught.value)


AUTH = (
    '[auth]\nclient_id = "cb"\nclient_secret_env = "OIDC_S"\ncookie_secret_env = "COOKIE_S"\n'
    'server_metadata_url = "https://id.example.com/.well-known/openid-configuration"\n'
    'redirect_uri = "https://cb.example.com/oauth2callback"\n'
)
SECRETS = {"OIDC_S": "oidc-secret-value", "COOKIE_S": "k" * 32}


def test_oidc_secrets_come_from_the_environment_and_stay_out_of_reprs(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, AUTH), env=SECRETS)
    assert settings.oidc is not None
    assert settings.oidc.client_secret == "oidc-secret-value"
    assert "oidc-secret-value" not in repr(settings) and "k" * 32 not in repr(settings)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[user]]\nname = "a"\nrole = "boss"\nemail = "a@x"', "user[0].role: must be one of"),
        ('[[user]]\nname = "a"\nrole = "manager"\nemail = "a@x"', "user[0].queues: required"),
        ('[[user]]\nname = "a"\nrole = "admin"', "user[0]: give password_hash"),
        ('[[user]]\nname = "a"\nrole = "admin"\npassword_hash = "hunter2"',
         "user[0].password_hash: not an argon2 hash"),
        ('[[user]]\nname = "a"\nrole = "admin"\nemail = "a@x"\nqueues = "q"',
         "user[0].queues: must be a list"),
        ('[[user]]\nname = "a"\nrole = "admin"\nemail = "a@x"\n'
         '[[user]]\nname = "a"\nrole = "admin"\nemail = "b@x"', "user: name 'a' is used twice"),
        ('host = "0.0.0.0"', "host: '0.0.0.0' would publish the pages to the network"),
        ('host = "callboard.example.com"', "with no sign-in"),
        (AUTH.replace("/oauth2callback", "/cb"), "auth.redirect_uri: must end with"),
        (AUTH.replace("https://id", "id"), "auth.server_metadata_url: must be an absolute"),
        (AUTH.replace('client_id = "cb"\n', ""), "auth.client_id: required"),
        (AUTH.replace("OIDC_S", "NOPE"), "auth.client_secret_env: environment variable NOPE"),
        (AUTH + "colour = 1\n", "auth.colour: unknown setting"),
    ],
)  # fmt: skip
def test_bad_sign_in_settings_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), env=SECRETS)
    assert message in str(caught.value)


def test_short_cookie_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"auth\.cookie_secret: at least 32"):
        load_settings(write(tmp_path, AUTH), env={**SECRETS, "COOKIE_S": "short"})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_need_no_sign_in(tmp_path: Path, host: str) -> None:
    assert load_settings(write(tmp_path, f'host = "{host}"\n'), env={}).host == host


def test_any_host_with_sign_in_configured(tmp_path: Path) -> None:
    text = 'host = "0.0.0.0"\n' + AUTH
    assert load_settings(write(tmp_path, text), env=SECRETS).host == "0.0.0.0"
    env_host = load_settings(write(tmp_path, AUTH), env={**SECRETS, "CALLBOARD_HOST": "::"})
    assert env_host.host == "::"
    with pytest.raises(ConfigError, match="host: '::' would publish"):
        load_settings(write(tmp_path, ""), env={"CALLBOARD_HOST": "::"})


def test_export_settings(tmp_path: Path) -> None:
    defaults = load_settings(write(tmp_path, 'db_path = "d/cb.duckdb"\n'), env={})
    assert defaults.export and defaults.export_path == Path("d/export")
    path = write(tmp_path, 'export_dir = "/srv/exports"\nexport_every_min = 15\n')
    settings = load_settings(path, env={"CALLBOARD_EXPORT": "false"})
    assert not settings.export and settings.export_path == Path("/srv/exports")
    assert settings.export_every_min == 15 and settings.export_grace_min == 60
