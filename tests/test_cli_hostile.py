"""Hostile input on the command lines (`python -m queries`, `python -m storage`): quotes, SQL,
bad and huge dates, unknown names, oversized values. Each is refused with one clear line
(exit 2) or handled; never a traceback, and the store is never changed by a value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import queries.__main__ as queries_cli
import storage.__main__ as storage_cli
from storage.store import Store, connect
from tests.auth.conftest import call
from tests.conftest import REPO

DROP = "'; DROP TABLE queue_calls; --"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cb.duckdb"
    with Store(path, flush_interval_s=0.05) as store:
        store.put(call("support", "1.1"))
        store.put(call("sales", "2.1", "abandoned"))
    return path


def calls_in(db: Path) -> int:
    con = connect(db, read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM queue_calls").fetchone()
        return int(row[0]) if row else -1
    finally:
        con.close()


def run_queries(db: Path, *args: str) -> list[str]:
    return ["queue_summary", "--db", str(db), *args]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["x'; DROP TABLE queue_calls; --", "--db", "{db}"], "unknown query"),
        (["queue_summary", "--db", "{db}", "--param", f"start={DROP}"], "queue_summary failed"),
        (["queue_summary", "--db", "{db}", "--param", "start=2026-02-30"], "queue_summary failed"),
        (["queue_summary", "--db", "{db}", "--param", "end=yesterday"], "queue_summary failed"),
        (["queue_intervals", "--db", "{db}", "--param", "bucket=1 hour'); --"],
         "bucket must be one of"),
        (["queue_summary", "--db", "{db}", "--param", "nokey"], "expected KEY=VALUE"),
        (["queue_summary", "--db", "{db}", "--param", f"{DROP}=1"], "unknown parameter"),
        (["queue_summary", "--db", "{db}", "--param", "start=" + "9" * 100_000],
         "queue_summary failed"),
        (["queue_summary", "--db", "{db}.nope"], "does not exist"),
    ],
)  # fmt: skip
def test_queries_cli_refuses_hostile_input_in_one_short_line(
    db: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = queries_cli.main([a.replace("{db}", str(db)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and message in err, err
    assert len(err) < 1_000 and "Traceback" not in err
    assert calls_in(db) == 2


@pytest.mark.parametrize(
    "params",
    [
        ["queues=support' OR '1'='1"],  # an unknown queue: no rows, not every row
        ["queues=nope,also-nope"],
        ["start=0001-01-01", "end=9999-12-31"],  # a huge range is just a range
        ["start=2030-01-01", "end=2020-01-01"],  # reversed: empty
        ["sl_s=1e400"],  # an infinite threshold: every answer is within it
    ],
)
def test_queries_cli_handles_odd_but_valid_values(
    db: Path, params: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["queue_summary", "--db", str(db), "--format", "json"]
    for p in params:
        argv += ["--param", p]
    assert queries_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Traceback" not in out
    if "queues=" in params[0]:
        assert '"support"' not in out and '"sales"' not in out
    assert calls_in(db) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import-queue-log", "{tmp}/nope", "--pbx", "main", "--db", "{db}"], "is not a file"),
        (["import-queue-log", "{log}", "--pbx", DROP, "--db", "{db}"], "--pbx: must be"),
        (["import-queue-log", "{log}", "--pbx", "x" * 65, "--db", "{db}"], "--pbx: must be"),
        (["import-queue-log", "{log}", "--pbx", "main", "--config", "{tmp}/none.toml"],
         "does not exist"),
        (["export", "--db", "{tmp}/none.duckdb", "--dir", "{tmp}/out"], "does not exist"),
    ],
)  # fmt: skip
def test_storage_cli_refuses_hostile_input_in_one_short_line(
    db: Path, tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "queue_log"
    log.write_text("1700000000|1.1|support|NONE|ENTERQUEUE||555|1\n")
    values = {"{db}": str(db), "{tmp}": str(tmp_path), "{log}": str(log)}
    for key, value in values.items():
        argv = [a.replace(key, value) for a in argv]
    code = storage_cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "error: " in err and message in err, err
    assert "Traceback" not in err
    assert calls_in(db) == 2


@pytest.mark.parametrize("day", ["2026-13-01", DROP, "9" * 1000])
def test_storage_cli_bad_days_are_refused_by_the_parser(
    day: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        storage_cli.main(["export", "--since", day])
    assert exited.value.code == 2
    assert "is not a day like 2026-11-02" in capsys.readouterr().err


def test_a_hostile_value_in_a_real_process_ends_in_one_line(db: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "queries", "queue_summary", "--db", str(db),
         "--param", f"end={DROP}"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: queue_summary failed") and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, "does not exist"),
        ("not json", "cannot read the export manifest"),
        ('{"tables": {"x; DROP TABLE y": ["../../etc/passwd"]}}', "unknown manifest format"),
    ],
)
def test_queries_cli_refuses_a_missing_or_forged_export(
    tmp_path: Path, manifest: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if manifest is not None:
        (tmp_path / "manifest.json").write_text(manifest)
    assert queries_cli.main(["queue_summary", "--dataset", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
