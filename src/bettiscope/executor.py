"""One interface for running many independent jobs: local processes or a Ray cluster.

The heavy work of a study is many independent jobs (one activation x seed x data set training
run; the Betti numbers of one layer or one filter). Code that runs them asks an :class:`Executor`
to ``map`` a top-level function over a list of items and gets the results back in input order,
whatever the backend:

- :class:`LocalExecutor` -- processes on this machine (``concurrent.futures``); with
  ``max_workers=1`` the jobs run inline in this process, for tests and debugging.
- :class:`RayExecutor` -- tasks on a Ray cluster (``--backend ray [--ray-address ADDR]``); with no
  address it starts a local Ray instance, so the same code runs on a laptop and on many machines.

Resume works the same under both: :func:`map_resumable` gives every job a result file, writes each
file atomically *in the calling process* as soon as that job finishes (so a cluster needs no shared
file system for results), and on a re-run skips the jobs whose file already exists.

Job functions must be picklable (defined at module top level, not lambdas or closures) and their
items and results picklable too; for :func:`map_resumable`, results must also be JSON-serialisable
(see :func:`bettiscope.storage.to_jsonable`). Local workers are *spawned*, so a script that uses
:class:`LocalExecutor` must keep its top-level code under ``if __name__ == "__main__":`` (each
worker imports the script; unguarded code would run again there and break the pool).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from bettiscope.storage import atomic_write_json, read_json, to_jsonable

#: Ends the error for a job's result file that cannot be parsed (edited or damaged by hand:
#: the executor itself writes them atomically).
RERUN_REMEDY = "Delete it to run that job again; the other finished jobs are kept."

__all__ = [
    "BACKENDS",
    "Executor",
    "JobError",
    "LocalExecutor",
    "RayExecutor",
    "get_executor",
    "map_resumable",
]

T = TypeVar("T")
R = TypeVar("R")

#: Names accepted by :func:`get_executor` and ``--backend``.
BACKENDS = ("local", "ray")

Progress = Callable[[str, int, int], None]
OnResult = Callable[[int, Any], None]


class JobError(RuntimeError):
    """A job raised an exception; names the failing item and keeps the original as ``cause``.

    Attributes
    ----------
    index : int
        Position of the failing item in the input sequence.
    item : object
        The item the job was called with.
    cause : BaseException
        The exception the job raised (also chained as ``__cause__``).
    """

    def __init__(self, index: int, item: Any, cause: BaseException) -> None:
        self.index = index
        self.item = item
        self.cause = cause
        text = repr(item)
        if len(text) > 200:
            text = text[:197] + "..."
        super().__init__(f"job {index} ({text}) failed: {type(cause).__name__}: {cause}")

    def __reduce__(self) -> tuple[Any, ...]:  # keep picklable across process boundaries
        return (JobError, (self.index, self.item, self.cause))


@runtime_checkable
class Executor(Protocol):
    """Runs ``fn`` over many independent items; the contract shared by every backend."""

    #: Short name of the backend ("local" or "ray"), recorded in result files.
    backend: str

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        progress: Progress | None = None,
        stage: str = "jobs",
        on_result: OnResult | None = None,
    ) -> list[R]:
        """Call ``fn(item)`` for every item and return the results in input order.

        Parameters
        ----------
        fn : callable
            A picklable top-level function of one argument.
        items : iterable
            The job inputs (picklable).
        progress : callable, optional
            ``progress(stage, done, total)``, called once before any job finishes and after each
            finished job (in the calling process).
        stage : str, default="jobs"
            Label passed to ``progress``.
        on_result : callable, optional
            ``on_result(index, result)``, called in the calling process as each job finishes (in
            completion order), so results can be saved before the whole map is done.

        Raises
        ------
        JobError
            The first job found to have failed, naming its item; the remaining jobs are cancelled.
        KeyboardInterrupt
            Pending jobs are cancelled; results already passed to ``on_result`` are kept.
        """
        ...

    def close(self) -> None:
        """Release workers (and a Ray instance this executor started)."""
        ...


def _report(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def _init_worker(threads: int) -> None:
    """Worker initialiser: ignore Ctrl-C (the parent handles it) and limit threads."""
    import signal

    # A terminal's Ctrl-C reaches the whole process group; only the parent should react (it
    # cancels the pool and stops the workers), so workers do not print tracebacks of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent stops workers with SIGTERM; a handler inherited through "fork" (the CLI turns
    # SIGTERM into KeyboardInterrupt) would make the job catch it and keep the worker alive.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _limit_threads(threads)


def _limit_threads(threads: int) -> None:
    """One BLAS/OpenMP/torch thread per job, so ``max_workers`` jobs do not oversubscribe."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    import sys

    torch = sys.modules.get("torch")  # set it only if a job already imported torch
    if torch is not None:
        torch.set_num_threads(threads)


