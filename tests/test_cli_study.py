"""`bettiscope trace` and `bettiscope compare` end to end on a tiny labelled file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bettiscope.cli import app
from bettiscope.storage import save_point_cloud

runner = CliRunner()


def torch_cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.fixture
def blobs(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(160) % 2
    X = rng.normal(scale=0.4, size=(160, 2)) + (2.0 * y[:, None] - 1.0)
    meta = {"measure": {"metric": "knn-hop", "k": 6, "scale": 2.5, "stride": 1, "max_dim": 1}}
    return save_point_cloud(tmp_path / "blobs.npz", X, y, meta)


def _invoke(args):
    return runner.invoke(app, ["--quiet", *args])


def test_trace_writes_trace_and_heatmap_and_resumes(blobs, tmp_path) -> None:
    out = tmp_path / "trace"
    args = [
        "trace",
        "--dataset",
        str(blobs),
        "--activation",
        "tanh",
        "--width",
        "6",
        "--depth",
        "3",
        "--epochs",
        "6",
        "--every",
        "3",
        "--lr",
        "1e-4",
        "--out",
        str(out),
    ]
    result = _invoke(args)
    assert result.exit_code == 0, result.output
    assert "Betti numbers per layer" in result.stdout
    trace = json.loads((out / "trace.json").read_text())
    assert [e["epoch"] for e in trace["trace"]] == [0, 3, 6]
    assert trace["config"]["activation"] == "tanh" and trace["status"] == "done"
    assert (out / "heatmap.png").stat().st_size > 1000
    longer = _invoke([*args[:-2], "--epochs", "9", "--out", str(out)])
    assert longer.exit_code == 0, longer.output
    trace = json.loads((out / "trace.json").read_text())
    assert [e["epoch"] for e in trace["trace"]] == [0, 3, 6, 9]
    assert trace["history"]["resumed_from"] == 6


def test_trace_background_gives_the_synchronous_trace(blobs, tmp_path) -> None:
    def args(out: str, *extra: str, epochs: int = 4) -> list[str]:
        common = ["trace", "--dataset", str(blobs), "--width", "6", "--depth", "3"]
        common += ["--every", "2", "--lr", "1e-3", "--keep-training", "--epochs", str(epochs)]
        return [*common, *extra, "--out", str(tmp_path / out)]

    sync = _invoke(args("sync"))
    assert sync.exit_code == 0, sync.output
    background = _invoke(args("bg", "--probe-workers", "2", "--background"))
    assert background.exit_code == 0, background.output
    assert "CPU s in all" in background.stdout
    traces = [json.loads((tmp_path / d / "trace.json").read_text()) for d in ("sync", "bg")]
    assert traces[0]["probe"]["workers"] == 1 and not traces[0]["probe"]["background"]
    assert traces[1]["probe"]["workers"] == 2 and traces[1]["probe"]["background"]

    def numbers(trace: dict) -> list:
        return [{k: v for k, v in e.items() if k != "seconds"} for e in trace["trace"]]

    assert [e["epoch"] for e in traces[1]["trace"]] == [0, 2, 4]
    assert numbers(traces[1]) == numbers(traces[0])
    # the probe settings are not part of the run's identity: a background run resumes this one
    longer = _invoke(args("sync", "--background", epochs=6))
    assert longer.exit_code == 0, longer.output
    resumed = json.loads((tmp_path / "sync" / "trace.json").read_text())
    assert [e["epoch"] for e in resumed["trace"]] == [0, 2, 4, 6]
    assert resumed["history"]["resumed_from"] == 4
    assert _invoke(args("x", "--probe-workers", "0")).exit_code == 2


def test_trace_at_chosen_epochs(blobs, tmp_path) -> None:
    out = tmp_path / "at"
    common = ["trace", "--dataset", str(blobs), "--width", "6", "--depth", "3", "--lr", "1e-3"]
    common += ["--keep-training", "--epochs", "7", "--every", "2"]
    result = _invoke([*common, "--at", "1,4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    trace = json.loads((out / "trace.json").read_text())
    assert [e["epoch"] for e in trace["trace"]] == [0, 1, 4, 7]  # 0 and the last always
    assert trace["config"]["at"] == [1, 4]
    bad = _invoke([*common, "--at", "3,x", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--at expects" in bad.stderr


def test_trace_max_overhead_skips_and_says_so(blobs, tmp_path) -> None:
    common = ["trace", "--dataset", str(blobs), "--width", "6", "--depth", "3", "--lr", "1e-3"]
    common += ["--keep-training", "--epochs", "6", "--every", "2"]
    result = _invoke([*common, "--max-overhead", "1e-9", "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    trace = json.loads((tmp_path / "t" / "trace.json").read_text())
    assert [e["epoch"] for e in trace["trace"]] == [0, 6]
    assert trace["probe"]["skipped_epochs"] == [2, 4]
    assert "2 scheduled epochs skipped" in " ".join(result.stderr.split())
    bad = _invoke([*common, "--max-overhead", "0", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "max-overhead" in bad.stderr


def test_trace_errors(blobs, tmp_path) -> None:
    result = _invoke(
        ["trace", "--dataset", str(blobs), "--activation", "swishy", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "Unknown activation 'swishy'" in result.stderr
    result = _invoke(
        ["trace", "--dataset", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "missing.npz" in result.stderr
    result = _invoke(
        ["trace", "--dataset", str(blobs), "--data-param", "oops", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "KEY=VALUE" in result.stderr


def test_compare_end_to_end_and_resume(blobs, tmp_path) -> None:
    out = tmp_path / "cmp"
    args = [
        "compare",
        "--dataset",
        str(blobs),
        "--activations",
        "tanh,proposed",
        "--seeds",
        "2",
        "--tuning-seeds",
        "1",
        "--max-epochs",
        "25",
        "--lr-grid",
        "0.01,0.05",
        "--trace-every",
        "0",
        "--width",
        "6",
        "--depth",
        "3",
        "--bootstrap",
        "200",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)  # not --quiet
    assert result.exit_code == 0, result.output
    assert "speed-up" in result.stdout
    # no terminal here: the log still says how far the comparison got, on stderr
    assert "tune: 6/6" in result.stderr and "evaluate: 6/6" in result.stderr
    # and, one run at a time, how far the current run is (here: the runs that used up 25 epochs)
    assert "epochs of the run: 25/25" in result.stderr
    results = json.loads((out / "results.json").read_text())
    assert set(results) >= {"config", "runs", "summary", "environment"}
    assert {r["activation"] for r in results["runs"]} == {"tanh", "proposed", "relu"}
    run = results["runs"][0]
    assert set(run) >= {"activation", "seed", "lr", "epochs_to_target", "seconds", "betti_trace"}
    assert results["config"]["lr_grid"] == [0.01, 0.05]
    for name in ("summary.md", "fraction_converged.png", "betti_by_layer.png"):
        assert (out / name).exists()
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    again = _invoke(args)
    assert again.exit_code == 0
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == before
    # a run file damaged by hand stops the resume with the way out, and nothing is lost
    damaged = sorted((out / "runs").iterdir())[0]
    damaged.write_text('{"trunc')
    stopped = _invoke(args)
    message = " ".join(stopped.stderr.split())
    assert stopped.exit_code == 2 and f"{damaged.name}: not valid JSON" in message
    assert "Delete it to run that job again" in message
    damaged.unlink()
    assert _invoke(args).exit_code == 0 and damaged.exists()
    # a wider grid in a new folder reuses the identical runs of the first one
    wider = tmp_path / "wider"
    grid = args.index("--lr-grid") + 1
    grown = [*args[:grid], "0.01,0.05,0.2", *args[grid + 1 : -1], str(wider), "--reuse", str(out)]
    result = _invoke(grown)
    assert result.exit_code == 0, result.output
    imported = [json.loads(p.read_text()).get("imported_from") for p in (wider / "runs").iterdir()]
    assert sum(x is not None for x in imported) >= 3  # the 0.01 and 0.05 tuning runs at least
    assert any(x is None for x in imported)  # the lr 0.2 runs were new
    missing = _invoke([*args[:-1], str(tmp_path / "x"), "--reuse", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "nothing does not exist" in missing.stderr


def test_compare_plan_counts_what_is_left_and_trains_nothing(blobs, tmp_path) -> None:
    from bettiscope.experiments import CompareConfig, plan_compare

    out = tmp_path / "planned"
    args = ["compare", "--dataset", str(blobs), "--activations", "tanh", "--seeds", "2"]
    args += ["--tuning-seeds", "1", "--max-epochs", "5", "--lr-grid", "0.01,0.05"]
    args += ["--trace-every", "0", "--width", "4", "--depth", "2", "--bootstrap", "100"]
    before = _invoke([*args, "--out", str(out), "--plan"])
    assert before.exit_code == 0, before.output
    text = " ".join(before.stdout.split())
    assert "│ tune │ 4 │ 0 │ 4 │ 0 │ 20 │" in text and "│ evaluate │ 4 │ 0 │ 4 │ 0 │ 20 │" in text
    assert "count as to train until tuning is done" in text and "on one core" in text
    assert not out.exists()  # nothing trained, the folder not claimed
    assert _invoke([*args, "--out", str(out)]).exit_code == 0
    after = _invoke([*args, "--out", str(out), "--plan"])
    assert "Nothing to train" in after.stdout
    # two more seeds, in a new folder reusing this one: the tuned rates are known now
    options = {"width": 4, "depth": 2, "val_fraction": 0.2, "batch_size": None,
               "dataset_params": {}, "measure": {}}  # fmt: skip
    config = CompareConfig(
        dataset=str(blobs), activations=["tanh"], seeds=4, tuning_seeds=1, max_epochs=5,
        lr_grid=[0.01, 0.05], trace_every=0, task_kind="mlp", task_options=options,
        bootstrap=100,
    )  # fmt: skip
    plan = plan_compare(config, tmp_path / "more", reuse_from=[out], timing_epochs=1)
    assert plan["lrs_known"]
    done = {"runs": 4, "done": 4, "to_train": 0, "continued": 0, "epochs": 0}
    assert plan["phases"]["tune"] == done
    more = {"runs": 8, "done": 4, "to_train": 4, "continued": 0, "epochs": 20}
    assert plan["phases"]["evaluate"] == more
    assert plan["seconds_per_epoch"]["relu"] > 0 and plan["core_seconds"] > 0
    assert not (tmp_path / "more").exists()


def test_bias_init_is_part_of_a_runs_identity(blobs, tmp_path) -> None:
    def args(out: Path, *extra: str) -> list[str]:
        return [
            "compare", "--dataset", str(blobs), "--activations", "proposed", "--seeds", "1",
            "--max-epochs", "3", "--lr-grid", "0.01", "--trace-every", "0", "--width", "4",
            "--depth", "2", "--bootstrap", "100", "--out", str(out), *extra,
        ]  # fmt: skip

    assert _invoke(args(tmp_path / "zeros")).exit_code == 0
    result = _invoke(
        args(tmp_path / "uniform", "--bias-init", "uniform", "--reuse", str(tmp_path / "zeros"))
    )
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "uniform" / "results.json").read_text())
    assert results["config"]["task_options"]["bias_init"] == "uniform"
    assert results["config"]["task_info"]["model"]["bias_init"] == "uniform"
    # the summary and the HTML report name the setting, not just the data set
    title = f"Activation comparison on {blobs}, width 4, depth 2, uniform biases"
    assert (tmp_path / "uniform" / "summary.md").read_text().startswith(f"# {title}\n")
    assert title in (tmp_path / "uniform" / "report.html").read_text()
    # the zero-bias runs are not this comparison's runs: nothing imported
    assert all(run.get("imported_from") is None for run in results["runs"])
    zeros = json.loads((tmp_path / "zeros" / "results.json").read_text())
    assert "bias_init" not in zeros["config"]["task_options"]  # older folders stay reusable
    bad = _invoke(args(tmp_path / "bad", "--bias-init", "ones"))
    assert bad.exit_code == 2 and "bias_init must be one of zeros, uniform" in bad.stderr
    traced = _invoke(
        ["trace", "--dataset", str(blobs), "--width", "4", "--depth", "2", "--epochs", "2",
         "--bias-init", "uniform", "--out", str(tmp_path / "trace")]
    )  # fmt: skip
    assert traced.exit_code == 0, traced.output
    trace = json.loads((tmp_path / "trace" / "trace.json").read_text())
    assert trace["config"]["task"]["model"]["bias_init"] == "uniform"


def test_compare_larger_budget_continues_earlier_runs(blobs, tmp_path) -> None:
    def args(budget: int, out: Path) -> list[str]:
        return [
            "compare", "--dataset", str(blobs), "--activations", "tanh", "--seeds", "2",
            "--lr-grid", "0.01", "--max-epochs", str(budget), "--trace-every", "0",
            "--width", "6", "--depth", "3", "--bootstrap", "200", "--out", str(out),
        ]  # fmt: skip

    first = runner.invoke(app, args(2, tmp_path / "short"))
    assert first.exit_code == 0, first.output
    short = json.loads((tmp_path / "short" / "results.json").read_text())["runs"]
    used_up = {r["id"] for r in short if r["stopped"] == "budget"}
    assert 0 < len(used_up) < 4  # the test needs both kinds
    hint = f"{len(used_up)} evaluation runs missed the target within the 2-epoch budget"
    assert hint in " ".join(first.stdout.split())
    kept = (tmp_path / "short" / "checkpoints" / "final").glob("*.pt")
    assert {p.stem for p in kept} == used_up
    longer = runner.invoke(app, [*args(4, tmp_path / "long"), "--reuse", str(tmp_path / "short")])
    assert longer.exit_code == 0, longer.output
    message = f"{4 - len(used_up)} copied, {len(used_up)} continued from a smaller budget"
    assert message in " ".join(longer.stdout.split())
    runs = json.loads((tmp_path / "long" / "results.json").read_text())["runs"]
    assert {r["id"] for r in runs if r["resumed_from"] == 2} == used_up
    discard = runner.invoke(app, [*args(2, tmp_path / "discard"), "--no-keep-final-state"])
    assert discard.exit_code == 0
    assert not list((tmp_path / "discard").glob("checkpoints/**/*.pt"))
    assert "missed the target" not in discard.stdout  # nothing kept to continue from
    alone = runner.invoke(app, [*args(2, tmp_path / "alone"), "--no-relu-baseline"])
    assert alone.exit_code == 0, alone.output
    assert "no ReLU runs" in alone.stdout
    assert not (tmp_path / "alone" / "speedups.png").exists()  # nothing to compare with
    assert (tmp_path / "short" / "speedups.png").exists()
    assert {
        r["activation"]
        for r in json.loads((tmp_path / "alone" / "results.json").read_text())["runs"]
    } == {"tanh"}


def test_compare_runs_a_user_activation_named_by_import_path(blobs, tmp_path) -> None:
    # in spawned workers, which must import the user's module themselves
    (tmp_path / "my_acts.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass Softfold(nn.Module):\n"
        "    def forward(self, x):\n        return torch.sqrt(x * x + 0.01)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    out = tmp_path / "mine"
    args = ["compare", "--dataset", str(blobs), "--activations", "my_acts.Softfold,relu"]
    args += ["--seeds", "2", "--lr-grid", "0.01", "--max-epochs", "3", "--trace-every", "0"]
    args += ["--width", "6", "--depth", "3", "--bootstrap", "200", "--workers", "2"]
    command = [sys.executable, "-c", "from bettiscope.cli import main; main()", "--quiet"]
    done = subprocess.run(
        [*command, *args, "--out", str(out)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert sorted({r["activation"] for r in runs}) == ["my_acts.Softfold", "relu"]
    assert len(runs) == 4
    assert not list(out.glob("checkpoints/*.progress.json"))  # each run removed its own


def test_compare_full_budget_trains_past_the_target(blobs, tmp_path) -> None:
    out = tmp_path / "full"
    args = ["compare", "--dataset", str(blobs), "--activations", "relu", "--seeds", "2"]
    args += ["--max-epochs", "30", "--lr-grid", "0.05", "--trace-every", "0", "--width", "6"]
    result = _invoke(
        [*args, "--depth", "3", "--bootstrap", "200", "--full-budget", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["stop_at_target"] is False
    assert all(r["epochs"] == 30 for r in results["runs"])
    assert any(r["epochs_to_train_target"] is not None for r in results["runs"])
    # every run used up the budget by design; the hint counts only those that missed the target
    missed = sum(r["epochs_to_target"] is None for r in results["runs"])
    text = " ".join(result.stdout.split())
    if missed:
        assert f"{missed} evaluation runs missed the target" in text
    else:
        assert "missed the target" not in text


def test_compare_errors(blobs, tmp_path) -> None:
    out = str(tmp_path / "c")
    result = _invoke(["compare", "--dataset", str(blobs), "--lr-grid", "fast", "--out", out])
    assert result.exit_code == 2 and "--lr-grid" in result.stderr
    result = _invoke(
        ["compare", "--dataset", str(blobs), "--activations", "relu,nope", "--out", out]
    )
    assert result.exit_code == 2 and "Unknown activation 'nope'" in result.stderr
    result = _invoke(["compare", "--dataset", "no-such-set", "--out", out])
    assert result.exit_code == 2 and "no-such-set" in result.stderr.lower()
    # a failed start does not claim the folder: the corrected command runs there
    assert not (tmp_path / "c" / "config.json").exists()
    result = _invoke(["trace", "--dataset", str(blobs), "--lr-decay-steps", "-3", "--out", out])
    assert result.exit_code == 2 and "lr_decay_steps" in result.stderr
    # a bad Betti parameter would first be used at a trace, long after the start
    result = _invoke(["compare", "--dataset", str(blobs), "--k", "0", "--out", out])
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2 and "'k' parameter of the Betti measurement" in message
    # a network that cannot fit is refused by an estimate, before anything is allocated
    for command in ("compare", "trace"):
        result = _invoke([command, "--dataset", str(blobs), "--width", "3000000", "--out", out])
        message = " ".join(result.stderr.split())
        assert result.exit_code == 2 and "Training a width-3,000,000, depth-10 MLP" in message
        assert "TiB" in message and "--batch-size (now full batch" in message
    assert not (tmp_path / "c" / "config.json").exists()


def test_out_of_memory_inside_a_library_is_one_clear_line(capsys) -> None:
    import typer

    from bettiscope.cli._common import user_errors

    with pytest.raises(typer.Exit) as stopped, user_errors():
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
            "memory: you tried to allocate 160000000000 bytes."
        )
    assert stopped.value.exit_code == 2
    printed = " ".join(capsys.readouterr().err.split())
    # the bracketed part is kept (Rich would take it for a style tag unless escaped)
    assert "out of memory: [enforce fail at alloc_cpu.cpp:127] err == 0." in printed
    with pytest.raises(RuntimeError, match="a bug"), user_errors():
        raise RuntimeError("a bug, not a memory error")  # still a traceback: to be reported


@pytest.mark.parametrize(
    ("cause", "code", "expected"),
    [
        (ValueError("bad k"), 2, "error: bad k"),
        (RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), 2, "out of memory: CUDA"),
        (KeyError("spec"), 1, "job 3 ('item') failed: KeyError"),
    ],
)
def test_a_worker_failure_is_one_clear_line(capsys, cause, code, expected) -> None:
    import typer

    from bettiscope.cli._common import user_errors
    from bettiscope.executor import JobError

    with pytest.raises(typer.Exit) as stopped, user_errors():
        raise JobError(3, "item", cause)
    assert stopped.value.exit_code == code
    assert expected in " ".join(capsys.readouterr().err.split())


@pytest.mark.skipif(torch_cuda_available(), reason="needs a machine without CUDA")
def test_compare_on_a_missing_gpu_fails_before_any_worker_starts(blobs, tmp_path) -> None:
    out = tmp_path / "gpu"
    args = ["compare", "--dataset", str(blobs), "--device", "cuda", "--workers", "2"]
    result = _invoke([*args, "--out", str(out)])
    assert result.exit_code == 2 and "CUDA is not available here" in result.stderr
    assert not out.exists()


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (read from /proc: no psutil needed)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:  # the process may end between listing and reading
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_stops_compare_and_its_workers(tmp_path) -> None:
    # random labels: no run ever reaches the target, so every job trains for its whole budget
    rng = np.random.default_rng(1)
    noise = save_point_cloud(
        tmp_path / "noise.npz",
        rng.normal(size=(200, 2)),
        np.arange(200) % 2,
        {"measure": {"metric": "knn-hop", "k": 6, "scale": 2.5, "stride": 1, "max_dim": 0}},
    )
    out = tmp_path / "cmp"
    command = [sys.executable, "-c", "from bettiscope.cli import main; main()", "--quiet"]
    args = ["compare", "--dataset", str(noise), "--activations", "tanh", "--seeds", "2"]
    args += ["--tuning-seeds", "1", "--lr-grid", "0.01,0.05", "--max-epochs", "200000"]
    args += ["--trace-every", "0", "--width", "4", "--depth", "2", "--workers", "2"]
    # stderr to a file, not a pipe: a full pipe nobody reads would block the command
    log = (tmp_path / "stderr.txt").open("wb")
    process = subprocess.Popen([*command, *args, "--out", str(out)], stderr=log)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            workers = {pid for pid in _children(process.pid) if b"spawn_main" in _cmdline(pid)}
        assert len(workers) == 2, "the comparison never started its two workers"
        time.sleep(1.0)  # let the jobs start training
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers), "workers outlived the command"
        assert process.returncode == 130
        assert (out / "config.json").exists()  # the folder stays claimed, to be resumed
        log.close()
        said = (tmp_path / "stderr.txt").read_text()
        assert "interrupted: finished runs and checkpoints are kept in" in said
        assert "run the same command to resume" in said and "Traceback" not in said
    finally:
        log.close()
        for pid in [process.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--limit", "100"], "--limit apply to image data sets (CNN tasks)"),
        (["--model", "resnet", "--classes", "3,5"], "--model, --classes apply to image data"),
        (["--task", "foo"], "--task must be mlp or cnn; got 'foo'"),
        (["--task", "cnn", "--data-param", "n=2"], "this is a CNN task (--task cnn)"),
        (["--backend", "foo"], "--backend must be one of local, ray; got 'foo'"),
        (["--lr-grid", "0.01,,0.1"], "--lr-grid: an empty entry in '0.01,,0.1'"),
        (["--lr-grid", "inf"], "learning rates must be finite and > 0"),
        (["--activations", ","], "activations must be a list of names"),
        (["--val-fraction", "0", "--target-val-acc", "0.9"], "needs held-out data"),
    ],
)
def test_compare_refuses_options_it_would_ignore(blobs, tmp_path, extra, message) -> None:
    args = ["compare", "--dataset", str(blobs), "--seeds", "1", "--max-epochs", "2"]
    for plan in ([], ["--plan"]):  # the plan refuses what the run would refuse
        result = _invoke([*args, "--out", str(tmp_path / "x"), *extra, *plan])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.stderr.split()), result.stderr
    assert not (tmp_path / "x").exists()


def test_compare_table_keeps_open_ended_intervals(tmp_path, capsys) -> None:
    # Rich reads "[inf, inf]" as a style tag; the console table must still show it
    from bettiscope.cli.compare import _render

    def cell(epochs, speed=None):
        cell = {"success_rate": 1.0, "median_epochs": epochs}
        if speed is not None:
            cell["speedup_vs_relu"] = {"speedup": speed[0], "low": speed[1], "high": speed[2]}
            cell["wilcoxon_vs_relu"] = {"p_value": 0.002}
        return cell

    summary = {
        "activations": {
            "relu": {"lr": 0.003, "train_target": cell(None)},
            "proposed": {"lr": 0.003, "train_target": cell(1460, (float("inf"),) * 3)},
        },
        "lrs": {"relu": {"lr": 0.003}, "proposed": {"lr": 0.003}},
    }
    results = {"config": {"target_train_acc": 1.0, "dataset": "nested-shells"}, "runs": []}
    _render({**results, "summary": summary}, tmp_path)
    assert "inf [inf, inf]" in capsys.readouterr().out
