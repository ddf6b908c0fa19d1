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


def test_initializer_runs_in_every_worker_before_its_jobs() -> None:
    from tests.batch.stubs import stub_warm_up, stub_warmed_pid

    results = run_jobs(
        list(range(6)), stub_warmed_pid, on_lost=_lost, workers=2, initializer=stub_warm_up
    )
    assert all(warmed for _, warmed in results)
    assert len({pid for pid, _ in results}) <= 2  # workers started once, reused for every job


def test_batch_hands_out_the_largest_plans_first(tmp_path) -> None:
    from plancheck.batch.task import PlanJob, input_bytes

    sizes = {"a": 10, "b": 3000, "c": 200}
    jobs = []
    for key, size in sizes.items():
        (tmp_path / key).mkdir()
        (tmp_path / key / "f.dcm").write_bytes(b"x" * size)
        jobs.append(PlanJob(key, tmp_path / key, ("f.dcm", "missing.dcm"), key))
    assert [input_bytes(j) for j in jobs] == [10, 3000, 200]  # a vanished file counts 0
    assert [j.key for j in sorted(jobs, key=input_bytes, reverse=True)] == ["b", "c", "a"]
