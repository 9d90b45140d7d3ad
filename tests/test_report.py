"""The HTML report: self-contained, escaped, every stage status shown, re-rendered by the CLI."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from bettiscope.cli import app
from bettiscope.report import heatmap_grid, render_html, render_report, save_figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _results() -> dict:
    return {
        "title": "test report",
        "created": "2026-01-01T10:00:00",
        "seconds": 75.0,
        "backend": "local",
        "notes": ["A note <b>with markup</b>."],
        "config": {"compare": {"seeds": 3, "activations": ["relu", "tanh"]}},
        "environment": {
            "python": "3.11.7",
            "cpu_count": 2,
            "packages": {"numpy": "2.0", "x": None},
        },
        "stages": {
            "alpha": {
                "title": "Alpha stage",
                "status": "done",
                "seconds": 12.0,
                "headline": "3/3 match",
                "summary": "What alpha does.",
                "budget": "3 seeds instead of 10.",
                "tables": [
                    {
                        "title": "Table A",
                        "columns": ["name", "value", "ok"],
                        "rows": [
                            ["a<script>", 1234567, {"text": "yes", "tone": "good"}],
                            ["b", 0.000123456, {"text": "NO", "tone": "bad"}],
                            ["c", None, [1, 2, 0]],
                        ],
                        "note": "A table note.",
                    }
                ],
                "figures": [
                    {"file": "figures/a.png", "caption": "Figure A."},
                    {"file": "figures/missing.png", "caption": "Gone."},
                ],
            },
            "beta": {"title": "Beta", "status": "unavailable", "reason": "module not landed"},
            "gamma": {"title": "Gamma", "status": "failed", "reason": "ValueError: boom"},
            "delta": {"title": "Delta", "status": "skipped"},
            "eps": {"title": "Eps", "status": "pending", "reason": "Interrupted; resume."},
        },
    }


@pytest.fixture
def run_dir(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "figures" / "a.png")
    (tmp_path / "results.json").write_text(json.dumps(_results()))
    return tmp_path


def test_html_is_self_contained_and_complete(run_dir) -> None:
    page = render_html(_results(), run_dir)
    assert page.startswith("<!DOCTYPE html>")
    # the figure is embedded byte for byte, not linked
    encoded = base64.b64encode((run_dir / "figures" / "a.png").read_bytes()).decode()
    assert f'src="data:image/png;base64,{encoded}"' in page
    assert "figures/a.png" not in page.split("Figure A.")[0].split("<img")[-1].split("alt=")[0]
    assert "Figure figures/missing.png is missing from the run folder" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from outside
    # statuses and reasons
    for text in (
        "not available yet",
        "module not landed",
        "failed",
        "ValueError: boom",
        "skipped (disabled in the settings)",
        "Interrupted; resume.",
        "3/3 match",
    ):
        assert text in page
    # tables: tones, number formatting, empty cells, tuples
    assert '<td class="good">yes</td>' in page and '<td class="bad">NO</td>' in page
    assert "1\u2009234\u2009567" in page and "0.000123" in page and "(1, 2, 0)" in page
    assert '<td class="muted">\u2014</td>' in page
    # budget, config and versions
    assert "3 seeds instead of 10." in page
    assert "seeds: 3" in page and "numpy" in page and "not installed" in page
    assert "1.2 min of compute" in page and "local backend" in page


def test_text_is_escaped(run_dir) -> None:
    page = render_html(_results(), run_dir)
    assert "a<script>" not in page and "a&lt;script&gt;" in page
    assert "<b>with markup</b>" not in page


def test_render_report_writes_the_file(run_dir) -> None:
    path = render_report(run_dir)
    assert path == run_dir / "report.html"
    assert "Alpha stage" in path.read_text()
    other = render_report(run_dir, out=run_dir / "copy.html")
    assert other.read_text() == path.read_text()


def test_render_report_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"nowhere: no such run folder"):
        render_report(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"not a run folder \(no results.json\)"):
        render_report(tmp_path)
    (tmp_path / "results.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"not a bettiscope run's results"):
        render_report(tmp_path)
    (tmp_path / "results.json").write_text("{broken")
    with pytest.raises(ValueError, match=r"results.json: not valid JSON"):
        render_report(tmp_path)


def test_cli_report(run_dir, tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.stdout
    assert (run_dir / "report.html").exists()
    result = runner.invoke(app, ["report", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no such run folder" in result.stderr
    assert result.stdout == ""


def test_heatmap_grid_and_save_figure(tmp_path) -> None:
    panels = [
        {"title": "relu", "values": [[3, 2], [1, None]], "xticks": [0, 10], "yticks": ["in", "1"]},
        {"title": "tanh", "values": np.array([[5.0, 4.0], [3.0, np.nan]])},
    ]
    fig = heatmap_grid(panels, ncols=3)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["relu", "tanh"]
    assert [t.get_text() for t in axes[0].texts] == ["3", "2", "1"]  # the blank cell has no number
    path = save_figure(fig, tmp_path / "h.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def _comparison_results() -> dict:
    """A minimal ``bettiscope compare`` results.json: ReLU and tanh, D-I, one target."""
    from bettiscope.naitzat import published_comparison

    def means(b0):
        return {
            "layers": [f"l{i}" for i in range(11)],
            "classes": ["0", "1"],
            "mean": {"0": [[v, 0.0] for v in b0], "1": [[1.0, 0.0]] * 11},
            "std": {"0": [[0.0, 0.0]] * 11, "1": [[0.0, 0.0]] * 11},
            "n": {"0": [4] * 11, "1": [4] * 11},
        }

    betti = {"relu": means([9, 6, 3, 2, 1, 1, 1, 1, 1, 1, 1]), "tanh": means([9] * 10 + [1])}
    cell = {"success_rate": 1.0, "median_epochs": 100.0}
    return {
        "config": {
            "dataset": "D-I",
            "seeds": 4,
            "tuning_seeds": 2,
            "max_epochs": 300,
            "lr_grid": [0.01, 0.03],
            "target_train_acc": 1.0,
            "target_val_acc": None,
        },
        "created": "2026-01-01T10:00:00",
        "runs": [],
        "summary": {
            "targets": ["epochs_to_train_target"],
            "activations": {
                "relu": {"lr": 0.01, "seconds_per_epoch": 0.01, "train_target": dict(cell)},
                "tanh": {
                    "lr": 0.03,
                    "seconds_per_epoch": 0.02,
                    "train_target": {
                        **cell,
                        "speedup_vs_relu": {"speedup": 2.0, "low": 1.5, "high": "inf"},
                        "wilcoxon_vs_relu": {"p_value": 0.01},
                        "prob_improvement_vs_relu": 0.9,
                    },
                },
            },
            "lrs": {
                "tanh": {
                    "tuned": True,
                    "lr": 0.03,
                    "grid": [{"median_epochs": "inf"}, {"median_epochs": 100.0}],
                },
            },
            "mechanism": {"n": 8, "spearman_rho": 0.5, "p_value": 0.2},
            "published": published_comparison("D-I", betti, betti),
        },
        "environment": {"python": "3.11"},
    }


def test_comparison_folder_renders_as_a_report(tmp_path) -> None:
    (tmp_path / "results.json").write_text(json.dumps(_comparison_results()))
    page = render_report(tmp_path).read_text()
    assert "Activation comparison on D-I" in page
    assert '<td class="good">2 [1.5, inf]</td>' in page  # interval above 1: green
    assert "Beside the Naitzat study (D-I, class a)" in page and "published" in page
    assert "beta_0: measured relu &lt; tanh (reproduced)" in page
    assert "Learning-rate tuning" in page and "fraction_converged.png is missing" in page


def test_tuning_cells_show_successes_and_the_tie_breaking_loss() -> None:
    from bettiscope.report import format_tuning_point

    reached = {"lr": 0.01, "median_epochs": 1712.0, "successes": 2, "runs": 2}
    missed = {"median_epochs": "inf", "successes": 1, "runs": 2, "mean_final_loss": 0.0078109}
    assert format_tuning_point({**reached, "mean_final_loss": 0.5}) == "1712 (2/2)"
    assert format_tuning_point(missed) == "inf (1/2), loss 0.00781"
    # results.json written before successes were stored still renders
    assert format_tuning_point({"median_epochs": "inf"}) == "inf"


def test_same_rate_note_says_why_no_same_rate_table() -> None:
    from bettiscope.report import same_rate_note

    lrs = {"relu": {"lr": 0.003}, "tanh": {"lr": 0.003}}
    note = same_rate_note({"relu_lr_runs": True}, {"lrs": lrs, "at_relu_lr": {}})
    assert note is not None and "tuned to ReLU's learning rate (0.003)" in note
    assert same_rate_note({"relu_lr_runs": False}, {"lrs": lrs}) is None  # not asked for
    table = {"tanh": {"lr": 0.003}}
    assert same_rate_note({"relu_lr_runs": True}, {"lrs": lrs, "at_relu_lr": table}) is None
