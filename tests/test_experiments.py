"""Comparison protocol: specs, lr choice, statistics with known answers, resume, results files."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bettiscope.experiments import (
    CompareConfig,
    StudyTask,
    choose_lrs,
    evaluation_specs,
    execute_run,
    export_results,
    init_divergence_warnings,
    is_partial_archive,
    plan_compare,
    read_archive,
    register_task,
    run_compare,
    tuning_specs,
    tuning_warnings,
)
from bettiscope.models import build_mlp
from bettiscope.storage import to_jsonable
from bettiscope.training import TrainConfig

MEASURE = {"metric": "knn-hop", "k": 6, "scale": 2.5, "stride": 1, "max_dim": 1}


def _toy_model(activation, seed):
    return build_mlp(2, 2, width=6, depth=3, activation=activation, seed=seed)


def toy_task(
    dataset: str, *, data_seed: int = 0, n: int = 120, measure: dict | None = None
) -> StudyTask:
    """Two noisy blobs: every activation separates them within a few epochs."""
    g = torch.Generator().manual_seed(data_seed)
    y = torch.arange(n) % 2
    X = torch.randn(n, 2, generator=g) * 0.4 + (y[:, None] * 2.0 - 1.0)
    return StudyTask(
        name=dataset,
        build_model=_toy_model,
        train=(X[: n * 3 // 4], y[: n * 3 // 4]),
        val=(X[n * 3 // 4 :], y[n * 3 // 4 :]),
        probe_inputs=X[: n * 3 // 4],
        probe_labels=y[: n * 3 // 4],
        measure={**MEASURE, **(measure or {})},
        train_defaults=TrainConfig(lr=0.01),
        info={"dataset": dataset},
    )


register_task("toy", toy_task, datasets=["toy-blobs"])


def _deep_toy_model(activation, seed):
    return build_mlp(2, 2, width=15, depth=10, activation=activation, seed=seed)


def deep_toy_task(dataset: str, **options) -> StudyTask:
    """The blobs through the Naitzat-sized net (9 hidden layers of 15 units)."""
    return replace(toy_task(dataset, **options), build_model=_deep_toy_model)


register_task("toy-deep", deep_toy_task, datasets=["toy-deep-blobs"])


def _config(**changes) -> CompareConfig:
    base = {
        "dataset": "toy-blobs",
        "activations": ["tanh"],
        "seeds": 3,
        "tuning_seeds": 2,
        "max_epochs": 40,
        "lr_grid": [0.003, 0.03],
        "trace_every": 10,
        "bootstrap": 500,
    }
    return CompareConfig(**{**base, **changes}).validate()


def test_config_adds_relu_and_validates() -> None:
    config = _config(activations=["Tanh", "proposed"])
    assert config.activations == ["tanh", "proposed", "relu"]
    assert config.task()["kind"] == "toy"
    with pytest.raises(ValueError, match="Unknown activation 'swish2'"):
        _config(activations=["swish2"])
    with pytest.raises(ValueError, match="seeds must be >= 1"):
        _config(seeds=0)


def test_specs_are_paired_and_disjoint() -> None:
    config = _config()
    tune = tuning_specs(config)
    assert len(tune) == 2 * 2 * 2  # activations x lrs x tuning seeds
    assert {s["seed"] for s in tune} == {1000, 1001}
    lrs = {"tanh": {"lr": 0.03}, "relu": {"lr": 0.003}}
    evaluation = evaluation_specs(config, lrs)
    assert {(s["activation"], s["seed"]) for s in evaluation} == {
        (a, s) for a in ("tanh", "relu") for s in (0, 1, 2)
    }
    assert all(s["trace_every"] == 10 for s in evaluation)
    assert tuning_specs(_config(lr_grid=[0.01])) == []
    extra = evaluation_specs(_config(relu_lr_runs=True), lrs)
    assert sum(s["phase"] == "relu_lr" and s["lr"] == 0.003 for s in extra) == 3


def test_choose_lrs_by_median_with_misses() -> None:
    config = _config(activations=["tanh"])

    def rec(activation, lr, epochs, loss=0.1):
        return {"activation": activation, "lr": lr, "epochs_to_target": epochs, "final_loss": loss}

    records = [
        rec("tanh", 0.003, 30),
        rec("tanh", 0.003, None),  # median of (30, inf) = inf
        rec("tanh", 0.03, 12),
        rec("tanh", 0.03, 20),
        rec("relu", 0.003, None, 0.5),
        rec("relu", 0.003, None, 0.5),
        rec("relu", 0.03, None, 0.2),  # all miss: lowest loss wins
        rec("relu", 0.03, None, 0.2),
    ]
    chosen = choose_lrs(config, records)
    assert chosen["tanh"]["lr"] == 0.03 and chosen["tanh"]["median_epochs"] == 16
    assert chosen["relu"]["lr"] == 0.03 and chosen["relu"]["successes"] == 0


def test_tuning_warnings_flag_grid_ends_and_all_miss_choices() -> None:
    config = _config(activations=["tanh", "gelu", "silu"], lr_grid=[0.001, 0.01, 0.1])

    def rec(activation, lr, epochs, loss=0.1):
        return {"activation": activation, "lr": lr, "epochs_to_target": epochs, "final_loss": loss}

    records = []
    for lr, tanh, relu, gelu, silu in [
        (0.001, 40, None, None, 60),  # tanh and silu: best at the low end
        (0.01, 50, None, 30, 40),  # gelu: best inside the grid
        (0.1, None, None, 50, 20),  # silu: best at the high end
    ]:
        for _seed in range(2):
            records += [rec("tanh", lr, tanh), rec("gelu", lr, gelu), rec("silu", lr, silu)]
            records.append(rec("relu", lr, relu, loss=1.0 - lr))
    warnings = tuning_warnings(choose_lrs(config, records))
    assert len(warnings) == 3, warnings
    assert any(w.startswith("tanh (lr 0.001)") and "lowest" in w for w in warnings)
    assert any(w.startswith("silu (lr 0.1)") and "highest" in w for w in warnings)
    # relu missed everywhere; its lowest loss is at the highest lr
    assert any(w.startswith("relu (lr 0.1)") and "missed" in w and "highest" in w for w in warnings)
    assert not any(w.startswith("gelu") for w in warnings)
    # one-point grid or a two-point grid: nothing to warn about
    assert tuning_warnings(choose_lrs(_config(lr_grid=[0.01]), [])) == []


def test_compare_blames_an_overflowing_initialisation_not_the_learning_rate(tmp_path) -> None:
    # z(2 - z) squares large inputs: through 9 Glorot layers the untrained net's outputs are
    # inf/NaN, so every run diverges before its first step whatever its learning rate
    config = _config(
        dataset="toy-deep-blobs",
        activations=["parabolic_cone"],
        lr_grid=[0.001, 0.01, 0.1],
        seeds=2,
        tuning_seeds=1,
        max_epochs=5,
        trace_every=0,
    )
    results = run_compare(config, tmp_path / "tuned")
    rows = results["summary"]["activations"]
    assert rows["parabolic_cone"]["diverged_at_init"] == 2
    assert rows["relu"]["diverged_at_init"] == 0
    assert all(
        point["diverged_at_init"] == point["runs"] == 1
        for point in results["summary"]["lrs"]["parabolic_cone"]["grid"]
    )
    warnings = tuning_warnings(results["summary"]["lrs"])
    overflow = [w for w in warnings if w.startswith("parabolic_cone")]
    assert len(overflow) == 1 and "no learning rate can train it" in overflow[0]
    assert "extend --lr-grid" not in overflow[0]  # the grid is not what is wrong
    assert init_divergence_warnings(results["summary"]) == []  # said once, not twice
    summary_md = (tmp_path / "tuned" / "summary.md").read_text()
    assert "non-finite before the first optimiser step" in summary_md
    assert "1 non-finite at init" in summary_md  # the tuning table's cells
    # without tuning, the evaluation runs carry the warning
    untuned = run_compare(
        replace(config, lr_grid=[0.01], activations=["parabolic_cone"]), tmp_path / "one"
    )
    (text,) = init_divergence_warnings(untuned["summary"])
    assert text.startswith("parabolic_cone: 2 of 2 evaluation runs")


def test_execute_run_record() -> None:
    config = _config()
    spec = evaluation_specs(config, {"tanh": {"lr": 0.03}, "relu": {"lr": 0.03}})[0]
    record = execute_run(spec)
    for key in ("activation", "seed", "lr", "epochs_to_target", "seconds", "betti_trace"):
        assert key in record
    assert record["epochs_to_target"] is not None and record["stopped"] == "target"
    epochs = [e["epoch"] for e in record["betti_trace"]["entries"]]
    assert epochs[0] == 0 and epochs[-1] == record["epochs"]
    assert record["betti_trace"]["layers"] == ["input", "act1", "act2", "logits"]
    json.dumps(record)  # JSON-ready


def test_run_compare_end_to_end_and_resume(tmp_path) -> None:
    config = _config(target_val_acc=0.9)
    results = run_compare(config, tmp_path)
    for name in (
        "results.json",
        "summary.md",
        "report.html",
        "fraction_converged.png",
        "betti_by_layer.png",
        "speedups.png",
    ):
        assert (tmp_path / name).exists(), name
    saved = json.loads((tmp_path / "results.json").read_text())
    # the forest plot's numbers are the summary's (same bootstrap draws)
    from bettiscope.paired import SpeedupPlot, SpeedupRow, speedup_rows

    row = SpeedupRow("tanh", [f"{tmp_path}:relu"], [f"{tmp_path}:tanh"])
    drawn = speedup_rows(SpeedupPlot(rows=[row]), resamples=config.bootstrap)[0]["speedup"]
    summary_speedup = saved["summary"]["activations"]["tanh"]["train_target"]["speedup_vs_relu"]
    assert to_jsonable(drawn) == summary_speedup
    # the figure is drawn from the summary: the same rows as from re-reading the folder
    from bettiscope.paired import _forest_row, summary_rows

    from_folder = speedup_rows(SpeedupPlot(rows=[row]), resamples=config.bootstrap)[0]
    from_summary = summary_rows(saved["summary"], config.max_epochs, config.evaluation_seeds)
    assert [r["label"] for r in from_summary] == ["tanh"]
    assert _forest_row(from_summary[0]) == _forest_row(to_jsonable(from_folder))
    for arm in ("baseline", "other"):
        for key in ("median_epochs", "successes", "final_train_acc_median"):
            assert from_summary[0][arm][key] == from_folder[arm][key], (arm, key)
    assert from_summary[0]["wilcoxon"]["p_value"] == from_folder["wilcoxon"]["p_value"]
    assert "Speed-ups over ReLU, as in the table." in (tmp_path / "report.html").read_text()
    assert saved["config"]["dataset"] == "toy-blobs" and "environment" in saved
    assert len(saved["runs"]) == 6 and len(list((tmp_path / "runs").glob("*.json"))) == 14
    tanh = saved["summary"]["activations"]["tanh"]
    assert set(tanh) >= {"train_target", "val_target", "target", "lr", "seconds_per_epoch"}
    assert tanh["train_target"]["speedup_vs_relu"]["resamples"] == 500
    summary_text = (tmp_path / "summary.md").read_text()
    assert "Activation comparison on toy-blobs" in summary_text
    assert "2 tuning seeds, learning-rate grid [0.003, 0.03]" in summary_text
    # resume: nothing is re-run (the run files are untouched)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").glob("*.json")}
    again = run_compare(_config(target_val_acc=0.9), tmp_path)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert again["summary"] == results["summary"]
    with pytest.raises(ValueError, match="different configuration"):
        run_compare(_config(seeds=4), tmp_path)


def test_output_folder_checks(tmp_path, monkeypatch) -> None:
    import bettiscope.experiments as experiments

    # a comparison whose first run failed to start leaves its config but no work: the
    # corrected command takes the folder over instead of calling it another comparison
    def fail_at_start(*args, **kwargs):
        raise ValueError("bad input found when the first run starts")

    with monkeypatch.context() as patch:
        patch.setattr(experiments, "_run_phase", fail_at_start)
        with pytest.raises(ValueError, match="first run starts"):
            run_compare(_config(max_epochs=5), tmp_path / "c")
    assert (tmp_path / "c" / "config.json").exists()
    leftover = tmp_path / "c" / "checkpoints" / "eval-tanh-lr0.03-seed0.trace.json"
    leftover.parent.mkdir()
    leftover.write_text("[]")  # a partial trace the failed start left behind
    run_compare(_config(max_epochs=6, lr_grid=[0.03], trace_every=0), tmp_path / "c")
    assert not leftover.exists()  # not taken for the new configuration's partial trace
    with pytest.raises(ValueError, match="different configuration"):  # now it holds work
        plan_compare(_config(max_epochs=5), tmp_path / "c")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file; the comparison needs a folder"):
        run_compare(_config(), tmp_path / "file")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "trace.json").write_text("{}")
    with pytest.raises(ValueError, match=r"holds a trace \(bettiscope trace\)"):
        plan_compare(_config(), tmp_path / "t")
    with pytest.raises(ValueError, match="is a folder; name the archive file"):
        export_results(tmp_path / "c", tmp_path)
    with pytest.raises(ValueError, match="no such comparison folder"):
        export_results(tmp_path / "nowhere", tmp_path / "x.json")


def test_reuse_imports_only_identical_runs(tmp_path) -> None:
    first = run_compare(_config(lr_grid=[0.003, 0.03], trace_every=0), tmp_path / "a")
    # same runs, one more lr and a different budget for nothing: grid growth only
    grown = run_compare(
        _config(lr_grid=[0.003, 0.03, 0.1], trace_every=0),
        tmp_path / "b",
        reuse_from=[tmp_path / "a"],
    )
    records = [json.loads(p.read_text()) for p in (tmp_path / "b" / "runs").glob("*.json")]
    imported = [r for r in records if r.get("imported_from")]
    assert {(r["lr"], r["seed"]) for r in imported if r["phase"] == "tune"} == {
        (lr, seed) for lr in (0.003, 0.03) for seed in (1000, 1001)
    } and all(r["lr"] != 0.1 for r in imported)
    if grown["summary"]["lrs"] == first["summary"]["lrs"]:  # same choice: evaluation reused too
        assert all(r.get("imported_from") for r in records if r["phase"] == "eval")
    # a smaller budget: only runs that ended by themselves within it are the same runs
    run_compare(
        _config(lr_grid=[0.003, 0.03], trace_every=0, max_epochs=30),
        tmp_path / "c",
        reuse_from=[tmp_path / "a"],
    )
    before = {p.name: json.loads(p.read_text()) for p in (tmp_path / "a" / "runs").glob("*")}
    after = {p.name: json.loads(p.read_text()) for p in (tmp_path / "c" / "runs").glob("*")}
    within = {
        name
        for name, r in before.items()
        if (r["stopped"], r["epochs"] <= 30) == ("target", True)
        or (r["stopped"], r["epochs"] < 30) == ("diverged", True)
    }
    assert within and within != set(before)  # the test needs both kinds
    assert {name for name, r in after.items() if r.get("imported_from")} == within & set(after)
    assert all(after[name]["spec"]["max_epochs"] == 30 for name in within & set(after))
    # other Betti settings: the untraced tuning runs are still the same runs, traced ones not
    run_compare(
        _config(
            lr_grid=[0.003, 0.03],
            trace_every=0,
            task_options={"measure": {"k": 5}},
        ),
        tmp_path / "e",
        reuse_from=[tmp_path / "a"],
    )
    records = [json.loads(p.read_text()) for p in (tmp_path / "e" / "runs").glob("*.json")]
    assert all(bool(r.get("imported_from")) == (r["phase"] == "tune") for r in records)
    with pytest.raises(ValueError, match="nowhere does not exist"):
        run_compare(_config(), tmp_path / "d", reuse_from=[tmp_path / "nowhere"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither a comparison folder"):
        run_compare(_config(), tmp_path / "d", reuse_from=[tmp_path / "empty"])


def test_an_exported_archive_replaces_the_folder(tmp_path) -> None:
    config = _config(lr_grid=[0.003, 0.03], trace_every=10)
    first = run_compare(config, tmp_path / "a")
    archive = export_results(tmp_path / "a", tmp_path / "a.json")
    payload = json.loads(archive.read_text())
    assert payload["summary"] == first["summary"] and payload["config"] == first["config"]
    stored = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "a" / "runs").glob("*")}
    archived = {r["id"]: r for r in payload["runs"] + payload["tuning_runs"]}
    assert archived.keys() == stored.keys()
    assert {r["phase"] for r in payload["tuning_runs"]} == {"tune"}
    for name, record in stored.items():  # everything but the per-epoch history
        assert archived[name] == {k: v for k, v in record.items() if k != "history"}
    assert any(r["betti_trace"] for r in payload["runs"])
    assert payload["exported"]["dropped_run_fields"] == ["history"]
    slim = json.loads(export_results(tmp_path / "a", tmp_path / "s.json", traces=False).read_text())
    assert all("betti_trace" not in r for r in slim["runs"])
    # the archive alone rebuilds the comparison: every run copied, none trained again
    again = run_compare(config, tmp_path / "b", reuse_from=[archive])
    assert again["summary"] == first["summary"]
    records = [json.loads(p.read_text()) for p in (tmp_path / "b" / "runs").glob("*.json")]
    assert len(records) == len(stored)
    assert all(r["imported_from"].startswith(f"{archive}#") for r in records)
    with pytest.raises(ValueError, match="no results.json"):
        export_results(tmp_path / "b" / "runs", tmp_path / "x.json")
    (tmp_path / "bad.json").write_text('{"config": {}, "runs": []}')
    with pytest.raises(ValueError, match="not an exported comparison"):
        run_compare(config, tmp_path / "c", reuse_from=[tmp_path / "bad.json"])
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        run_compare(config, tmp_path / "c", reuse_from=[tmp_path / "broken.json"])


def _untimed(item: Any) -> Any:
    """A summary without its wall-clock figures (retrained runs take another time)."""
    if isinstance(item, dict):
        return {k: _untimed(v) for k, v in item.items() if "seconds" not in k}
    return [_untimed(v) for v in item] if isinstance(item, list) else item


def test_a_partial_archive_carries_an_unfinished_comparison(tmp_path) -> None:
    config = _config(lr_grid=[0.003, 0.03], trace_every=0)
    first = run_compare(config, tmp_path / "a")
    # an unfinished copy: no results.json, two tuning runs and every evaluation run to go
    shutil.copytree(tmp_path / "a", tmp_path / "u")
    (tmp_path / "u" / "results.json").unlink()
    runs = sorted((tmp_path / "u" / "runs").glob("*.json"))
    gone = [p for p in runs if p.name.startswith("eval-")] + [
        p for p in runs if p.name.startswith("tune-")
    ][:2]
    for path in gone:
        path.unlink()
    with pytest.raises(ValueError, match="add --partial"):
        export_results(tmp_path / "u", tmp_path / "x.json")
    archive = export_results(tmp_path / "u", tmp_path / "u.json", partial=True)
    payload = read_archive(archive)
    assert is_partial_archive(payload) and "summary" not in payload
    assert payload["config"] == json.loads((tmp_path / "u" / "config.json").read_text())
    kept = {p.stem for p in runs} - {p.stem for p in gone}
    assert payload["runs"] == [] and {r["id"] for r in payload["tuning_runs"]} == kept
    assert not is_partial_archive(read_archive(export_results(tmp_path / "a", tmp_path / "f.json")))
    # the next machine copies what the archive holds and trains only the rest, to the same result
    again = run_compare(config, tmp_path / "b", reuse_from=[archive])
    assert _untimed(again["summary"]) == _untimed(first["summary"])
    records = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "b" / "runs").glob("*")}
    assert {name for name, r in records.items() if r.get("imported_from")} == kept
    # a finished folder exported with partial=True is exported whole
    whole = read_archive(export_results(tmp_path / "a", tmp_path / "w.json", partial=True))
    assert not is_partial_archive(whole) and whole["summary"] == first["summary"]
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="not a comparison folder"):
        export_results(tmp_path / "plain", tmp_path / "x.json", partial=True)


def test_summary_statistics_are_consistent(tmp_path) -> None:
    results = run_compare(_config(lr_grid=[0.03], trace_every=0), tmp_path)
    summary = results["summary"]["activations"]
    relu = summary["relu"]["train_target"]
    tanh = summary["tanh"]["train_target"]
    medians = np.median([math.inf if e is None else e for e in relu["epochs"]]) / np.median(
        [math.inf if e is None else e for e in tanh["epochs"]]
    )
    assert tanh["speedup_vs_relu"]["speedup"] == pytest.approx(medians)
    assert results["summary"]["lrs"]["tanh"] == {"lr": 0.03, "tuned": False}


def test_mlp_task_decays_per_epoch_with_mini_batches() -> None:
    from bettiscope.experiments import mlp_task

    full = mlp_task("D-I", val_fraction=0.0)
    mini = mlp_task("D-I", val_fraction=0.0, batch_size=100)
    steps_per_epoch = math.ceil(len(mini.train[1]) / 100)
    assert full.train_defaults.lr_decay_steps == 2500
    assert mini.train_defaults.lr_decay_steps == 2500 * steps_per_epoch
    assert mlp_task("D-I", lr_decay_steps="none").train_defaults.lr_decay_steps is None


def test_summary_names_the_configured_training_target(tmp_path) -> None:
    run_compare(_config(lr_grid=[0.03], trace_every=0, target_train_acc=0.95), tmp_path)
    text = (tmp_path / "summary.md").read_text()
    assert "epochs to 95% training accuracy" in text and "100% training" not in text
    # one learning rate given: nothing was tuned, and the header must not claim tuning seeds
    assert "no learning-rate tuning (one rate given: 0.03)" in text and "tuning seeds" not in text


def test_parametrised_activations_and_first_seed() -> None:
    config = _config(activations=["fold(slope=0.25)"], first_seed=2000, lr_grid=[0.03])
    assert config.activations == ["fold(slope=0.25)", "relu"]
    specs = evaluation_specs(config, {a: {"lr": 0.03} for a in config.activations})
    assert {s["seed"] for s in specs} == {2000, 2001, 2002}
    from bettiscope.experiments import run_id

    assert run_id(specs[0]) == "eval-fold_slope=0.25-lr0.03-seed2000"
    with pytest.raises(ValueError, match=r"activation 'fold\(slope=3\)'"):
        _config(activations=["fold(slope=3)"])


def _interrupt_run(spec: dict, checkpoint_dir, epochs: int = 2) -> None:
    """Leave ``spec``'s run as an interruption would: ``epochs`` epochs checkpointed where
    execute_run looks for them."""
    from dataclasses import replace

    from bettiscope.experiments import build_task, run_id
    from bettiscope.training import train

    task = build_task(spec["task"])
    cfg = replace(
        task.train_defaults,
        lr=spec["lr"],
        epochs=epochs,
        seed=spec["seed"],
        target_train_acc=spec["target_train_acc"],
        target_val_acc=spec["target_val_acc"],
        checkpoint_path=str(Path(checkpoint_dir) / f"{run_id(spec)}.pt"),
    )
    model = task.build_model(spec["activation"], spec["seed"])
    recorder = None
    if spec.get("trace_every"):
        from bettiscope.probe import TraceRecorder
        from bettiscope.storage import atomic_write_json

        trace_path = Path(checkpoint_dir) / f"{run_id(spec)}.trace.json"
        recorder = TraceRecorder(
            task.probe_inputs,
            measure=task.measure,
            every=spec["trace_every"],
            labels=task.probe_labels,
            on_record=lambda rec: atomic_write_json(trace_path, rec.to_list()),
        )
        recorder.record(0, model)
    train(model, task.train, cfg, on_epoch_end=recorder)


def test_execute_run_resumes_its_own_checkpoint(tmp_path) -> None:
    from bettiscope.experiments import run_id

    config = _config(lr_grid=[0.02], max_epochs=6, trace_every=2)
    specs = evaluation_specs(config, {a: {"lr": 0.02} for a in config.activations})
    spec = {**specs[0], "checkpoint_dir": str(tmp_path), "target_train_acc": 1.0}
    other = {**specs[1], "checkpoint_dir": str(tmp_path)}
    assert run_id(spec) != run_id(other)
    _interrupt_run(spec, tmp_path)
    earlier = json.loads((tmp_path / f"{run_id(spec)}.trace.json").read_text())
    assert [entry["epoch"] for entry in earlier] == [0, 2]
    record = execute_run(spec)
    assert record["resumed_from"] == 2
    # the probe time of the entries measured before the interruption is still counted
    assert record["probe_seconds"] >= sum(entry["seconds"] for entry in earlier) > 0
    # done: checkpoint and partial trace removed, or kept under final/ if the budget ran out
    kept = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    expected = [f"final/{run_id(spec)}.pt", f"final/{run_id(spec)}.trace.json"]
    assert sorted(kept) == (sorted(expected) if record["stopped"] == "budget" else [])


def test_demo_and_report_colour_an_infinite_speed_up_green() -> None:
    from bettiscope.demo import _speedup_text
    from bettiscope.report import _speedup_cell

    record = {"speedup": "inf", "low": "inf", "high": "inf"}
    assert _speedup_text(record)["tone"] == "good"
    assert _speedup_cell({"speedup_vs_relu": record}, "proposed")["tone"] == "good"
    assert _speedup_text({"speedup": 1.0, "low": 0.5, "high": 2.0}) == "1 [0.5, 2]"


def test_every_series_of_a_twelve_activation_plot_looks_different() -> None:
    from bettiscope.report import _series_styles

    names = [f"activation{i}" for i in range(12)]
    styles = _series_styles(names)
    assert len({(s["color"], s["linestyle"]) for s in styles.values()}) == 12


def test_betti_by_layer_legend_counts_runs_per_class(monkeypatch, tmp_path) -> None:
    """A net that predicts one class leaves the other unmeasured: each row's legend says its n."""
    import bettiscope.report as report

    figures = []
    monkeypatch.setattr(report, "storage_save_figure", lambda fig, path: figures.append(fig))
    data = {
        "layers": ["input", "act1", "logits"],
        "classes": ["0", "1"],
        "mean": {"0": [[1.0, 2.0]] * 3, "1": [[1.0, 1.0]] * 3},
        "std": {"0": [[0.0, 0.0]] * 3, "1": [[0.0, 0.0]] * 3},
        "n": {"0": [5, 5, 5], "1": [10, 10, 10]},
    }
    report.plot_betti_by_layer({"gelu": data}, tmp_path / "b.png")
    report.plot_betti_by_layer(
        {"gelu": data}, tmp_path / "c.png", title="x" * 150, label_notes={"gelu": "all runs"}
    )
    fig, noted = figures
    rows = fig.axes[0::2]  # two panels (beta_0, beta_1) per class row
    labels = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in rows]
    assert labels == [["gelu (n=5)"], ["gelu (n=10)"]]
    legend = [t.get_text() for t in noted.axes[0].get_legend().get_texts()]
    assert legend == ["gelu (n=5; all runs)"]
    # a title longer than two panels are wide is wrapped, not cut at the figure's edges
    assert noted._suptitle.get_text().count("\n") == 1


