"""The executor interface: order, errors, progress and resume, locally and on a local Ray."""

from __future__ import annotations

import json
import sys
import time

import pytest

from bettiscope.executor import (
    Executor,
    JobError,
    LocalExecutor,
    get_executor,
    map_resumable,
)


def square(x: int) -> int:
    """A job whose later items finish first, so completion order differs from input order."""
    time.sleep(0.05 * (4 - x % 5))
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"three is not allowed (got {x})")
    return x


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def describe(item: dict) -> dict:
    return {"name": item["name"], "double": 2 * item["value"], "pair": (item["value"], 1)}


class TestLocalExecutor:
    def test_inline_results_in_order_with_progress(self) -> None:
        calls: list[tuple[str, int, int]] = []
        seen: list[tuple[int, int]] = []
        executor = LocalExecutor(max_workers=1)
        out = executor.map(
            square,
            range(5),
            progress=lambda *a: calls.append(a),
            stage="sq",
            on_result=lambda i, r: seen.append((i, r)),
        )
        assert out == [0, 1, 4, 9, 16]
        assert calls == [("sq", i, 5) for i in range(6)]
        assert seen == [(i, i * i) for i in range(5)]
        assert isinstance(executor, Executor)

    def test_processes_results_in_input_order(self) -> None:
        seen: list[int] = []
        done: list[int] = []
        out = LocalExecutor(max_workers=2).map(
            square,
            list(range(6)),
            on_result=lambda i, r: seen.append(i),
            progress=lambda s, d, t: done.append(d),
        )
        assert out == [x * x for x in range(6)]
        assert sorted(seen) == list(range(6))
        assert done == list(range(7))

    @pytest.mark.parametrize("workers", [1, 2])
    def test_failure_names_the_item(self, workers: int) -> None:
        with pytest.raises(JobError, match=r"job 3 \(3\) failed: ValueError: three is not") as info:
            LocalExecutor(max_workers=workers).map(fail_on_three, range(5))
        assert info.value.index == 3
        assert info.value.item == 3
        assert isinstance(info.value.cause, ValueError)

    def test_interrupt_does_not_wait_for_running_jobs(self) -> None:
        def interrupt(stage: str, done: int, total: int) -> None:
            if done == 1:
                raise KeyboardInterrupt

        started = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            LocalExecutor(max_workers=2).map(nap, [0.0, 60.0], progress=interrupt)
        assert time.perf_counter() - started < 20  # the 60 s job was stopped, not awaited

    def test_empty_input(self) -> None:
        calls: list[tuple[str, int, int]] = []
        assert LocalExecutor(2).map(square, [], progress=lambda *a: calls.append(a)) == []
        assert calls == [("jobs", 0, 0)]

    @pytest.mark.parametrize("bad", [0, -1, 1.5, True])
    def test_bad_worker_count(self, bad: object) -> None:
        with pytest.raises(ValueError, match="max_workers must be an integer >= 1"):
            LocalExecutor(max_workers=bad)  # type: ignore[arg-type]


class TestGetExecutor:
    def test_local_with_options(self) -> None:
        executor = get_executor("local", max_workers=3, address=None)
        assert isinstance(executor, LocalExecutor)
        assert executor.max_workers == 3

    def test_unknown_backend(self) -> None:
        with pytest.raises(ValueError, match=r"unknown executor backend 'dask'; choose one of"):
            get_executor("dask")

    def test_unknown_option(self) -> None:
        with pytest.raises(ValueError, match=r"get_executor\('local'\).*unexpected keyword"):
            get_executor("local", address="auto")

    def test_ray_missing_is_a_clear_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
        with pytest.raises(ValueError, match=r"needs Ray.*pip install 'bettiscope\[cluster\]'"):
            get_executor("ray")


def _check_resume(executor: Executor, tmp_path) -> None:
    """Interrupt after the first result, then resume: same results, finished jobs not redone."""
    items = [{"name": f"job{i}", "value": i} for i in range(4)]
    paths = [tmp_path / f"{item['name']}.json" for item in items]

    def interrupt(stage: str, done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        map_resumable(executor, describe, items, paths, progress=interrupt)
    finished = [p for p in paths if p.exists()]
    assert len(finished) == 1  # the result that arrived was saved, nothing half-written
    assert not list(tmp_path.glob(".*.tmp*"))
    stamp = finished[0].stat().st_mtime_ns

    progress: list[tuple[int, int]] = []
    fresh: list[int] = []
    results = map_resumable(
        executor,
        describe,
        items,
        paths,
        progress=lambda s, d, t: progress.append((d, t)),
        on_result=lambda i, r: fresh.append(i),
    )
    expected = [{"name": f"job{i}", "double": 2 * i, "pair": [i, 1]} for i in range(4)]
    assert results == expected
    assert [json.loads(p.read_text()) for p in paths] == expected
    assert finished[0].stat().st_mtime_ns == stamp  # the finished job was not redone
    assert len(fresh) == 3 and paths.index(finished[0]) not in fresh
    assert progress[0] == (1, 4) and progress[-1] == (4, 4)

    # everything done: a third run computes nothing and returns the same
    assert map_resumable(executor, describe, items, paths, on_result=lambda i, r: 1 / 0) == (
        expected
    )


class TestMapResumable:
    @pytest.mark.parametrize("workers", [1, 2])
    def test_interrupt_and_resume(self, tmp_path, workers: int) -> None:
        _check_resume(LocalExecutor(max_workers=workers), tmp_path)

    def test_lengths_must_match(self, tmp_path) -> None:
        with pytest.raises(ValueError, match="got 2 items but 1 result paths"):
            map_resumable(LocalExecutor(1), square, [1, 2], [tmp_path / "a.json"])

    def test_paths_must_be_distinct(self, tmp_path) -> None:
        with pytest.raises(ValueError, match="result paths must be distinct"):
            map_resumable(LocalExecutor(1), square, [1, 2], [tmp_path / "a.json"] * 2)


@pytest.fixture(scope="module")
def ray_executor():
    ray = pytest.importorskip("ray")
    # Ray workers import job functions by module name; this test module is not importable there
    # (a real study's jobs live in bettiscope, installed on every node), so ship it by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    executor = get_executor("ray", num_cpus=2)
    assert ray.is_initialized()
    yield executor
    executor.close()
    assert not ray.is_initialized()


@pytest.mark.slow
class TestRayExecutor:
    """Against a local Ray instance started here (about 5-10 s to start)."""

    def test_results_in_input_order(self, ray_executor) -> None:
        calls: list[int] = []
        out = ray_executor.map(square, range(6), progress=lambda s, d, t: calls.append(d))
        assert out == [x * x for x in range(6)]
        assert calls == list(range(7))
        assert ray_executor.backend == "ray"

    def test_failure_names_the_item(self, ray_executor) -> None:
        with pytest.raises(JobError, match=r"job 3 \(3\) failed: .*three is not allowed") as info:
            ray_executor.map(fail_on_three, range(5))
        assert info.value.index == 3
        assert isinstance(info.value.cause, ValueError)

    def test_interrupt_and_resume_like_local(self, ray_executor, tmp_path) -> None:
        _check_resume(ray_executor, tmp_path)
