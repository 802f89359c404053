"""The service's export job: scheduled when `export` is on, through a reader cursor."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import queries
from service import Service
from settings import Settings
from tests.queries.kpi_fixture import put_day


def settings_in(tmp_path: Path, export: bool = True) -> Settings:
    return replace(Settings(), db_path=tmp_path / "cb.duckdb", demo="off", export=export)


async def test_the_service_exports_beside_its_store(tmp_path: Path) -> None:
    async with Service(settings_in(tmp_path)) as service:
        assert service._scheduler is not None
        job = service._scheduler.get_job("parquet-export")
        assert job is not None and job.trigger.interval.total_seconds() == 3600
        put_day(service.store)  # a day in 2026-11, closed long before the test runs
        report = service.export_now()
        rollup_rows = (
            service.store.cursor()
            .execute(
                "SELECT (SELECT count(*) FROM stay_quarters) + (SELECT count(*) FROM stay_waits)"
                " + (SELECT count(*) FROM caller_stays) + (SELECT count(*) FROM agent_counts)"
            )
            .fetchone()
        )
        assert rollup_rows is not None
        assert report.written > 0 and report.rows == 12 + 10 + 17 + rollup_rows[0]
        con = queries.dataset_connection(tmp_path / "export")
        frame = queries.run("queue_summary", con)
        assert list(frame["queue"]) == ["sales", "support"]


async def test_no_export_job_when_export_is_off(tmp_path: Path) -> None:
    async with Service(settings_in(tmp_path, export=False)) as service:
        assert service._scheduler is not None
        assert service._scheduler.get_job("parquet-export") is None