def test_full_budget_trains_to_the_end_and_keeps_first_target_epoch(tmp_path) -> None:
    stopping = run_compare(_config(lr_grid=[0.03], trace_every=0), tmp_path / "stop")
    full = run_compare(
        _config(lr_grid=[0.03], trace_every=0, stop_at_target=False),
        tmp_path / "full",
        reuse_from=[tmp_path / "stop"],  # runs of the other mode must not be imported
    )
    for early, whole in zip(stopping["runs"], full["runs"], strict=True):
        assert early["seed"] == whole["seed"] and early["epochs_to_train_target"] is not None
        assert early["epochs"] == early["epochs_to_train_target"] < 40
        assert whole["epochs"] == 40  # trained on past the target
        assert whole["epochs_to_train_target"] == early["epochs_to_train_target"]
        assert whole["betti_trace"]["entries"][-1]["epoch"] == 40
    assert "whole budget" in (tmp_path / "full" / "summary.md").read_text()
    # well-trained is judged where the trace was taken, at the end: a net that reached 100%
    # and then lost it is not averaged as well-trained
    from bettiscope.experiments import summarise

    config = _config(lr_grid=[0.03], trace_every=0, stop_at_target=False)
    runs = [dict(r) for r in full["runs"]]
    before = summarise(config, runs, full["summary"]["lrs"])["betti_by_layer_converged"]
    runs[0]["final_train_acc"] = 0.9
    after = summarise(config, runs, full["summary"]["lrs"])["betti_by_layer_converged"]
    activation = runs[0]["activation"]
    assert max(after[activation]["n"]["0"]) == max(before[activation]["n"]["0"]) - 1