class LocalExecutor:
    """Jobs in worker processes on this machine (or inline with ``max_workers=1``).

    Parameters
    ----------
    max_workers : int, optional
        Number of worker processes; default ``os.cpu_count()``. ``1`` runs every job inline in the
        calling process (no pickling, ordinary tracebacks, breakpoints work).
    start_method : {"spawn", "forkserver", "fork"}, default="spawn"
        How workers start. ``spawn`` is the safe default with PyTorch (a forked child of a process
        that has used OpenMP threads can deadlock); it costs an interpreter start per worker.
    threads_per_worker : int, default=1
        Thread limit set in every worker (OpenMP, BLAS and torch) so that ``max_workers`` jobs
        use about ``max_workers`` cores.
    """

    backend = "local"

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        start_method: str = "spawn",
        threads_per_worker: int = 1,
    ) -> None:
        if max_workers is None:
            max_workers = os.cpu_count() or 1
        if not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1:
            raise ValueError(
                f"LocalExecutor: max_workers must be an integer >= 1; got {max_workers!r}."
            )
        if start_method not in multiprocessing.get_all_start_methods():
            raise ValueError(
                f"LocalExecutor: start_method must be one of "
                f"{multiprocessing.get_all_start_methods()}; got {start_method!r}."
            )
        if not isinstance(threads_per_worker, int) or threads_per_worker < 1:
            raise ValueError(
                "LocalExecutor: threads_per_worker must be an integer >= 1; "
                f"got {threads_per_worker!r}."
            )
        self.max_workers = max_workers
        self.start_method = start_method
        self.threads_per_worker = threads_per_worker

    def __repr__(self) -> str:
        return f"LocalExecutor(max_workers={self.max_workers})"

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        progress: Progress | None = None,
        stage: str = "jobs",
        on_result: OnResult | None = None,
    ) -> list[R]:
        """See :meth:`Executor.map`."""
        items = list(items)
        total = len(items)
        _report(progress, stage, 0, total)
        if total == 0:
            return []
        if self.max_workers == 1:
            return self._map_inline(fn, items, progress, stage, on_result)
        return self._map_processes(fn, items, progress, stage, on_result)

    def _map_inline(
        self,
        fn: Callable[[T], R],
        items: list[T],
        progress: Progress | None,
        stage: str,
        on_result: OnResult | None,
    ) -> list[R]:
        results: list[R] = []
        for index, item in enumerate(items):
            try:
                result = fn(item)
            except Exception as error:
                raise JobError(index, item, error) from error
            results.append(result)
            if on_result is not None:
                on_result(index, result)
            _report(progress, stage, index + 1, len(items))
        return results

    def _map_processes(
        self,
        fn: Callable[[T], R],
        items: list[T],
        progress: Progress | None,
        stage: str,
        on_result: OnResult | None,
    ) -> list[R]:
        results: list[Any] = [None] * len(items)
        pool = cf.ProcessPoolExecutor(
            max_workers=min(self.max_workers, len(items)),
            mp_context=multiprocessing.get_context(self.start_method),
            initializer=_init_worker,
            initargs=(self.threads_per_worker,),
        )
        clean = False
        try:
            futures = {pool.submit(fn, item): index for index, item in enumerate(items)}
            for done, future in enumerate(cf.as_completed(futures), start=1):
                index = futures[future]
                try:
                    results[index] = future.result()
                except Exception as error:
                    raise JobError(index, items[index], error) from error
                if on_result is not None:
                    on_result(index, results[index])
                _report(progress, stage, done, len(items))
            clean = True
        finally:
            if not clean:
                # On error or Ctrl-C do not wait for running jobs: stop the workers (their
                # unfinished results were never saved) and return at once.
                _stop_workers(pool)
            pool.shutdown(wait=clean, cancel_futures=not clean)
        return results

    def close(self) -> None:
        """Nothing to release: each :meth:`map` owns its process pool."""


