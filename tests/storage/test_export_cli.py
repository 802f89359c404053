"""`python -m storage export` and `python -m queries NAME --dataset DIR`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from queries.__main__ import main as queries_main
from storage.__main__ import main as storage_main
from storage.store import Store
from tests.queries.kpi_fixture import put_day


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cb.duckdb"
    with Store(path) as store:
        put_day(store)
    return path


def test_export_then_query_the_dataset(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    argv = ["export", "--db", str(db), "--dir", str(out), "--since", "2026-11-01"]
    assert storage_main(argv) == 0
    shown = capsys.readouterr()
    # queue_calls, ring_attempts, member_states and the rollups stay_quarters, stay_waits,
    # caller_stays, agent_counts
    assert "\r7/7 partitions (100.0%)" in shown.err
    # 39 rows of facts (12 stays, 10 ring attempts, 17 member states) and 28 of rollups (one
    # of them the stay_waits row of the stay of unknown wait)
    assert "version 1, 7 partitions written (67 rows" in shown.out
    assert storage_main(argv) == 0
    assert "version 1, 0 partitions written" in capsys.readouterr().out
    assert queries_main(["queue_summary", "--dataset", str(out), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[:2] for line in lines[1:]] == [["sales", "4"], ["support", "8"]]


def test_bad_export_arguments_are_plain_errors(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        storage_main(["export", "--db", str(db), "--since", "yesterday"])
    assert "'yesterday' is not a day like 2026-11-02" in capsys.readouterr().err
    assert storage_main(["export", "--db", str(tmp_path / "nope.duckdb")]) == 2
    assert "nope.duckdb does not exist" in capsys.readouterr().err
    assert queries_main(["calls", "--dataset", str(tmp_path)]) == 2
    assert "no export there yet" in capsys.readouterr().err


def test_a_held_store_points_to_the_dataset(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb,sys; c=duckdb.connect({str(db)!r}); print('ok', flush=True); "
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        assert queries_main(["calls", "--db", str(db)]) == 2
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert "held by another process" in err
    assert "python -m queries calls --dataset " in err
