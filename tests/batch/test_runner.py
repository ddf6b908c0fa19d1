"""The runner: results in job order whatever the parallelism; failures recorded, never fatal."""

from __future__ import annotations

import pytest

from plancheck.batch.runner import run_jobs
from tests.batch.stubs import stub_square


def _lost(job: int, reason: str) -> str:
    return f"lost {job}: {reason}"


def test_serial_and_process_pool_give_the_same_results_in_job_order() -> None:
    jobs = [5, 1, 4, 2, 3, 7, 6]
    expected = [25, 1, 16, 4, 9, "lost 7: ValueError: seven", 36]
    assert run_jobs(jobs, stub_square, on_lost=_lost, workers=1) == expected
    seen: list[object] = []
    assert run_jobs(jobs, stub_square, on_lost=_lost, workers=2, on_result=seen.append) == expected
    assert sorted(map(str, seen)) == sorted(map(str, expected))


def test_a_worker_that_dies_fails_alone() -> None:
    jobs = [2, 13, 3, 4, 5, 6]
    results = run_jobs(jobs, stub_square, on_lost=_lost, workers=2)
    assert results[0] == 4 and results[2:] == [9, 16, 25, 36]
    assert isinstance(results[1], str) and results[1].startswith("lost 13: the worker process died")


def test_dask_local_cluster_gives_the_same_results() -> None:
    pytest.importorskip("distributed", reason="the Dask path needs the extra plancheck[dask]")
    jobs = [5, 1, 4, 7, 2]
    results = run_jobs(jobs, stub_square, on_lost=_lost, workers=2, scheduler="local")
    assert results[:3] == [25, 1, 16] and results[4] == 4
    assert isinstance(results[3], str) and results[3].startswith("lost 7: ValueError")


def test_no_jobs() -> None:
    assert run_jobs([], stub_square, on_lost=_lost, workers=2) == []