def _stop_workers(pool: cf.ProcessPoolExecutor) -> None:
    # concurrent.futures has no public way to stop running jobs; its worker table is the
    # documented-by-use way (CPython keeps ``_processes`` as pid -> Process).
    for process in list(getattr(pool, "_processes", {}).values()):
        if process.is_alive():
            process.terminate()


class RayExecutor:
    """Jobs as Ray tasks, on a local Ray instance or a cluster.

    Parameters
    ----------
    address : str, optional
        Where the cluster is: ``None`` starts a private local Ray instance (stopped by
        :meth:`close` and by a map that fails or is interrupted; the next map starts it
        again); ``"auto"`` joins the cluster this machine belongs to (``ray start`` was run
        here); ``"ray://HEAD:10001"`` connects through Ray Client from outside the cluster. If Ray
        is already initialised in this process, that connection is used as is.
    num_cpus : int, optional
        CPUs for a local instance started here (ignored when connecting to a cluster).
    cpus_per_job : float, default=1
        Ray's ``num_cpus`` per task; Ray also sets ``OMP_NUM_THREADS`` in the worker to it.
    runtime_env : dict, optional
        Passed to ``ray.init`` -- e.g. ``{"pip": ["bettiscope"]}`` or ``{"py_modules": [...]}``
        when the cluster's nodes do not have bettiscope installed (docs/cluster.md).
    init_kwargs : dict, optional
        Further keyword arguments for ``ray.init``.

    Raises
    ------
    ValueError
        If Ray is not installed (install the ``cluster`` extra) or the cluster cannot be reached.
    """

    backend = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        cpus_per_job: float = 1,
        runtime_env: dict[str, Any] | None = None,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        ray = _import_ray()
        self.address = address
        self.cpus_per_job = cpus_per_job
        self._started = False
        # None when Ray was already initialised by the caller: that connection is theirs.
        self._init_kwargs: dict[str, Any] | None = None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "address": address,
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address is None and num_cpus is not None:
                kwargs["num_cpus"] = num_cpus
            if runtime_env is not None:
                kwargs["runtime_env"] = runtime_env
            kwargs.update(init_kwargs or {})
            self._init_kwargs = kwargs
            self._start()

    def _start(self) -> None:
        assert self._init_kwargs is not None
        try:
            _import_ray().init(**self._init_kwargs)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = "a local Ray instance" if self.address is None else f"Ray at {self.address!r}"
            raise ValueError(
                f"RayExecutor: could not start or reach {where}: {error}. "
                "Check the address (e.g. 'auto' on a cluster node, 'ray://HEAD:10001' from "
                "outside) and that the cluster runs the same Ray and Python versions."
            ) from None
        self._started = True

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r})"

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        progress: Progress | None = None,
        stage: str = "jobs",
        on_result: OnResult | None = None,
    ) -> list[R]:
        """See :meth:`Executor.map`."""
        ray = _import_ray()
        if self._init_kwargs is not None and not self._started:
            self._start()  # stopped by an interrupted map or by close()
        items = list(items)
        total = len(items)
        _report(progress, stage, 0, total)
        if total == 0:
            return []
        remote = ray.remote(num_cpus=self.cpus_per_job, max_retries=0)(fn)
        refs = [remote.remote(item) for item in items]
        index_of = {ref: index for index, ref in enumerate(refs)}
        results: list[Any] = [None] * total
        pending = list(refs)
        done = 0
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                ref = ready[0]
                index = index_of[ref]
                try:
                    results[index] = ray.get(ref)
                except ray.exceptions.RayTaskError as error:
                    cause = getattr(error, "cause", None) or error
                    raise JobError(index, items[index], cause) from cause
                except ray.exceptions.RayError as error:  # worker died, object lost, ...
                    raise JobError(index, items[index], error) from error
                if on_result is not None:
                    on_result(index, results[index])
                done += 1
                _report(progress, stage, done, total)
        except BaseException:
            if self._started:
                # Our own connection: shutting it down stops every job of this map. Cancelling
                # them one by one raced with jobs finishing at that moment (Ray 2.60 aborted the
                # process: "Tried to complete task that was not pending") and with the next map
                # (handed a worker still being killed: WorkerCrashedError, seen in CI). The next
                # map starts Ray again.
                self.close()
            else:
                for ref in pending:
                    ray.cancel(ref, force=True)
            raise
        return results

    def close(self) -> None:
        """Shut down the Ray instance (or the connection) if this executor started it.

        A later :meth:`map` starts it again.
        """
        if self._started:
            _import_ray().shutdown()
            self._started = False


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ValueError(
            "the 'ray' backend needs Ray, which is not installed: "
            "pip install 'bettiscope[cluster]' (or pip install ray), or use --backend local."
        ) from None
    return ray


