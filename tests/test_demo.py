"""The main job: run folder layout, stage statuses, Ctrl-C and --resume, and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bettiscope import demo as demo_mod
from bettiscope.cli import app
from bettiscope.config import DemoConfig, apply_overrides, load_config
from bettiscope.demo import StageSpec, StageUnavailable, run_demo

ONLY_SHAPES = [
    "datasets.enabled=false",
    "compare.enabled=false",
    "trace.enabled=false",
    "pruning.enabled=false",
    "run.workers=1",
]


def tiny_config(*extra: str) -> DemoConfig:
    return apply_overrides(DemoConfig(), [*ONLY_SHAPES, *extra])


def test_shapes_only_run_folder(tmp_path) -> None:
    run = tmp_path / "run"
    steps: list[tuple[str, int, int]] = []
    results = run_demo(run, tiny_config(), progress=lambda *a: steps.append(a))
    for name in ("config.yaml", "results.json", "report.html", "demo.log", "figures/shapes.png"):
        assert (run / name).exists(), name
    stages = results["stages"]
    assert list(stages) == ["shapes", "datasets", "compare", "trace", "pruning"]
    assert stages["shapes"]["status"] == "done"
    assert all(stages[k]["status"] == "skipped" for k in list(stages)[1:])
    rows = stages["shapes"]["data"]["shapes"]
    assert len(rows) == len(demo_mod.SHAPE_CASES) and all(row["match"] for row in rows)
    assert json.loads((run / "results.json").read_text())["stages"] == json.loads(
        json.dumps(stages)
    )
    assert load_config(run / "config.yaml") == tiny_config()
    assert results["environment"]["packages"]["numpy"]
    assert steps[-1][1:] == (10, 10) and steps[0][0].startswith("[0/4] shapes")
    page = (run / "report.html").read_text()
    assert "10/10 measured Betti numbers match" in page and "data:image/png;base64," in page
    assert "stage shapes: done" in (run / "demo.log").read_text()


class _Calls:
    def __init__(self) -> None:
        self.calls: list[str] = []


@pytest.fixture
def fake_stages(monkeypatch):
    """Replace the real stages by quick fakes that count their calls."""
    calls = _Calls()
    state = {"interrupt": True}

    def good(ctx):
        calls.calls.append("good")
        return {"headline": "fine", "data": {"x": 1}}

    def missing(ctx):
        calls.calls.append("missing")
        raise StageUnavailable("needs bettiscope.nothing, not here yet")

    def flaky(ctx):
        calls.calls.append("flaky")
        ctx.report(1, 3, "job 1")
        if state["interrupt"]:
            raise KeyboardInterrupt
        return {"headline": "resumed"}

    def broken(ctx):
        calls.calls.append("broken")
        raise RuntimeError("a bug")

    monkeypatch.setattr(
        demo_mod,
        "STAGES",
        (
            StageSpec("shapes", "A", good),
            StageSpec("datasets", "B", missing),
            StageSpec("compare", "C", flaky),
            StageSpec("trace", "D", broken),
            StageSpec("pruning", "E", good),
        ),
    )
    return calls, state


def test_interrupt_then_resume(tmp_path, fake_stages) -> None:
    calls, state = fake_stages
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_demo(run, DemoConfig())
    assert calls.calls == ["good", "missing", "flaky"]
    saved = json.loads((run / "results.json").read_text())
    assert saved["stages"]["shapes"]["status"] == "done"
    assert saved["stages"]["datasets"]["status"] == "unavailable"
    assert saved["stages"]["compare"]["status"] == "pending"
    assert "--resume" in saved["stages"]["compare"]["reason"]
    assert "interrupted" in (run / "report.html").read_text().lower()

    state["interrupt"] = False
    calls.calls.clear()
    results = run_demo(run, resume=True)
    # done stages are not redone; unavailable ones are retried; the rest run
    assert calls.calls == ["missing", "flaky", "broken", "good"]
    stages = results["stages"]
    assert [stages[k]["status"] for k in stages] == [
        "done",
        "unavailable",
        "done",
        "failed",
        "done",
    ]
    assert stages["compare"]["headline"] == "resumed"
    assert "RuntimeError: a bug" in stages["trace"]["reason"]
    log = (run / "demo.log").read_text()
    assert "resuming run" in log and "Traceback" in log and "RuntimeError: a bug" in log
    page = (run / "report.html").read_text()
    assert "needs bettiscope.nothing, not here yet" in page


def test_run_folder_errors(tmp_path, fake_stages) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match=r"full: folder is not empty; .*--resume"):
        run_demo(tmp_path / "full", DemoConfig())
    with pytest.raises(ValueError, match=r"full: not a run folder to resume"):
        run_demo(tmp_path / "full", resume=True)
    _, state = fake_stages
    state["interrupt"] = False
    run_demo(tmp_path / "run", tiny_config())
    with pytest.raises(ValueError, match=r"--resume continues with the run's saved settings"):
        run_demo(tmp_path / "run", tiny_config("compare.seeds=9"), resume=True)


class TestCli:
    def test_demo_and_resume(self, tmp_path) -> None:
        runner = CliRunner()
        run = tmp_path / "run"
        args = ["demo", "--out", str(run), *[a for s in ONLY_SHAPES for a in ("--set", s)]]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "Report:" in result.stdout and "report.html" in result.stdout
        assert "done" in result.stdout
        result = runner.invoke(app, ["demo", "--resume", str(run)])
        assert result.exit_code == 0, result.output

    def test_config_file_and_options(self, tmp_path) -> None:
        cfg = tmp_path / "demo.toml"
        cfg.write_text(
            "[datasets]\nenabled = false\n[compare]\nenabled = false\n"
            "[trace]\nenabled = false\n[pruning]\nenabled = false\n"
        )
        run = tmp_path / "run"
        result = CliRunner().invoke(
            app, ["demo", "--out", str(run), "--config", str(cfg), "--workers", "1"]
        )
        assert result.exit_code == 0, result.output
        saved = load_config(run / "config.yaml")
        assert saved.run.workers == 1 and not saved.pruning.enabled

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--set", "compare.sedes=3"], "unknown setting 'compare.sedes'"),
            (["--set", "compare.seeds=x"], "'compare.seeds' in --set must be int"),
            (["--config", "missing.toml"], "missing.toml: no such settings file"),
            (["--resume", "RUN", "--set", "compare.seeds=3"], "do not combine it with --config"),
            (["--resume", "RUN", "--out", "RUN"], "either --out"),
            (["--resume", "nowhere"], "nowhere: not a run folder to resume"),
        ],
    )
    def test_bad_input_is_one_line_exit_2(self, tmp_path, monkeypatch, args, message) -> None:
        monkeypatch.chdir(tmp_path)
        args = [a.replace("RUN", str(tmp_path)) for a in args]
        result = CliRunner().invoke(app, ["demo", *args])
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "runs").exists()  # nothing started

    def test_ctrl_c_exits_130_with_resume_hint(self, tmp_path, monkeypatch) -> None:
        from bettiscope.cli import demo as demo_cli

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(demo_cli, "run_demo", interrupted)
        result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "r")])
        assert result.exit_code == 130
        assert "bettiscope demo --resume" in result.stderr

    def test_failed_stage_exits_1(self, tmp_path, fake_stages) -> None:
        _, state = fake_stages
        state["interrupt"] = False
        result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "r")])
        assert result.exit_code == 1
        assert "stage(s) trace failed" in result.stderr
        assert "failed" in result.stdout


def _stage_only(stage: str, *extra: str) -> DemoConfig:
    keys = ["shapes", "datasets", "compare", "trace", "pruning"]
    off = [f"{k}.enabled=false" for k in keys if k != stage]
    return apply_overrides(DemoConfig(), [*off, "run.workers=1", *extra])


@pytest.mark.slow
def test_trace_stage_tiny(tmp_path) -> None:
    pytest.importorskip("bettiscope.probe")
    run = tmp_path / "run"
    cfg = _stage_only("trace", "trace.epochs=4", "trace.every=2", "trace.activations=relu,tanh")
    results = run_demo(run, cfg)
    stage = results["stages"]["trace"]
    assert stage["status"] == "done", stage.get("reason")
    runs = stage["data"]["runs"]
    assert [r["activation"] for r in runs] == ["relu", "tanh"]
    for record in runs:
        assert record["epochs"] == [0, 2, 4]
        assert record["layers"][0] == "input" and record["layers"][-1] == "logits"
        assert len(record["betti"]) == 3
        assert record["true_betti"] == {"0": [9, 0], "1": [1, 9]}
    assert (run / "figures" / "trace_heatmaps.png").exists()
    assert (run / "jobs" / "trace" / "relu.json").exists()
    assert "4 epochs of full-batch Adam" in stage["budget"]
    # a resumed run reuses the finished jobs: same numbers, nothing retrained
    stamp = (run / "jobs" / "trace" / "tanh.json").stat().st_mtime_ns
    (run / "jobs" / "trace" / "relu.json").unlink()
    results["stages"]["trace"]["status"] = "pending"
    import json as _json

    (run / "results.json").write_text(_json.dumps(results))
    again = run_demo(run, resume=True)["stages"]["trace"]["data"]["runs"]
    assert again == runs
    assert (run / "jobs" / "trace" / "tanh.json").stat().st_mtime_ns == stamp


def test_datasets_stage_tiny(tmp_path) -> None:
    pytest.importorskip("bettiscope.datasets.registry")
    run = tmp_path / "run"
    cfg = _stage_only("datasets", "datasets.names=D-I,disks-grid", "datasets.plot_points=500")
    stage = run_demo(run, cfg)["stages"]["datasets"]
    assert stage["status"] == "done", stage.get("reason")
    records = stage["data"]["datasets"]
    assert [r["name"] for r in records] == ["D-I", "disks-grid"]
    by_name = {r["name"]: r for r in records}
    assert [c["true"] for c in by_name["D-I"]["classes"]] == [[9, 0], [1, 9]]
    assert [c["true"] for c in by_name["disks-grid"]["classes"]] == [[169, 0], [1, 169]]
    for record in records:  # measured independently, compared honestly
        for c in record["classes"]:
            assert c["match"] == (c["measured"] == c["true"])
    assert stage["headline"].endswith("measured Betti numbers = true ones")
    assert (run / "figures" / "dataset_D-I.png").exists()
    assert (run / "jobs" / "datasets" / "disks-grid.json").exists()


def test_datasets_stage_unknown_name_is_refused_with_the_settings() -> None:
    # refused when the settings load, not minutes later in the stage (--resume could not mend it)
    with pytest.raises(ValueError, match="setting datasets.names: unknown data set 'D-IV'"):
        _stage_only("datasets", "datasets.names=D-IV")


def test_missing_module_is_reported_not_faked(tmp_path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "bettiscope.probe", None)  # as if it had not landed
    stage = run_demo(tmp_path / "run", _stage_only("trace"))["stages"]["trace"]
    assert stage["status"] == "unavailable"
    assert "needs bettiscope.probe" in stage["reason"]
    assert "data" not in stage and "tables" not in stage


@pytest.mark.slow
def test_compare_stage_tiny(tmp_path) -> None:
    pytest.importorskip("bettiscope.experiments")
    run = tmp_path / "run"
    cfg = _stage_only(
        "compare",
        "compare.activations=proposed,relu",
        "compare.seeds=2",
        "compare.max_epochs=5",
        "compare.lr_grid=[0.01]",
        "compare.dataset_params={spacing: 0.06}",
    )
    stage = run_demo(run, cfg)["stages"]["compare"]
    assert stage["status"] == "done", stage.get("reason")
    summary = stage["data"]["summary"]
    assert list(summary["activations"]) == ["proposed", "relu"]
    assert len(summary["activations"]["relu"]["train_target"]["epochs"]) == 2
    rows = stage["tables"][0]["rows"]
    assert [r[0] for r in rows] == ["proposed", "relu"] and rows[1][5] == "baseline"
    assert "2 evaluation seeds (the full study: 10)" in stage["budget"]
    assert "not evidence for or against" in stage["notes"][0]
    assert (run / "jobs" / "compare" / "results.json").exists()
    shown = [figure["file"] for figure in stage["figures"]]
    assert "jobs/compare/speedups.png" in shown and (run / "jobs/compare/speedups.png").exists()


@pytest.mark.slow
def test_pruning_stage_tiny(tmp_path) -> None:
    pytest.importorskip("bettiscope.pruning.flow")
    run = tmp_path / "run"
    cfg = _stage_only(
        "pruning",
        "pruning.epochs=1",
        "pruning.samples=60",
        "pruning.finetune_epochs=0",
        "pruning.baselines=random,l1",
    )
    stage = run_demo(run, cfg)["stages"]["pruning"]
    assert stage["status"] == "done", stage.get("reason")
    methods = stage["data"]["pruning"]["methods"]
    assert [m["name"] for m in methods] == ["betti", "random", "l1"]
    rows = stage["tables"][0]["rows"]
    assert [r[0] for r in rows] == ["original", "betti", "random", "l1"]
    original = stage["data"]["pruning"]["original"]
    assert rows[0][2]["text"] == f"{original['accuracy']:.4f}"
    assert stage["data"]["rule"] == "betti > 300"
    assert (run / "jobs" / "pruning" / "train" / "model.pt").exists()
    assert (run / "jobs" / "pruning" / "prune" / "pruning.json").exists()
    assert "1 training epochs, 60 images scored" in stage["budget"]


@pytest.mark.slow
def test_ray_backend_gives_the_same_results(tmp_path) -> None:
    pytest.importorskip("ray")
    pytest.importorskip("bettiscope.datasets.registry")
    cfg = _stage_only("datasets", "datasets.names=D-I,disks-grid", "datasets.plot_points=200")
    local = run_demo(tmp_path / "local", cfg)["stages"]["datasets"]["data"]["datasets"]
    on_ray = apply_overrides(cfg, ["run.backend=ray"])
    results = run_demo(tmp_path / "ray", on_ray)
    assert results["backend"] == "ray"
    remote = results["stages"]["datasets"]["data"]["datasets"]

    def numbers(records):
        return [(r["name"], [(c["true"], c["measured"]) for c in r["classes"]]) for r in records]

    assert numbers(remote) == numbers(local)
    assert (tmp_path / "ray" / "jobs" / "datasets" / "D-I.json").exists()