def test_folder_from_before_an_option_existed_still_resumes(tmp_path) -> None:
    run_compare(_config(lr_grid=[0.03], trace_every=0), tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["stop_at_target"]  # as written by a version without the option
    (tmp_path / "config.json").write_text(json.dumps(saved))
    run_compare(_config(lr_grid=[0.03], trace_every=0), tmp_path)
    with pytest.raises(ValueError, match="different configuration"):
        run_compare(_config(lr_grid=[0.03], trace_every=0, stop_at_target=False), tmp_path)


def test_parallel_comparison_resumes_a_run_from_its_checkpoint(tmp_path) -> None:
    """With an executor (--workers N), unfinished runs resume mid-run, not from epoch 0."""
    from bettiscope.executor import LocalExecutor
    from bettiscope.experiments import run_id

    config = _config(lr_grid=[0.02], max_epochs=6, trace_every=2, target_train_acc=1.0)
    spec = evaluation_specs(config, {a: {"lr": 0.02} for a in config.activations})[0]
    _interrupt_run(spec, tmp_path / "checkpoints")
    # one inline worker: the executor path, in this process (the toy task is registered here)
    results = run_compare(config, tmp_path, executor=LocalExecutor(max_workers=1))
    resumed = {run_id(r["spec"]): r["resumed_from"] for r in results["runs"]}
    assert resumed.pop(run_id(spec)) == 2
    assert set(resumed.values()) == {None}


def _comparable_run(record: dict) -> dict:
    """A run's outcome: what must not depend on whether it was continued or trained in one go."""
    trace = record["betti_trace"]
    return {
        "id": record["id"],
        **{k: record[k] for k in ("epochs_to_target", "stopped", "epochs", "final_loss")},
        "loss": record["history"]["loss"],
        "train_acc": record["history"]["train_acc"],
        "trace": [(e["epoch"], e["betti"], e["n_class"]) for e in trace["entries"]],
    }


def test_larger_budget_continues_runs_that_used_up_a_smaller_one(tmp_path) -> None:
    def config(budget: int) -> CompareConfig:
        return _config(lr_grid=[0.02], max_epochs=budget, trace_every=2, target_train_acc=1.0)

    short = run_compare(config(3), tmp_path / "short")
    used_up = {r["id"] for r in short["runs"] if r["stopped"] == "budget"}
    ended = {r["id"] for r in short["runs"]} - used_up
    assert used_up and ended  # the test needs both kinds
    kept = {p.name for p in (tmp_path / "short" / "checkpoints" / "final").iterdir()}
    assert kept == {f"{i}.pt" for i in used_up} | {f"{i}.trace.json" for i in used_up}

    # the plan foresees what the import does: copies, and continuations with 5 epochs each
    plan = plan_compare(config(8), tmp_path / "longer", reuse_from=[tmp_path / "short"])
    assert plan["phases"]["evaluate"] == {
        "runs": len(used_up | ended),
        "done": len(ended),
        "to_train": len(used_up),
        "continued": len(used_up),
        "epochs": 5 * len(used_up),
    }
    longer = run_compare(config(8), tmp_path / "longer", reuse_from=[tmp_path / "short"])
    scratch = run_compare(config(8), tmp_path / "scratch")
    by_id = {r["id"]: r for r in longer["runs"]}
    for one_go in scratch["runs"]:
        continued = by_id[one_go["id"]]
        assert _comparable_run(continued) == _comparable_run(one_go)
        if one_go["id"] in used_up:
            assert continued["resumed_from"] == 3 and continued["extended_from"]["epochs"] == 3
            assert not continued.get("imported_from")
        else:  # ended by itself within 3 epochs: the same run under 8, copied
            assert continued["imported_from"] and continued["imported_budget"] == 3
    # the continued runs' off-schedule entry at epoch 3 is gone; nothing is left mid-run
    assert all(3 not in [e["epoch"] for e in by_id[i]["betti_trace"]["entries"]] for i in used_up)
    left = {p.name for p in (tmp_path / "longer" / "checkpoints").iterdir()}
    assert left <= {"final"}
    summary = (tmp_path / "longer" / "summary.md").read_text()
    assert f"{len(ended)} were copied from earlier folders and {len(used_up)} continued" in summary
    assert "from earlier folders" not in (tmp_path / "scratch" / "summary.md").read_text()


def test_final_state_can_be_discarded(tmp_path) -> None:
    config = _config(lr_grid=[0.02], max_epochs=3, trace_every=0, target_train_acc=1.0)
    results = run_compare(config, tmp_path, keep_final_state=False)
    assert any(r["stopped"] == "budget" for r in results["runs"])
    assert list((tmp_path / "checkpoints").glob("**/*.pt")) == []


def test_interrupted_continuation_resumes_where_it_stopped(tmp_path) -> None:
    from bettiscope.experiments import import_finished_runs, run_id

    def config(budget: int) -> CompareConfig:
        return _config(lr_grid=[0.02], max_epochs=budget, trace_every=0, target_train_acc=1.0)

    short = run_compare(config(3), tmp_path / "short")
    used_up = {r["id"] for r in short["runs"] if r["stopped"] == "budget"}
    specs = evaluation_specs(config(8), {a: {"lr": 0.02} for a in config(8).activations})
    counts = import_finished_runs(specs, tmp_path / "longer", [tmp_path / "short"])
    assert used_up and counts == {"imported": len(specs) - len(used_up), "continued": len(used_up)}
    spec = next(s for s in specs if run_id(s) in used_up)
    _interrupt_run(spec, tmp_path / "longer" / "checkpoints", epochs=5)  # 3 -> 5, then killed
    longer = run_compare(config(8), tmp_path / "longer", reuse_from=[tmp_path / "short"])
    scratch = run_compare(config(8), tmp_path / "scratch")
    continued = next(r for r in longer["runs"] if r["id"] == run_id(spec))
    one_go = next(r for r in scratch["runs"] if r["id"] == run_id(spec))
    assert continued["resumed_from"] == 5 and continued["extended_from"]["epochs"] == 3
    assert _comparable_run(continued) == _comparable_run(one_go)


def test_figure_title_names_the_data_set_variant() -> None:
    from bettiscope.report import figure_title

    plain = CompareConfig(dataset="D-I", activations=["relu"], seeds=10, max_epochs=500)
    assert figure_title("D-I", plain) == "D-I: 10 seeds, budget 500 epochs"
    shifted = CompareConfig(
        dataset="nested-shells",
        activations=["relu"],
        max_epochs=5000,
        task_options={"dataset_params": {"points_per_shell": 80, "shift": 0.25}},
    )
    assert figure_title("nested-shells", shifted).startswith(
        "nested-shells (points_per_shell=80, shift=0.25): 10 seeds, budget 5000"
    )
    wide = CompareConfig(
        dataset="D-II",
        activations=["relu"],
        task_options={"width": 50, "depth": 10, "bias_init": "uniform"},
    )
    assert figure_title("D-II", wide).startswith("D-II, width 50, depth 10, uniform biases: 10")
    naitzat = CompareConfig(dataset="D-II", activations=["relu"], task_options={"width": 15})
    assert figure_title("D-II", naitzat).startswith("D-II: 10 seeds")


def test_comparison_without_relu_baseline_is_one_arm_for_paired_speedup(tmp_path) -> None:
    from bettiscope.paired import paired_speedup

    both = run_compare(_config(lr_grid=[0.03]), tmp_path / "both")
    alone = run_compare(_config(lr_grid=[0.03], relu_baseline=False), tmp_path / "alone")
    assert {r["activation"] for r in alone["runs"]} == {"tanh"}
    assert not list((tmp_path / "alone" / "runs").glob("*relu*"))
    tanh = alone["summary"]["activations"]["tanh"]["train_target"]
    assert "speedup_vs_relu" not in tanh and "wilcoxon_vs_relu" not in tanh
    assert tanh["epochs"] == both["summary"]["activations"]["tanh"]["train_target"]["epochs"]
    assert "- (no ReLU runs)" in (tmp_path / "alone" / "summary.md").read_text()
    assert "no ReLU runs" in (tmp_path / "alone" / "report.html").read_text()
    # the one-arm folder pairs with another folder's ReLU exactly as within one folder
    across = paired_speedup(tmp_path / "both", "relu", tmp_path / "alone", "tanh", resamples=500)
    within = both["summary"]["activations"]["tanh"]["train_target"]["speedup_vs_relu"]
    assert across["speedup"]["speedup"] == within["speedup"]
    with pytest.raises(ValueError, match="relu_lr_runs needs relu"):
        _config(relu_baseline=False, relu_lr_runs=True)
    with pytest.raises(ValueError, match="activations must be a list of names"):
        _config(relu_baseline=False, activations=[" "])
    with pytest.raises(ValueError, match="activations must be a list of names"):
        _config(activations=[])  # not silently ReLU alone
    with pytest.raises(ValueError, match="lr_grid must be a list of numbers"):
        _config(lr_grid="0.01")
    with pytest.raises(ValueError, match="finite and > 0"):
        _config(lr_grid=[0.01, math.inf])
    with pytest.raises(ValueError, match="target_val_acc needs held-out data"):
        _config(target_val_acc=0.9, task_options={"val_fraction": 0})


def test_runs_at_relu_learning_rate_pair_with_relu_seed_by_seed(tmp_path) -> None:
    from bettiscope.experiments import summarise
    from bettiscope.report import render_summary_md
    from bettiscope.statistics import speedup_interval

    config = _config(relu_lr_runs=True)  # seeds 0-2, budget 40

    def run(phase, activation, lr, seed, epochs):
        return {
            "phase": phase,
            "activation": activation,
            "lr": lr,
            "seed": seed,
            "epochs_to_train_target": epochs,
            "seconds_per_epoch": 0.01,
            "stopped": "target" if epochs else "budget",
            "final_train_acc": 1.0 if epochs else 0.9,
            "final_val_acc": None,
            "betti_trace": None,
        }

    relu = [30, None, 20]
    records = [run("eval", "relu", 0.003, s, e) for s, e in enumerate(relu)]
    records += [run("eval", "tanh", 0.03, s, e) for s, e in enumerate([5, 6, 7])]
    # listed out of seed order: the statistics must still pair seed with seed
    at_relu_rate = [(2, 40), (0, 10), (1, None)]
    records += [run("relu_lr", "tanh", 0.003, s, e) for s, e in at_relu_rate]
    lrs = {
        "tanh": {"lr": 0.03, "tuned": True, "grid": []},
        "relu": {"lr": 0.003, "tuned": True, "grid": []},
    }
    summary = summarise(config, records, lrs)
    row = summary["at_relu_lr"]["tanh"]
    assert row["lr"] == 0.003 and row["train_target"]["epochs"] == [10, None, 40]
    inf = math.inf
    expected = speedup_interval([30, inf, 20], [10, inf, 40], resamples=config.bootstrap)
    assert row["train_target"]["speedup_vs_relu"] == expected
    assert row["train_target"]["success_rate"] == pytest.approx(2 / 3)
    assert row["train_target"]["median_epochs"] == 40
    assert "success_rate" not in row  # once, in the target's cell
    text = render_summary_md(
        {"config": asdict(config), "summary": summary, "runs": records, "created": "now"}
    )
    section = text.split("## At ReLU's tuned learning rate")[1]
    assert "| tanh | train target | 0.003 | 67% | 40 |" in section
    assert f"{expected['speedup']:.3g} [" in section
    # a results.json from before the per-target cells kept the training target's in the row
    old_row = {"lr": 0.003, "runs": 3, "success_rate": 2 / 3, "median_epochs": 40}
    old_summary = {**summary, "at_relu_lr": {"tanh": old_row}}
    old_text = render_summary_md(
        {"config": asdict(config), "summary": old_summary, "runs": records, "created": "now"}
    )
    assert "| tanh | train target | 0.003 | 67% | 40 | - |" in old_text
    from bettiscope.report import comparison_report

    config_dict = asdict(config)
    stage = comparison_report({"config": config_dict, "summary": summary})["stages"]["at_relu_lr"]
    (table,) = stage["tables"]
    assert table["rows"][0][:4] == ["tanh", 0.003, "67%", 40]
    from bettiscope.paired import summary_rows

    labels = [row["label"] for row in summary_rows(summary, 40, [0, 1, 2])]
    assert labels == ["tanh", "tanh at ReLU's lr (0.003)"]


def test_fraction_converged_draws_runs_at_relu_rate_dotted(monkeypatch) -> None:
    import bettiscope.report as report

    figures = []
    monkeypatch.setattr(report, "storage_save_figure", lambda fig, path: figures.append(fig))

    def run(phase, activation, lr, epochs):
        return {
            "phase": phase,
            "activation": activation,
            "lr": lr,
            "epochs_to_train_target": epochs,
        }

    records = [run("eval", "relu", 0.003, e) for e in (30, None, 20)]
    records += [run("eval", "tanh", 0.03, e) for e in (5, 6, 7)]
    records += [run("relu_lr", "tanh", 0.003, e) for e in (10, None, 40)]
    report.plot_fraction_converged(records, 40, "unused.png")
    (ax,) = figures[0].axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == ["relu (n=3)", "tanh (n=3)", "tanh at ReLU's lr 0.003 (n=3)"]
    dotted = lines["tanh at ReLU's lr 0.003 (n=3)"]
    assert dotted.get_linestyle() == ":" and dotted.get_color() == lines["tanh (n=3)"].get_color()
    # 2 of 3 runs at ReLU's rate reached the target by epoch 40, the first at epoch 10
    assert dotted.get_ydata()[40] == pytest.approx(2 / 3) and dotted.get_ydata()[9] == 0


def test_epochs_of_runs_in_workers_reach_the_progress_bar(tmp_path) -> None:
    import time as clock

    from bettiscope.experiments import (
        PROGRESS_SUFFIX,
        RUNNING_EPOCHS_STAGE,
        _EpochFile,
        _EpochWatcher,
    )

    (tmp_path / f"old{PROGRESS_SUFFIX}").write_text('{"epoch": 7, "total": 9}')  # interrupted
    seen: list[tuple[str, int, int]] = []
    with _EpochWatcher(tmp_path, lambda *args: seen.append(args), every_seconds=0.05):
        assert not (tmp_path / f"old{PROGRESS_SUFFIX}").exists()
        first = _EpochFile(tmp_path / f"a{PROGRESS_SUFFIX}", every_seconds=0.0)
        second = _EpochFile(tmp_path / f"b{PROGRESS_SUFFIX}", every_seconds=3600.0)
        first("train", 30, 100)
        second("train", 5, 50)
        second("train", 6, 50)  # within its interval: not written
        deadline = clock.monotonic() + 5
        while (RUNNING_EPOCHS_STAGE, 35, 150) not in seen and clock.monotonic() < deadline:
            clock.sleep(0.02)
        first.remove()
        second.remove()
    assert (RUNNING_EPOCHS_STAGE, 35, 150) in seen
    assert not list(tmp_path.glob(f"*{PROGRESS_SUFFIX}"))