def get_executor(backend: str = "local", **kwargs: Any) -> Executor:
    """Make an executor by backend name.

    Parameters
    ----------
    backend : {"local", "ray"}, default="local"
        ``local``: :class:`LocalExecutor` (keyword ``max_workers``); ``ray``:
        :class:`RayExecutor` (keywords ``address``, ``num_cpus``, ...).
    **kwargs
        Passed to the executor's constructor; ``None`` values are dropped so a CLI can pass its
        unset options through.

    Raises
    ------
    ValueError
        Unknown backend, or an option the backend does not take.
    """
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    if backend == "local":
        cls: type = LocalExecutor
    elif backend == "ray":
        cls = RayExecutor
    else:
        raise ValueError(f"unknown executor backend {backend!r}; choose one of {list(BACKENDS)}.")
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ValueError(f"get_executor({backend!r}): {error}") from None


def map_resumable(
    executor: Executor,
    fn: Callable[[T], R],
    items: Sequence[T],
    result_paths: Sequence[str | os.PathLike[str]],
    *,
    progress: Progress | None = None,
    stage: str = "jobs",
    on_result: OnResult | None = None,
) -> list[Any]:
    """Run only the jobs that have no result file yet; save each result as soon as it arrives.

    Parameters
    ----------
    executor : Executor
        Where the jobs run.
    fn : callable
        Picklable job function; its result must be JSON-serialisable.
    items : sequence
        Job inputs.
    result_paths : sequence of path-like
        One JSON file per item (same length as ``items``). An existing file means "done": the job
        is skipped and the file's content is returned in its place.
    progress : callable, optional
        ``progress(stage, done, total)`` counting finished jobs, the skipped ones included.
    stage : str, default="jobs"
        Label passed to ``progress``.
    on_result : callable, optional
        ``on_result(index, result)`` for newly finished jobs, after their file is written.

    Returns
    -------
    list
        The results in input order, each as JSON gives it back (tuples become lists, NumPy
        scalars plain numbers), so a first run and a resumed run return identical values.

    Notes
    -----
    The files are written by the calling process, atomically, in completion order: an interrupted
    run (Ctrl-C, a failing job, a lost cluster node) keeps every result that arrived, and a re-run
    computes only the rest. Results travel back from Ray workers to the caller, so a cluster needs
    no shared file system for them.
    """
    items = list(items)
    paths = [Path(p) for p in result_paths]
    if len(paths) != len(items):
        raise ValueError(
            f"map_resumable: got {len(items)} items but {len(paths)} result paths; "
            "give one result file per item."
        )
    if len(set(paths)) != len(paths):
        raise ValueError("map_resumable: result paths must be distinct (one file per job).")
    results: list[Any] = [None] * len(items)
    todo: list[int] = []
    for index, path in enumerate(paths):
        if path.exists():
            results[index] = read_json(path, remedy=RERUN_REMEDY)
        else:
            todo.append(index)
    skipped = len(items) - len(todo)

    def save(position: int, result: Any) -> None:
        index = todo[position]
        atomic_write_json(paths[index], result)
        result = json.loads(json.dumps(to_jsonable(result)))
        results[index] = result
        if on_result is not None:
            on_result(index, result)

    def shifted(name: str, done: int, total: int) -> None:
        _report(progress, name, skipped + done, skipped + total)

    executor.map(
        fn,
        [items[i] for i in todo],
        progress=shifted if progress is not None else None,
        stage=stage,
        on_result=save,
    )
    return results
