"""Paired speed-ups across comparison folders (`bettiscope.paired`, `bettiscope speedup`)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import wilcoxon
from typer.testing import CliRunner

from bettiscope.cli import app
from bettiscope.paired import paired_speedup
from bettiscope.statistics import speedup_interval
from bettiscope.storage import atomic_write_json, save_point_cloud

runner = CliRunner()


def _folder(
    path: Path,
    activation: str,
    epochs: dict[int, int | None],
    *,
    max_epochs: int = 100,
    dataset: str = "D-I",
    target_val_acc: float | None = None,
    final: dict[int, float | None] | None = None,
    **options: object,
) -> Path:
    """A finished comparison folder holding only what paired_speedup reads."""
    runs = [
        {
            "final_train_acc": None if final is None else final[seed],
            "phase": "eval",
            "activation": name,
            "seed": seed,
            "lr": 0.01,
            "epochs_to_train_target": value,
            "epochs_to_val_target": value,
            "epochs_to_target": value,
        }
        for name in dict.fromkeys((activation, "relu"))
        for seed, value in epochs.items()
    ]
    config = {
        "dataset": dataset,
        "data_seed": 0,
        "max_epochs": max_epochs,
        "target_train_acc": 1.0,
        "target_val_acc": target_val_acc,
        "task_options": {"val_fraction": 0.2, "dataset_params": {}, **options},
    }
    atomic_write_json(path / "results.json", {"config": config, "runs": runs})
    return path


def test_speedup_and_test_match_the_within_folder_statistics(tmp_path) -> None:
    base = {0: 40, 1: 30, 2: None, 3: 80, 4: 50, 5: 60}
    mine = {0: 10, 1: 20, 2: 25, 3: 30, 4: 45, 5: 15}
    baseline = _folder(tmp_path / "a", "relu", base)
    other = _folder(tmp_path / "b", "proposed", mine, bias_init="uniform")
    result = paired_speedup(baseline, "relu", other, "proposed", resamples=500)
    a = np.array([np.inf if v is None else v for v in base.values()], float)
    b = np.array(list(mine.values()), float)
    assert result["seeds"] == list(range(6))
    assert result["speedup"] == speedup_interval(a, b, resamples=500)
    assert result["speedup"]["speedup"] == pytest.approx(np.median(a) / np.median(b))
    # a miss ranks as budget + 1 = 101 epochs
    expected = wilcoxon(np.where(np.isinf(a), 101, a), b).pvalue
    assert result["wilcoxon"]["p_value"] == pytest.approx(expected)
    assert result["baseline"]["successes"] == 5 and result["other"]["successes"] == 6
    assert result["baseline"]["epochs"][2] is None
    assert result["other"]["folders"][0]["setting"] == "D-I, uniform biases"
    assert result["other"]["folders"][0]["lrs"] == [0.01]
    assert "torch" in json.dumps(result["environment"])


def test_an_arm_may_span_folders(tmp_path) -> None:
    base = {s: 50 + 7 * s for s in range(6)}
    mine = {s: 20 + 3 * s for s in range(6)}
    whole = paired_speedup(
        _folder(tmp_path / "a", "relu", base), "relu",
        _folder(tmp_path / "b", "proposed", mine), "proposed", resamples=200,
    )  # fmt: skip
    first = _folder(tmp_path / "b1", "proposed", {s: mine[s] for s in range(3)})
    second = _folder(tmp_path / "b2", "proposed", {s: mine[s] for s in range(3, 6)})
    pooled = paired_speedup(tmp_path / "a", "relu", [first, second], "proposed", resamples=200)
    assert pooled["speedup"] == whole["speedup"]
    assert pooled["other"]["epochs"] == whole["other"]["epochs"]
    assert len(pooled["other"]["folders"]) == 2


def test_different_budgets_are_judged_at_the_smallest(tmp_path) -> None:
    baseline = _folder(tmp_path / "a", "relu", {0: 60, 1: 90, 2: 40}, max_epochs=100)
    other = _folder(tmp_path / "b", "proposed", {0: 20, 1: 30, 2: 10}, max_epochs=50)
    result = paired_speedup(baseline, "relu", other, "proposed", resamples=200)
    assert result["budget"] == 50 and result["budgets_differ"]
    assert result["baseline"]["epochs"] == [None, None, 40]
    assert result["baseline"]["successes"] == 1


def test_final_accuracy_compares_arms_that_both_miss(tmp_path) -> None:
    misses = {s: None for s in range(6)}
    base_acc = {0: 0.99, 1: 0.98, 2: 0.995, 3: 0.97, 4: 0.99, 5: None}
    mine_acc = {0: 0.96, 1: 0.95, 2: 0.97, 3: 0.96, 4: 0.93, 5: 0.9}
    baseline = _folder(tmp_path / "a", "relu", misses, final=base_acc)
    other = _folder(tmp_path / "b", "proposed", misses, final=mine_acc)
    result = paired_speedup(baseline, "relu", other, "proposed", resamples=200)
    assert result["speedup"]["speedup"] is None or np.isnan(result["speedup"]["speedup"])
    test = result["final_train_acc_test"]
    differences = [mine_acc[s] - base_acc[s] for s in range(5)]  # seed 5 has no baseline value
    assert test["n"] == 5 and test["median_difference"] == pytest.approx(np.median(differences))
    assert test["p_value"] == pytest.approx(wilcoxon(differences).pvalue)
    assert result["baseline"]["final_train_acc"][5] is None
    assert result["other"]["final_train_acc_median"] == pytest.approx(0.955)
    same = paired_speedup(baseline, "relu", baseline, "relu", resamples=200)
    assert same["final_train_acc_test"]["p_value"] == 1.0  # every pair tied
    printed = runner.invoke(app, ["speedup", "--baseline", f"{baseline}:relu",
                                  "--other", f"{other}:proposed"])  # fmt: skip
    assert printed.exit_code == 0, printed.output
    printed_text = " ".join(printed.stdout.split())
    assert "proposed over relu: undefined (both medians missed)" in printed_text
    assert "p = 1 (every pair ties: no difference to test)" in printed_text
    shorter = _folder(tmp_path / "c", "proposed", misses, final=mine_acc, max_epochs=50)
    assert paired_speedup(baseline, "relu", shorter, "proposed")["final_train_acc_test"] is None


def test_bad_input_is_refused_with_the_reason(tmp_path) -> None:
    seeds = {0: 10, 1: 20, 2: 30}
    a = _folder(tmp_path / "a", "relu", seeds)
    b = _folder(tmp_path / "b", "proposed", seeds)

    def refused(match: str, *args: object, **kwargs: object) -> None:
        with pytest.raises(ValueError, match=match):
            paired_speedup(*args, **kwargs)

    (tmp_path / "empty").mkdir()
    refused("not a comparison folder", tmp_path / "empty", "relu", b, "proposed")
    refused("no evaluation runs of 'tanh'; it has proposed, relu", a, "relu", b, "tanh")
    other_data = _folder(tmp_path / "c", "proposed", seeds, dataset="D-II")
    refused("differ in the data", a, "relu", other_data, "proposed")
    refused("seed 0 of proposed is in both", a, "relu", [b, b], "proposed")
    fewer = _folder(tmp_path / "d", "proposed", {0: 10, 1: 20})
    refused(r"unpaired: relu only: \[2\]", a, "relu", fewer, "proposed")
    refused("needs a held-out target", a, "relu", b, "proposed", target="val")
    refused("target must be one of train, val, both", a, "relu", b, "proposed", target="x")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("{not json")
    refused("not valid JSON", tmp_path / "broken", "relu", b, "proposed")


def test_speedup_command_on_real_comparisons(tmp_path) -> None:
    rng = np.random.default_rng(0)
    y = np.arange(160) % 2
    X = rng.normal(scale=0.4, size=(160, 2)) + (2.0 * y[:, None] - 1.0)
    meta = {"measure": {"metric": "knn-hop", "k": 6, "scale": 2.5, "stride": 1, "max_dim": 1}}
    blobs = save_point_cloud(tmp_path / "blobs.npz", X, y, meta)

    def compare(out: str, *extra: str) -> None:
        result = runner.invoke(app, [
            "--quiet", "compare", "--dataset", str(blobs), "--activations", "proposed",
            "--seeds", "3", "--max-epochs", "30", "--lr-grid", "0.03", "--trace-every", "0",
            "--width", "4", "--depth", "2", "--bootstrap", "100", "--out", str(tmp_path / out),
            *extra,
        ])  # fmt: skip
        assert result.exit_code == 0, result.output

    compare("zeros")
    compare("uniform", "--bias-init", "uniform")
    out = tmp_path / "pair.json"
    result = runner.invoke(app, [
        "speedup", "--baseline", f"{tmp_path / 'zeros'}:relu",
        "--other", f"{tmp_path / 'uniform'}:proposed", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Speed-up of proposed over relu" in result.stdout
    assert "Final training accuracy, proposed minus relu" in " ".join(result.stdout.split())
    written = json.loads(out.read_text())
    runs = json.loads((tmp_path / "uniform" / "results.json").read_text())["runs"]
    expected = [
        r["epochs_to_train_target"]
        for r in sorted(runs, key=lambda r: r["seed"])
        if r["activation"] == "proposed"
    ]
    assert written["seeds"] == [0, 1, 2] and written["other"]["epochs"] == expected
    printed = runner.invoke(app, [
        "speedup", "--baseline", f"{tmp_path / 'zeros'}:relu",
        "--other", f"{tmp_path / 'uniform'}:proposed", "--json",
    ])  # fmt: skip
    assert json.loads(printed.stdout)["speedup"] == written["speedup"]
    # an exported archive stands in for its folder
    exported = runner.invoke(
        app, ["export-results", str(tmp_path / "uniform"), "--out", str(tmp_path / "u.json")]
    )
    assert exported.exit_code == 0, exported.output
    assert "6 evaluation and 0 tuning runs" in " ".join(exported.stdout.split())
    from_archive = runner.invoke(app, [
        "speedup", "--baseline", f"{tmp_path / 'zeros'}:relu",
        "--other", f"{tmp_path / 'u.json'}:proposed", "--json",
    ])  # fmt: skip
    assert from_archive.exit_code == 0, from_archive.output
    assert json.loads(from_archive.stdout)["speedup"] == written["speedup"]
    missing = runner.invoke(app, ["export-results", str(tmp_path), "--out", str(out)])
    assert missing.exit_code == 2 and "no results.json" in missing.stderr
    # an unfinished folder (interrupted, or still running) pairs its finished runs
    (tmp_path / "uniform" / "results.json").unlink()
    unfinished = runner.invoke(app, [
        "speedup", "--baseline", f"{tmp_path / 'zeros'}:relu",
        "--other", f"{tmp_path / 'uniform'}:proposed", "--json",
    ])  # fmt: skip
    assert unfinished.exit_code == 0, unfinished.output
    from_runs = json.loads(unfinished.stdout)
    assert from_runs["speedup"] == written["speedup"]
    assert from_runs["other"]["folders"][0]["finished"] is False
    assert written["other"]["folders"][0]["finished"] is True
    # ... and so does its partial export, an archive marked unfinished
    refused = runner.invoke(app, ["export-results", str(tmp_path / "uniform"), "--out", str(out)])
    assert refused.exit_code == 2 and "add --partial" in refused.stderr
    partial = runner.invoke(app, [
        "export-results", str(tmp_path / "uniform"), "--out", str(tmp_path / "p.json"),
        "--partial",
    ])  # fmt: skip
    assert partial.exit_code == 0, partial.output
    assert "--reuse" in partial.stdout and "unfinished" in partial.stdout
    from_partial = runner.invoke(app, [
        "speedup", "--baseline", f"{tmp_path / 'zeros'}:relu",
        "--other", f"{tmp_path / 'p.json'}:proposed", "--json",
    ])  # fmt: skip
    assert from_partial.exit_code == 0, from_partial.output
    paired_partial = json.loads(from_partial.stdout)
    assert paired_partial["speedup"] == written["speedup"]
    assert paired_partial["other"]["folders"][0]["finished"] is False
    for bad, message in [
        (["--baseline", str(tmp_path / "zeros")], "give FOLDER:ACTIVATION"),
        (["--baseline", f"{tmp_path / 'zeros'}:relu", "--baseline", f"{tmp_path}:tanh"],
         "one activation per arm"),
    ]:  # fmt: skip
        failed = runner.invoke(
            app, ["speedup", *bad, "--other", f"{tmp_path / 'uniform'}:proposed"]
        )
        assert failed.exit_code == 2 and message in failed.stderr


def _plot_folders(tmp_path: Path) -> None:
    """Folders for a finite speed-up (slower vs fast), ReLU missing its median (missed vs fast:
    unbounded) and both arms missing theirs (none vs none: undefined)."""
    _folder(tmp_path / "runs" / "fast", "proposed", {0: 40, 1: 30, 2: 50, 3: 80, 4: 60})
    _folder(tmp_path / "runs" / "slower", "relu", {0: 70, 1: 60, 2: None, 3: 90, 4: 95})
    _folder(tmp_path / "runs" / "missed", "relu", {0: None, 1: None, 2: None, 3: 90, 4: None})
    _folder(tmp_path / "runs" / "none", "proposed", {s: None for s in range(5)},
            final={s: 0.8 for s in range(5)})  # fmt: skip


def test_speedup_plot_rows_and_figure(tmp_path) -> None:
    from bettiscope.paired import (
        SpeedupPlot,
        SpeedupRow,
        _forest_row,
        plot_speedups,
        speedup_rows,
    )

    _plot_folders(tmp_path)
    rows = [
        SpeedupRow(label, [f"runs/{base}:relu"], [f"runs/{other}:proposed"])
        for label, base, other in [
            ("finite", "slower", "fast"), ("open", "missed", "fast"), ("undefined", "none", "none"),
            ("never", "slower", "none"),
        ]
    ]  # fmt: skip
    results = speedup_rows(SpeedupPlot(rows=rows), base_dir=tmp_path, resamples=200)
    assert [r["label"] for r in results] == ["finite", "open", "undefined", "never"]
    # the same numbers as a direct paired_speedup
    direct = paired_speedup(tmp_path / "runs" / "slower", "relu", tmp_path / "runs" / "fast",
                            "proposed", resamples=200)  # fmt: skip
    assert results[0]["speedup"] == direct["speedup"]
    assert results[0]["speedup"]["speedup"] == pytest.approx(90 / 50)
    assert math.isinf(results[1]["speedup"]["speedup"])
    assert math.isnan(results[2]["speedup"]["speedup"])
    assert results[3]["speedup"]["speedup"] == 0
    # a log axis cannot place 0 or inf: those rows draw bounds from the budget (100 epochs)
    drawn = [_forest_row(r) for r in results]
    assert [d["kind"] for d in drawn] == ["interval", "at_least", "undefined", "at_most"]
    assert drawn[0]["point"] == pytest.approx(1.8)
    assert drawn[1]["value"] == pytest.approx(100 / 50)  # budget / the other arm's median
    assert drawn[3]["value"] == pytest.approx(90 / 100)  # at most ReLU's median / budget
    figure = plot_speedups(results, tmp_path / "forest.png", title="t")
    assert figure.stat().st_size > 10_000
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        plot_speedups(results, tmp_path / "forest.json")
    with pytest.raises(ValueError, match="no results"):
        plot_speedups([], tmp_path / "empty.png")


def test_speedup_plot_rejects_bad_settings(tmp_path) -> None:
    from bettiscope.paired import SpeedupPlot, SpeedupRow, speedup_rows, split_arms

    _plot_folders(tmp_path)
    assert split_arms(["a:b:relu", "c:relu"]) == ([Path("a:b"), Path("c")], "relu")
    good = SpeedupRow("ok", ["runs/slower:relu"], ["runs/fast:proposed"])
    cases = [
        (SpeedupPlot(rows=[]), "no rows"),
        (SpeedupPlot(rows=[SpeedupRow("", good.baseline, good.other)]), "row 1 needs a label"),
        (SpeedupPlot(rows=[good, SpeedupRow("x", [], good.other)]), "row 2 ('x'): baseline"),
        (SpeedupPlot(rows=[SpeedupRow("x", ["runs/fast"], good.other)]), "FOLDER:ACTIVATION"),
        (SpeedupPlot(rows=[SpeedupRow("x", ["runs/gone:relu"], good.other)]), "row 1 ('x')"),
        (SpeedupPlot(rows=[good], claim=[2.0, 1.0]), "claim must be"),
    ]
    for plot, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            speedup_rows(plot, base_dir=tmp_path, resamples=200)


def test_speedup_plot_command(tmp_path) -> None:
    _plot_folders(tmp_path)
    settings = tmp_path / "plot.toml"
    settings.write_text(
        'title = "demo"\n'
        '[[rows]]\nlabel = "finite"\nbaseline = ["runs/slower:relu"]\n'
        'other = ["runs/fast:proposed"]\n'
        '[[rows]]\nlabel = "undefined"\nbaseline = ["runs/none:relu"]\n'
        'other = ["runs/none:proposed"]\n'
    )
    elsewhere = tmp_path / "out"
    result = runner.invoke(app, ["speedup-plot", str(settings), "--out", str(elsewhere / "f.png")])
    assert result.exit_code == 0, result.output
    assert "finite: 1.8 [" in result.stdout
    assert "undefined: undefined (both medians missed)" in " ".join(result.stdout.split())
    assert (elsewhere / "f.png").is_file()
    written = json.loads((elsewhere / "f.json").read_text())
    assert [r["label"] for r in written["rows"]] == ["finite", "undefined"]
    assert written["plot"]["title"] == "demo" and "torch" in json.dumps(written["rows"][0])
    settings.write_text('[[rows]]\nlabl = "typo"\n')
    failed = runner.invoke(app, ["speedup-plot", str(settings), "--out", str(tmp_path / "g.png")])
    assert failed.exit_code == 2 and "Did you mean 'rows.label'" in " ".join(failed.stderr.split())
    missing = runner.invoke(app, ["speedup-plot", str(tmp_path / "no.toml"), "--out", "g.png"])
    assert missing.exit_code == 2 and "no such settings file" in missing.stderr


def test_speedup_plot_can_leave_out_rows_whose_runs_are_elsewhere(tmp_path) -> None:
    _plot_folders(tmp_path)
    settings = tmp_path / "plot.toml"
    row = '[[rows]]\nlabel = "{}"\nbaseline = ["runs/{}:relu"]\nother = ["runs/fast:proposed"]\n'
    lost, kept = row.format("lost", "gone"), row.format("kept", "slower")
    settings.write_text(lost + kept)
    figure = tmp_path / "f.png"
    stopped = runner.invoke(app, ["speedup-plot", str(settings), "--out", str(figure)])
    assert stopped.exit_code == 2 and "row 1 ('lost')" in " ".join(stopped.stderr.split())
    assert not figure.exists()
    args = ["speedup-plot", str(settings), "--out", str(figure), "--skip-missing"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "row 1 ('lost') left out, not found: runs/gone" in " ".join(result.stdout.split())
    written = json.loads(figure.with_suffix(".json").read_text())
    assert [r["label"] for r in written["rows"]] == ["kept"]
    assert written["not_drawn"] == [{"row": 1, "label": "lost", "missing": ["runs/gone"]}]
    # a folder that is there but holds no runs is an error, not a row to leave out
    (tmp_path / "runs" / "empty").mkdir()
    settings.write_text(kept.replace("runs/slower", "runs/empty"))
    broken = runner.invoke(app, args)
    assert broken.exit_code == 2 and "not a comparison folder" in " ".join(broken.stderr.split())
    settings.write_text(lost)
    nothing = runner.invoke(app, args)
    assert nothing.exit_code == 2 and "nothing to draw" in nothing.stderr


def test_an_arm_can_read_the_runs_at_relu_tuned_rate(tmp_path) -> None:
    folder = _folder(tmp_path / "a", "proposed", {0: 10, 1: 20, 2: 30})
    results = json.loads((folder / "results.json").read_text())
    # compare --relu-lr-runs: the same seeds again at ReLU's rate, slower here
    results["runs"] += [
        {**run, "phase": "relu_lr", "lr": 0.003, "epochs_to_train_target": 3 * run["seed"] + 40}
        for run in results["runs"]
        if run["activation"] == "proposed"
    ]
    atomic_write_json(folder / "results.json", results)
    own = paired_speedup(folder, "relu", folder, "proposed", resamples=200)
    at_relu = paired_speedup(folder, "relu", folder, "proposed@relu_lr", resamples=200)
    assert own["other"]["epochs"] == [10, 20, 30]
    assert at_relu["other"]["epochs"] == [40, 43, 46]
    assert at_relu["other"]["folders"][0]["lrs"] == [0.003]
    assert at_relu["speedup"]["speedup"] == pytest.approx(20 / 43)
    with pytest.raises(ValueError, match="after '@' give one of relu_lr"):
        paired_speedup(folder, "relu", folder, "proposed@tuning", resamples=200)
    with pytest.raises(ValueError, match="no runs at ReLU's tuned rate of 'relu'; it has proposed"):
        paired_speedup(folder, "proposed", folder, "relu@relu_lr", resamples=200)


def test_speedup_plot_keeps_a_json_file_it_did_not_write(tmp_path) -> None:
    from bettiscope.paired import SPEEDUP_PLOT_FORMAT

    _plot_folders(tmp_path)
    settings = tmp_path / "plot.toml"
    settings.write_text(
        '[[rows]]\nlabel = "finite"\nbaseline = ["runs/slower:relu"]\n'
        'other = ["runs/fast:proposed"]\n'
    )
    # e.g. a demo run's results.json beside a figure named results.png
    foreign = tmp_path / "results.json"
    foreign.write_text('{"config": {}, "runs": []}\n')
    args = ["speedup-plot", str(settings), "--out", str(tmp_path / "results.png")]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2, refused.output
    message = " ".join(refused.stderr.split())
    assert "results.json exists and is not an earlier speed-up plot's numbers file" in message
    assert "Give --out another name" in message
    assert foreign.read_text() == '{"config": {}, "runs": []}\n'
    assert not (tmp_path / "results.png").exists()  # refused before drawing
    for text in ("not json", "[1, 2]"):
        foreign.write_text(text)
        assert runner.invoke(app, args).exit_code == 2 and foreign.read_text() == text
    # its own numbers, marked, are replaced by the next run
    figure = tmp_path / "forest.png"
    first = runner.invoke(app, ["speedup-plot", str(settings), "--out", str(figure)])
    assert first.exit_code == 0, first.output
    written = json.loads(figure.with_suffix(".json").read_text())
    assert written["format"] == SPEEDUP_PLOT_FORMAT
    again = runner.invoke(app, ["speedup-plot", str(settings), "--out", str(figure)])
    assert again.exit_code == 0, again.output
    # numbers written before the marker existed (settings, plot, rows) are its own too
    del written["format"], written["not_drawn"]
    figure.with_suffix(".json").write_text(json.dumps(written))
    legacy = runner.invoke(app, ["speedup-plot", str(settings), "--out", str(figure)])
    assert legacy.exit_code == 0, legacy.output
    assert json.loads(figure.with_suffix(".json").read_text())["format"] == SPEEDUP_PLOT_FORMAT
    (tmp_path / "folder.json").mkdir()
    blocked = runner.invoke(
        app, ["speedup-plot", str(settings), "--out", str(tmp_path / "folder.svg")]
    )
    assert blocked.exit_code == 2 and "folder.json exists" in " ".join(blocked.stderr.split())
    wrong = runner.invoke(app, ["speedup-plot", str(settings), "--out", str(tmp_path / "f.jpg")])
    assert wrong.exit_code == 2 and ".png, .svg or .pdf" in wrong.stderr


def test_speedup_plot_help_shows_the_brackets() -> None:
    result = runner.invoke(app, ["speedup-plot", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # Rich markup took these for style tags and dropped them
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "claim = [low, high], and [[rows]] tables with label" in text
    assert "\\[" not in text


def test_skip_missing_names_a_missing_folder_once(tmp_path) -> None:
    from bettiscope.paired import SpeedupPlot, SpeedupRow, missing_rows

    _plot_folders(tmp_path)
    rows = [
        SpeedupRow("same", ["gone/x:relu"], ["gone/x:proposed"]),
        SpeedupRow(
            "two", ["gone/b:relu", "gone/a:relu"], ["gone/a:proposed", "runs/fast:proposed"]
        ),
    ]
    missing = missing_rows(SpeedupPlot(rows=rows), base_dir=tmp_path)
    assert [row["missing"] for row in missing] == [["gone/x"], ["gone/b", "gone/a"]]
    settings = tmp_path / "plot.toml"
    settings.write_text(
        '[[rows]]\nlabel = "kept"\nbaseline = ["runs/slower:relu"]\n'
        'other = ["runs/fast:proposed"]\n'
        '[[rows]]\nlabel = "lost"\nbaseline = ["gone/x:relu"]\nother = ["gone/x:proposed"]\n'
    )
    args = ["speedup-plot", str(settings), "--out", str(tmp_path / "f.png"), "--skip-missing"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "row 2 ('lost') left out, not found: gone/x" in text and text.count("gone/x") == 1


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("train", "Epochs to the training-accuracy target"),
        ("val", "Epochs to the held-out target"),
        ("both", "Epochs to both targets (training and held-out)"),
    ],
)
def test_speedup_title_names_the_target(tmp_path, target, words) -> None:
    a = _folder(tmp_path / "a", "relu", {0: 10, 1: 20, 2: 30}, target_val_acc=0.9)
    b = _folder(tmp_path / "b", "proposed", {0: 5, 1: 10, 2: 15}, target_val_acc=0.9)
    args = ["speedup", "--baseline", f"{a}:relu", "--other", f"{b}:proposed", "--target", target]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # a narrow table wraps its title
    assert words in text and "the both target" not in text


def test_the_readme_speedup_figure_redraws_from_the_repository() -> None:
    """Every row of docs/figures/study/speedups.toml reads an archive in the repository, and
    computes what the committed numbers file beside the figure says (fewer resamples here, so
    the interval is not compared)."""
    from bettiscope.config import load_config
    from bettiscope.paired import SpeedupPlot, missing_rows, speedup_rows

    figures = Path(__file__).resolve().parents[1] / "docs" / "figures" / "study"
    plot = load_config(figures / "speedups.toml", SpeedupPlot)
    assert missing_rows(plot, base_dir=figures) == []
    recorded = {
        row["label"]: row for row in json.loads((figures / "speedups.json").read_text())["rows"]
    }
    rows = speedup_rows(plot, base_dir=figures, resamples=200)
    assert [row["label"] for row in rows] == list(recorded)
    for row in rows:
        want = recorded[row["label"]]
        for arm in ("baseline", "other"):
            assert row[arm]["epochs"] == want[arm]["epochs"], row["label"]
            assert row[arm]["final_train_acc"] == pytest.approx(want[arm]["final_train_acc"])
        assert row["wilcoxon"]["p_value"] == pytest.approx(want["wilcoxon"]["p_value"])
