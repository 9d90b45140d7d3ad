"""The run report: one self-contained ``report.html`` rendered from a run folder's saved results.

The last step of the data flow (data -> model -> probe -> topology -> results -> report). It reads
``results.json`` only -- plus the PNG figures the stages saved beside it -- so ``bettiscope report
DIR`` re-renders a report at any time, from a finished, interrupted or copied run folder.

The report is generic: each stage of a run stores, next to its raw data, what a person should see
(see :data:`STAGE_KEYS`)::

    {"title": "...", "status": "done" | "failed" | "unavailable" | "skipped" | "pending",
     "summary": "one paragraph", "notes": ["...", ...], "budget": "what was run, how small",
     "tables": [{"title", "columns": [...], "rows": [[cell, ...]], "note"}],
     "figures": [{"file": "figures/x.png", "caption": "..."}],
     "reason": "why not done", "seconds": 12.3, "data": {...raw results...}}

A table cell is a value (numbers are formatted to 4 significant digits) or
``{"text": "...", "tone": "good" | "bad" | "muted"}`` for a coloured cell. Figures are embedded as
base64 PNG, so the HTML file can be mailed or archived alone.

Plot helpers used by the stages (:func:`save_figure`, :func:`heatmap_grid`) live here too, so
every picture in a report has the same look, and so does what a comparison
(:func:`bettiscope.experiments.run_compare`) writes beside its ``results.json``:
``summary.md`` (:func:`render_summary_md`), ``fraction_converged.png`` and ``betti_by_layer.png``
(:func:`plot_fraction_converged`, :func:`plot_betti_by_layer`).
"""

from __future__ import annotations

import base64
import html
import math
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from bettiscope.statistics import (
    censored,
    format_percent,
    format_value,
    interval_tone,
    speedup_text,
)
from bettiscope.storage import atomic_write_text, pyplot, read_json
from bettiscope.storage import save_figure as storage_save_figure

if TYPE_CHECKING:
    from bettiscope.experiments import CompareConfig

__all__ = [
    "STAGE_KEYS",
    "STATUS_LABELS",
    "comparison_report",
    "figure_title",
    "heatmap_grid",
    "plot_betti_by_layer",
    "plot_fraction_converged",
    "render_html",
    "render_report",
    "render_summary_md",
    "save_figure",
    "setting_label",
]

#: Keys a stage may set for the report (everything else in a stage is ignored here).
STAGE_KEYS = (
    "title",
    "status",
    "headline",
    "summary",
    "notes",
    "budget",
    "tables",
    "figures",
    "figure_columns",
    "reason",
)

#: How each stage status is shown.
STATUS_LABELS = {
    "done": "done",
    "failed": "failed",
    "unavailable": "not available yet",
    "skipped": "skipped (disabled in the settings)",
    "pending": "not run yet",
    "running": "interrupted",
}

_CSS = """
:root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #ffffff; --soft: #f6f7f9;
        --good: #067647; --good-bg: #dcfae6; --bad: #b42318; --bad-bg: #fee4e2;
        --warn: #93370d; --warn-bg: #fef0c7; --accent: #3538cd; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.55 -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif;
       color: var(--fg); background: var(--bg); }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 64px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 40px 0 8px; padding-top: 16px; border-top: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 6px; }
p { margin: 6px 0 10px; }
.sub { color: var(--muted); margin-bottom: 18px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 12.5px;
         font-weight: 600; vertical-align: middle; margin-left: 6px; white-space: nowrap; }
.s-done { background: var(--good-bg); color: var(--good); }
.s-failed { background: var(--bad-bg); color: var(--bad); }
.s-unavailable, .s-pending, .s-running { background: var(--warn-bg); color: var(--warn); }
.s-skipped { background: var(--soft); color: var(--muted); }
.overview { border-collapse: collapse; margin: 8px 0 8px; }
.overview td { padding: 4px 14px 4px 0; vertical-align: top; }
.overview td:first-child { white-space: nowrap; }
.overview a { color: var(--accent); text-decoration: none; }
.budget { background: var(--soft); border-left: 4px solid var(--accent); padding: 8px 12px;
          margin: 10px 0; font-size: 14px; }
.notice { background: var(--warn-bg); color: var(--warn); padding: 8px 12px; border-radius: 6px; }
.error { background: var(--bad-bg); color: var(--bad); padding: 8px 12px; border-radius: 6px;
         white-space: pre-wrap; font-family: ui-monospace, "DejaVu Sans Mono", monospace;
         font-size: 13px; }
.note { color: var(--muted); font-size: 13.5px; }
.table-wrap { overflow-x: auto; margin: 6px 0 14px; }
table.data { border-collapse: collapse; font-size: 13.5px; font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: 4px 8px; border-bottom: 1px solid var(--line);
                               text-align: right; white-space: nowrap; }
table.data th { background: var(--soft); font-weight: 600; border-bottom: 2px solid var(--line); }
table.data td:first-child, table.data th:first-child { text-align: left; }
table.left th, table.left td { text-align: left; }
td.good { color: var(--good); background: var(--good-bg); font-weight: 600; }
td.bad { color: var(--bad); background: var(--bad-bg); font-weight: 600; }
td.muted { color: var(--muted); }
figure { margin: 12px 0 22px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13.5px; margin-top: 4px; }
pre { background: var(--soft); padding: 10px 12px; border-radius: 6px; font-size: 12.5px;
      overflow-x: auto; }
details summary { cursor: pointer; color: var(--accent); margin: 6px 0; }
.gallery { display: grid; gap: 8px 16px; }
.gallery figure { margin: 6px 0; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
@media (max-width: 900px) { .cols { grid-template-columns: 1fr; } }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _format_number(value: float) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u2009") if abs(value) >= 10_000 else str(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.3g}"
    return f"{value:.4g}"


def format_duration(seconds: float) -> str:
    """Seconds as a short readable span: 45 s, 12.5 min, 3.4 h."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _cell(value: Any, tag: str = "td") -> str:
    tone = ""
    if isinstance(value, dict) and "text" in value:
        tone = value.get("tone", "")
        value = value["text"]
    if value is None:
        text, tone = "\u2014", tone or "muted"
    elif isinstance(value, (int, float)):
        text = _format_number(value)
    elif isinstance(value, (list, tuple)):
        text = "(" + ", ".join(str(v) for v in value) + ")"
    else:
        text = str(value)
    cls = f' class="{_e(tone)}"' if tone in ("good", "bad", "muted") else ""
    return f"<{tag}{cls}>{_e(text)}</{tag}>"


def _table(spec: dict[str, Any]) -> str:
    parts = []
    if spec.get("title"):
        parts.append(f"<h3>{_e(spec['title'])}</h3>")
    head = "".join(_cell(c, "th") for c in spec.get("columns", []))
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in spec["rows"])
    left = " left" if spec.get("align") == "left" else ""
    parts.append(
        f'<div class="table-wrap"><table class="data{left}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )
    if spec.get("note"):
        parts.append(f'<p class="note">{_e(spec["note"])}</p>')
    return "\n".join(parts)


def _figure(spec: dict[str, Any], run_dir: Path) -> str:
    path = run_dir / spec["file"]
    caption = spec.get("caption", "")
    try:
        data = path.read_bytes()
    except OSError:
        return f'<p class="notice">Figure {_e(spec["file"])} is missing from the run folder.</p>'
    encoded = base64.b64encode(data).decode("ascii")
    alt = caption or Path(spec["file"]).stem
    return (
        f'<figure><img src="data:image/png;base64,{encoded}" alt="{_e(alt)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _stage(key: str, stage: dict[str, Any], run_dir: Path) -> str:
    status = stage.get("status", "pending")
    title = stage.get("title", key)
    label = STATUS_LABELS.get(status, status)
    seconds = stage.get("seconds")
    timing = f' <span class="note">{format_duration(seconds)}</span>' if seconds else ""
    parts = [
        f'<h2 id="{_e(key)}">{_e(title)}<span class="badge s-{_e(status)}">{_e(label)}</span>'
        f"{timing}</h2>"
    ]
    if stage.get("summary"):
        parts.append(f"<p>{_e(stage['summary'])}</p>")
    if status in ("unavailable", "skipped", "pending", "running") and stage.get("reason"):
        parts.append(f'<p class="notice">{_e(stage["reason"])}</p>')
    if status == "failed":
        parts.append(f'<div class="error">{_e(stage.get("reason", "failed"))}</div>')
    if stage.get("budget"):
        parts.append(f'<div class="budget"><b>Budget.</b> {_e(stage["budget"])}</div>')
    for table in stage.get("tables", []):
        parts.append(_table(table))
    figures = [_figure(figure, run_dir) for figure in stage.get("figures", [])]
    columns = int(stage.get("figure_columns", 1) or 1)
    if columns > 1 and figures:
        parts.append(
            f'<div class="gallery" style="grid-template-columns: repeat({columns}, 1fr)">'
            + "".join(figures)
            + "</div>"
        )
    else:
        parts.extend(figures)
    for note in stage.get("notes", []):
        parts.append(f"<p>{_e(note)}</p>")
    return "\n".join(parts)


def _environment(env: dict[str, Any]) -> str:
    rows = [
        ["Python", env.get("python")],
        ["platform", env.get("platform")],
        ["CPUs", env.get("cpu_count")],
    ]
    rows += [
        [name, version or "not installed"] for name, version in env.get("packages", {}).items()
    ]
    return _table({"columns": ["", "version"], "rows": rows, "align": "left"})


def render_html(results: dict[str, Any], run_dir: str | os.PathLike[str]) -> str:
    """The report for ``results`` (a run's ``results.json``) as one HTML string.

    Parameters
    ----------
    results : dict
        ``{"title", "created", "seconds", "stages": {key: stage}, "config", "environment",
        "notes"}``; see the module docstring for a stage.
    run_dir : path-like
        The run folder; figure paths in the stages are relative to it.
    """
    run_dir = Path(run_dir)
    title = results.get("title", "bettiscope report")
    stages: dict[str, dict[str, Any]] = results.get("stages", {})
    created = results.get("created", "")
    seconds = results.get("seconds")
    sub = f"Run folder <code>{_e(run_dir.name)}</code>, started {_e(created.replace('T', ' '))}"
    if seconds is not None:
        sub += f"; {format_duration(seconds)} of compute in total"
    if results.get("backend"):
        sub += f"; jobs ran on the {_e(results['backend'])} backend"
    overview_rows = []
    for key, stage in stages.items():
        status = stage.get("status", "pending")
        overview_rows.append(
            f'<tr><td><a href="#{_e(key)}">{_e(stage.get("title", key))}</a></td>'
            f'<td><span class="badge s-{_e(status)}">{_e(STATUS_LABELS.get(status, status))}'
            f'</span></td><td class="note">{_e(stage.get("headline", ""))}</td></tr>'
        )
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{sub}.</p>',
    ]
    for note in results.get("notes", []):
        body.append(f"<p>{_e(note)}</p>")
    body.append(f'<table class="overview">{"".join(overview_rows)}</table>')
    for key, stage in stages.items():
        body.append(_stage(key, stage, run_dir))
    body.append('<h2 id="settings">Settings and environment</h2>')
    config_text = yaml.safe_dump(
        results.get("config", {}), sort_keys=False, default_flow_style=None, width=70
    )
    body.append(
        '<div class="cols"><div><h3>Settings (resolved)</h3>'
        f"<pre>{_e(config_text)}</pre></div>"
        f"<div><h3>Library versions</h3>{_environment(results.get('environment', {}))}</div></div>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body><main>\n"
        + "\n".join(body)
        + "\n</main></body></html>\n"
    )


def render_report(
    run_dir: str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None
) -> Path:
    """Render ``run_dir/results.json`` to ``report.html`` (atomically) and return its path.

    Parameters
    ----------
    run_dir : path-like
        A run folder written by ``bettiscope demo`` or ``bettiscope compare``.
    out : path-like, optional
        Where to write; default ``run_dir/report.html``.

    Raises
    ------
    ValueError
        ``run_dir`` is not a run folder (no readable ``results.json``).
    """
    run_dir = Path(run_dir)
    if run_dir.is_file():
        raise ValueError(f"{run_dir}: is a file; give the run folder (the demo's --out).")
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: no such run folder.")
    results_path = run_dir / "results.json"
    if not results_path.exists():
        raise ValueError(
            f"{run_dir}: not a run folder (no results.json); give a folder made by bettiscope demo."
        )
    results = read_json(results_path)
    if isinstance(results, dict) and "stages" not in results and _is_comparison(results):
        results = comparison_report(results)
    if not isinstance(results, dict) or "stages" not in results:
        raise ValueError(f"{results_path}: not a bettiscope run's results (no 'stages').")
    target = Path(out) if out is not None else run_dir / "report.html"
    atomic_write_text(target, render_html(results, run_dir))
    return target


# --------------------------------------------------------------------------------------------
# an activation comparison (``bettiscope compare``) as report stages
# --------------------------------------------------------------------------------------------


def _is_comparison(results: dict[str, Any]) -> bool:
    return {"config", "summary", "runs"} <= set(results) and "activations" in results["summary"]


def _number_or_dash(value: float | str | None) -> str:
    """A number, "-" for None; JSON's "inf" strings (open-ended intervals) pass through."""
    if value is None:
        return "-"
    return value if isinstance(value, str) else _format_number(value)


def _speedup_cell(cell: dict[str, Any], activation: str) -> Any:

    text = speedup_text(cell, activation, _number_or_dash)
    speed = cell.get("speedup_vs_relu")
    if speed is None or speed.get("speedup") is None:
        return {"text": text, "tone": "muted"}
    return {"text": text, "tone": interval_tone(speed)}


def setting_label(name: str, task_options: dict[str, Any]) -> str:
    """The data set with the parameters the user gave and an MLP that differs from the study's,
    e.g. ``"D-III (points_inner=100), width 50, depth 10, uniform biases"``: a shifted set, a
    wider net or non-zero biases must not look like the default setting."""
    from bettiscope.models.mlp import MLPConfig

    study = MLPConfig()  # the study's MLP: what a run that names nothing else used
    given = task_options.get("dataset_params") or {}
    label = name + (f" ({', '.join(f'{k}={v}' for k, v in given.items())})" if given else "")
    width = task_options.get("width", study.width)
    depth = task_options.get("depth", study.depth)
    if (width, depth) != (study.width, study.depth):
        label += f", width {width}, depth {depth}"
    bias_init = task_options.get("bias_init", study.bias_init)
    if bias_init != study.bias_init:
        label += f", {bias_init} biases"
    return label


def format_tuning_point(point: dict[str, Any]) -> str:
    """One learning rate of a tuning grid as a table cell, e.g. ``"inf (1/2), loss 0.0078"``.

    ``point`` is an entry of ``summary["lrs"][activation]["grid"]`` in a comparison's
    results.json: median epochs to the target on the tuning seeds (inf = missed), runs that
    reached it, where the median missed the mean final loss that broke the tie, and how many
    runs were non-finite before their first step (``diverged_at_init``).
    """
    median = float(point["median_epochs"])
    cell = "inf" if math.isinf(median) else f"{median:g}"
    if "successes" in point and "runs" in point:
        cell += f" ({point['successes']}/{point['runs']})"
    loss = point.get("mean_final_loss")
    if math.isinf(median) and loss is not None:
        cell += f", loss {loss:.3g}"
    if point.get("diverged_at_init"):
        cell += f", {point['diverged_at_init']} non-finite at init"
    return cell


def comparison_report(results: dict[str, Any]) -> dict[str, Any]:
    """Turn a comparison's ``results.json`` into the report's stage format.

    One stage per target (speed-ups vs ReLU with intervals, success rates, Wilcoxon p), one for
    the Betti numbers through the layers (figure, the mechanism correlation and, on D-I, D-II
    and D-III, the table beside the Naitzat study) and one for the learning-rate tuning.
    """
    config, summary = results["config"], results["summary"]
    stages: dict[str, dict[str, Any]] = {}
    budget = (
        f"{config['seeds']} paired evaluation seeds, {config['tuning_seeds']} tuning seeds, "
        f"budget {config['max_epochs']} epochs, learning-rate grid {config['lr_grid']}."
    )
    columns = [
        "activation",
        "lr",
        "success",
        "median epochs",
        "speed-up vs ReLU [95% CI]",
        "p",
        "P(better)",
        "s/epoch",
    ]

    def speedup_rows(by_activation: dict[str, Any], label: str) -> list[list[Any]]:
        rows = []
        for activation, row in by_activation.items():
            cell = row.get(label)
            if cell is None:  # an older results.json without this target's cell
                continue
            wilcoxon = cell.get("wilcoxon_vs_relu") or {}
            rows.append(
                [
                    activation,
                    row["lr"],
                    f"{cell['success_rate']:.0%}",
                    cell["median_epochs"],
                    _speedup_cell(cell, activation),
                    wilcoxon.get("p_value"),
                    cell.get("prob_improvement_vs_relu"),
                    row.get("seconds_per_epoch"),
                ]
            )
        return rows

    for target in summary["targets"]:
        label = target.replace("epochs_to_", "")
        rows = speedup_rows(summary["activations"], label)
        what = {
            "train_target": f"training accuracy >= {config['target_train_acc']}",
            "val_target": f"held-out accuracy >= {config.get('target_val_acc')}",
            "target": "both targets",
        }.get(label, label)
        stages[label] = {
            "title": f"Epochs to {what}",
            "status": "done",
            "budget": budget,
            "summary": "A run that misses the target counts as infinitely many epochs. "
            "Speed-up = median epochs (ReLU) / median epochs, with a 95% paired bootstrap "
            "interval (green: excludes 1 above, red: below); p = paired Wilcoxon signed-rank; "
            "P(better) = probability that a run needs fewer epochs than a ReLU run. "
            "s/epoch is each run's own training time: runs of different activations ran at "
            "different moments, so on a shared machine it also measures the load "
            "(benchmarks/activation_cost.py times all activations under the same load).",
            "tables": [{"columns": columns, "rows": rows}],
            "figures": (
                [{"file": "fraction_converged.png", "caption": "Runs at the target by epoch."}]
                + (
                    [{"file": "speedups.png", "caption": "Speed-ups over ReLU, as in the table."}]
                    if "relu" in summary["activations"] and len(summary["activations"]) > 1
                    else []
                )
                if label == "train_target"
                else []
            ),
        }
    if summary.get("at_relu_lr"):
        stages["at_relu_lr"] = {
            "title": "At ReLU's tuned learning rate",
            "status": "done",
            "summary": "The same evaluation seeds, each activation trained at the rate ReLU's "
            "tuning chose, paired seed by seed with ReLU's runs: the protocol's check that a "
            "speed-up does not come from the new activation's own tuning alone.",
            "tables": [
                {
                    "title": f"Epochs to the {target.replace('epochs_to_', '').replace('_', ' ')}",
                    "columns": columns,
                    "rows": speedup_rows(summary["at_relu_lr"], target.replace("epochs_to_", "")),
                }
                for target in summary["targets"]
            ],
        }
    mech = summary.get("mechanism", {})
    notes = []
    if mech.get("spearman_rho") is not None:
        notes.append(
            f"Spearman rho between a run's Betti score (hidden layers at the last trace, "
            f"relative to the input; lower = simpler) and its epochs to the training target: "
            f"{_number_or_dash(mech['spearman_rho'])} (p = {_number_or_dash(mech['p_value'])}, "
            f"n = {mech['n']})."
        )
    tables = []
    published = summary.get("published")
    if published:
        from bettiscope.naitzat import ordering_verdict

        rows = []
        for row in published["rows"]:
            which = "" if row["networks"] == "well-trained" else ", all nets"
            who = f"{row['activation']} b{row['dim']} (n={row['n']}{which})"
            measured = [None if v is None else round(v, 2) for v in row["measured"]]
            total = row["measured_hidden_sum"]
            rows.append([who, "measured", *measured, None if total is None else round(total, 2)])
            rows.append(
                [{"text": "", "tone": "muted"}, "published", *row["published"]]
                + [row["published_hidden_sum"]]
            )
        ordering = "; ".join(
            f"beta_{dim}: measured {' < '.join(info['measured'])} ({ordering_verdict(info)})"
            for dim, info in sorted(published["ordering"].items())
        )
        tables.append(
            {
                "title": f"Beside the Naitzat study ({published['dataset']}, class a)",
                "columns": [
                    "activation",
                    "",
                    "input",
                    *[f"h{i}" for i in range(1, len(published["rows"][0]["published"]) - 1)],
                    "output",
                    "hidden sum",
                ],
                "rows": rows,
                "note": "Published values read off the study's figures (+-0.1); the study "
                "averaged well-trained networks only ('all': none reached 100%). Ordering by "
                f"hidden-layer sum: {ordering}.",
            }
        )
    stages["betti"] = {
        "title": "Betti numbers through the layers",
        "status": "done",
        "summary": "Mean per-layer, per-class Betti numbers at the last trace of every "
        "evaluation run (networks that reached the training target, accuracy >= "
        f"{config['target_train_acc']}, where an activation has any).",
        "tables": tables,
        "figures": [{"file": "betti_by_layer.png", "caption": "Mean +- 1/2 std per layer."}],
        "notes": notes,
    }
    tuned = {a: v for a, v in summary.get("lrs", {}).items() if v.get("tuned")}
    if tuned:
        grid = config["lr_grid"]
        stages["tuning"] = {
            "title": "Learning-rate tuning",
            "status": "done",
            "summary": "Median epochs to the target on the tuning seeds (a miss counts as "
            "infinity), with the runs that reached it; the lowest is chosen, ties go to more "
            "successes, then lower mean final loss (shown where the median missed).",
            "tables": [
                {
                    "columns": ["activation", *[f"{lr:g}" for lr in grid], "chosen"],
                    "rows": [
                        [a, *[format_tuning_point(g) for g in info["grid"]], info["lr"]]
                        for a, info in tuned.items()
                    ],
                }
            ],
        }
    return {
        "title": "Activation comparison on "
        + setting_label(config["dataset"], config.get("task_options") or {}),
        "created": results.get("created", ""),
        "stages": stages,
        "config": config,
        "environment": results.get("environment", {}),
    }


# --------------------------------------------------------------------------------------------
# a comparison's figures and summary.md (run_compare writes them beside results.json)
# --------------------------------------------------------------------------------------------


def _series_styles(names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """One distinct (colour, line style) per series: matplotlib's 10-colour cycle repeats."""
    styles = ("-", "--", ":")
    return {
        name: {"color": f"C{i % 10}", "linestyle": styles[(i // 10) % len(styles)]}
        for i, name in enumerate(names)
    }


def plot_fraction_converged(
    records: Sequence[dict[str, Any]],
    max_epochs: int,
    path: str | Path,
    *,
    title: str = "",
    target_train_acc: float = 1.0,
) -> Path:
    """Fraction of evaluation runs that reached the training target by each epoch.

    Runs at ReLU's tuned rate (``--relu-lr-runs``) are drawn dotted in their activation's
    colour. ``target_train_acc`` (a fraction, default 1.0) only labels the y axis.
    """
    plt = pyplot()
    activations = list(dict.fromkeys(r["activation"] for r in records if r["phase"] == "eval"))
    at_relu_lr = list(dict.fromkeys(r["activation"] for r in records if r["phase"] == "relu_lr"))
    # the legend would hide the curves: put it beside them
    crowded = len(activations) + len(at_relu_lr) > 6
    fig, ax = plt.subplots(figsize=(8, 4) if crowded else (6, 4))
    grid = np.arange(0, max_epochs + 1)
    styles = _series_styles(activations)
    series = [(a, "eval") for a in activations] + [(a, "relu_lr") for a in at_relu_lr]
    for activation, phase in series:
        runs = [r for r in records if r["phase"] == phase and r["activation"] == activation]
        epochs = np.array([censored(r["epochs_to_train_target"]) for r in runs])
        fraction = (epochs[None, :] <= grid[:, None]).mean(axis=1)
        style = dict(styles.get(activation, {}))
        label = f"{activation} (n={len(epochs)})"
        if phase == "relu_lr":
            style["linestyle"] = ":"
            label = f"{activation} at ReLU's lr {runs[0]['lr']:g} (n={len(epochs)})"
        ax.step(grid, fraction, where="post", label=label, **style)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"fraction of runs at {format_percent(target_train_acc)} training accuracy")
    ax.set_ylim(-0.02, 1.02)
    beside = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)} if crowded else {}
    ax.legend(fontsize=8, **beside)
    ax.set_title(title or "Runs converged by epoch", fontsize=9)
    fig.tight_layout()
    return storage_save_figure(fig, path)


def plot_betti_by_layer(
    betti_by_layer: dict[str, Any],
    path: str | Path,
    *,
    title: str = "",
    label_notes: dict[str, str] | None = None,
) -> Path | None:
    """Mean Betti numbers per layer at the final trace, one line per activation (+-1/2 std).

    ``label_notes`` adds a note to an activation's legend entry (e.g. which runs it averages).
    The title is wrapped to the figure's width.
    """
    available = {a: v for a, v in betti_by_layer.items() if v}
    if not available:
        return None
    plt = pyplot()
    first = next(iter(available.values()))
    classes = first["classes"]
    dims = max(len(cell) for c in classes for cell in first["mean"][c] if cell is not None)
    fig, axes = plt.subplots(
        len(classes), dims, figsize=(4.2 * dims, 3.0 * len(classes)), squeeze=False
    )
    styles = _series_styles(list(available))
    for activation, data in available.items():
        x = np.arange(len(data["layers"]))
        for row, c in enumerate(classes):
            for dim in range(dims):
                mean = np.array([np.nan if m is None else m[dim] for m in data["mean"][c]])
                std = np.array([np.nan if s is None else s[dim] for s in data["std"][c]])
                ax = axes[row][dim]
                # runs with points predicted in this class (a net that predicts one class
                # leaves the other unmeasured), so n differs between the rows
                count = max(data["n"][c])
                style = styles[activation]
                note = (label_notes or {}).get(activation)
                label = f"{activation} (n={count}{'; ' + note if note else ''})"
                ax.plot(x, mean, marker="o", ms=3, label=label, **style)
                ax.fill_between(x, mean - std / 2, mean + std / 2, alpha=0.15, color=style["color"])
    for row, c in enumerate(classes):
        for dim in range(dims):
            ax = axes[row][dim]
            ax.set_title(f"class {c}: beta_{dim}", fontsize=9)
            ax.set_xticks(range(len(first["layers"])), first["layers"], fontsize=6, rotation=90)
            ax.set_ylabel("mean over seeds", fontsize=8)
    for row in range(len(classes)):
        axes[row][0].legend(
            fontsize=7, title="n = runs with this class predicted", title_fontsize=6
        )
    if title:
        # ~11 characters per inch at 10 pt: a long title on a one-column figure would be cut
        fig.suptitle(textwrap.fill(title, width=int(11 * 4.2 * dims)), fontsize=10)
    fig.tight_layout()
    return storage_save_figure(fig, path)


def figure_title(name: str, config: CompareConfig) -> str:
    """Figure title: :func:`bettiscope.report.setting_label`, the seeds and the budget."""
    label = setting_label(name, config.task_options)
    return f"{label}: {config.seeds} seeds, budget {config.max_epochs} epochs"


def run_provenance(runs: Sequence[dict[str, Any]]) -> tuple[int, list[int]]:
    """Runs copied from earlier folders (``--reuse``), and the old budget of each continued one."""
    copied = sum(1 for r in runs if r.get("imported_from"))
    return copied, [r["extended_from"]["epochs"] for r in runs if r.get("extended_from")]


def _provenance_lines(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Say which evaluation runs came from earlier folders (``--reuse``), if any did."""
    copied, continued = run_provenance(runs)
    if not copied and not continued:
        return []
    text = f"Of the {len(runs)} evaluation runs, {copied} were copied from earlier folders"
    if continued:
        budgets = ", ".join(str(b) for b in sorted(set(continued)))
        text += (
            f" and {len(continued)} continued from runs that had used up a budget of "
            f"{budgets} epochs (identical to training from scratch)"
        )
    return [text + "."]


def same_rate_note(config: dict[str, Any], summary: dict[str, Any]) -> str | None:
    """Why ``--relu-lr-runs`` added no table: every activation was tuned to ReLU's rate."""
    if not config.get("relu_lr_runs") or summary.get("at_relu_lr"):
        return None
    relu = (summary.get("lrs") or {}).get("relu", {}).get("lr")
    if relu is None:
        return None
    return (
        f"The same-rate check (--relu-lr-runs) needed no extra runs: every activation was "
        f"tuned to ReLU's learning rate ({format_value(relu)}), so the table above is that check."
    )


def _at_relu_lr_md(summary: dict[str, Any]) -> list[str]:
    """The ``--relu-lr-runs`` section: each activation on the evaluation seeds at ReLU's rate."""
    lines = [
        "## At ReLU's tuned learning rate",
        "",
        "The same evaluation seeds, each activation trained at the rate ReLU's tuning chose "
        "(the protocol's check that a speed-up does not come from the new activation's own "
        "tuning alone); statistics paired with ReLU's evaluation runs.",
        "",
        "| activation | target | lr | success | median epochs | speed-up vs ReLU [95% CI] "
        "| p (Wilcoxon) | P(better) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for activation, row in summary["at_relu_lr"].items():
        for target in summary["targets"]:
            label = target.replace("epochs_to_", "")
            # results.json files written before the per-target cells had the training target only
            cell = row.get(label) or (row if label == "train_target" else None)
            if cell is None:
                continue
            wilcoxon = cell.get("wilcoxon_vs_relu")
            lines.append(
                f"| {activation} | {label.replace('_', ' ')} | {format_value(row['lr'])} | "
                f"{cell['success_rate']:.0%} | {format_value(cell['median_epochs'])} | "
                f"{speedup_text(cell, activation) if 'speedup_vs_relu' in cell else '-'} | "
                f"{format_value(wilcoxon['p_value']) if wilcoxon else '-'} | "
                f"{format_value(cell.get('prob_improvement_vs_relu'))} |"
            )
    return [*lines, ""]


def render_summary_md(results: dict[str, Any]) -> str:
    """A Markdown summary of ``results.json``."""
    from bettiscope.experiments import init_divergence_warnings, tuning_warnings

    config = results["config"]
    summary = results["summary"]
    lines = [
        f"# Activation comparison on {setting_label(config['dataset'], config['task_options'])}",
        "",
        f"Created {results['created']}. {config['seeds']} paired evaluation seeds, "
        + (
            f"no learning-rate tuning (one rate given: {config['lr_grid'][0]:g}), "
            if len(config["lr_grid"]) == 1
            else f"{config['tuning_seeds']} tuning seeds, learning-rate grid {config['lr_grid']}, "
        )
        + f"budget {config['max_epochs']} epochs. Target: training accuracy >= "
        f"{config['target_train_acc']}"
        + (
            f"; held-out accuracy >= {config['target_val_acc']}."
            if config["target_val_acc"] is not None
            else "."
        ),
        (
            "Every run trained for the whole budget (the Betti numbers are of the network at "
            "the end; epochs to target are when it was first reached)."
            if not config.get("stop_at_target", True)
            else "Runs stopped at the target."
        ),
        "A run that misses the target counts as infinitely many epochs. Speed-up = median "
        "epochs (ReLU) / median epochs (activation), 95% paired bootstrap interval "
        f"({config['bootstrap']:,} resamples); p = paired Wilcoxon signed-rank; "
        "P(better) = probability that a run needs fewer epochs than a ReLU run.",
        *_provenance_lines(results["runs"]),
        "",
    ]
    for target in summary["targets"]:
        label = target.replace("epochs_to_", "")
        lines += [
            f"## Epochs to the {label.replace('_', ' ')}",
            "",
            "| activation | lr | success | median epochs | s/epoch | speed-up vs ReLU [95% CI] "
            "| p (Wilcoxon) | P(better) | final train acc (median) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for activation, row in summary["activations"].items():
            cell = row[label]
            speed_text = speedup_text(cell, activation)
            wilcoxon = cell.get("wilcoxon_vs_relu")
            lines.append(
                f"| {activation} | {format_value(row['lr'])} | {cell['success_rate']:.0%} | "
                f"{format_value(cell['median_epochs'])} | "
                f"{format_value(row['seconds_per_epoch'])} | "
                f"{speed_text} | {format_value(wilcoxon['p_value']) if wilcoxon else '-'} | "
                f"{format_value(cell.get('prob_improvement_vs_relu'))} | "
                f"{format_value(row.get('final_train_acc_median'), 4)} |"
            )
        lines.append("")
    target = format_percent(config["target_train_acc"])
    lines += [f"## Per-seed epochs to {target} training accuracy (- = missed)", ""]
    first = config.get("first_seed", 0)
    seeds = list(range(first, first + config["seeds"]))
    lines.append("| activation | " + " | ".join(f"s{s}" for s in seeds) + " |")
    lines.append("|---|" + "---|" * len(seeds))
    for activation, row in summary["activations"].items():
        values = row["train_target"]["epochs"]
        lines.append(f"| {activation} | " + " | ".join(format_value(v) for v in values) + " |")
    lines.append("")
    mech = summary["mechanism"]
    lines += [
        "## Mechanism: Betti decay vs epochs",
        "",
        f"Spearman rho between the per-run Betti score (lower = simpler topology in the hidden "
        f"layers at the last trace) and epochs-to-target: {format_value(mech.get('spearman_rho'))} "
        f"(p = {format_value(mech.get('p_value'))}, n = {mech['n']}). Median score per activation: "
        + ", ".join(
            f"{a} {format_value(r['betti_score_median'])}"
            for a, r in summary["activations"].items()
        )
        + ".",
        "",
    ]
    if summary.get("published"):
        from bettiscope.naitzat import render_published_md

        lines += render_published_md(summary["published"])
    if summary.get("at_relu_lr"):
        lines += _at_relu_lr_md(summary)
    if note := same_rate_note(config, summary):
        lines += [note, ""]
    tuned = [a for a, v in summary["lrs"].items() if v.get("tuned")]
    if tuned:
        lines += [
            "## Learning-rate tuning",
            "",
            "Each cell: median epochs on the tuning seeds (inf = missed), (runs that reached "
            "the target / runs), and where the median missed the mean final loss (tie-breaker).",
            "",
        ]
        grid = config["lr_grid"]
        lines.append(
            "| activation | " + " | ".join(format_value(lr) for lr in grid) + " | chosen |"
        )
        lines.append("|---|" + "---|" * (len(grid) + 1))
        for activation in tuned:
            info = summary["lrs"][activation]
            cells = [format_tuning_point(g) for g in info["grid"]]
            lines.append(
                f"| {activation} | " + " | ".join(cells) + f" | {format_value(info['lr'])} |"
            )
        lines.append("")
        warnings = tuning_warnings(summary["lrs"])
        if warnings:
            lines += [f"- Warning: {text}" for text in warnings] + [""]
    overflow = init_divergence_warnings(summary)
    if overflow:
        lines += [f"- Warning: {text}" for text in overflow] + [""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------


def save_figure(fig: Any, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Save a report figure as PNG atomically, trimmed, and close it."""
    return storage_save_figure(fig, path, dpi=dpi, tight=True)


def heatmap_grid(
    panels: Sequence[dict[str, Any]],
    *,
    ncols: int = 3,
    xlabel: str = "epoch",
    ylabel: str = "layer",
    colorbar_label: str = "Betti number",
) -> Any:
    """A grid of annotated heat maps sharing one colour scale.

    Parameters
    ----------
    panels : sequence of dict
        Each ``{"title", "values": 2-D array (rows x columns), "xticks": labels of the columns,
        "yticks": labels of the rows}``; a value of None or NaN is left blank (not measured).
    ncols : int, default=3
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np

    plt = pyplot()

    arrays = [
        np.array([[np.nan if v is None else v for v in row] for row in p["values"]], dtype=float)
        for p in panels
    ]
    finite = [a[np.isfinite(a)] for a in arrays]
    vmax = max((float(f.max()) for f in finite if f.size), default=1.0) or 1.0
    ncols = max(1, min(ncols, len(panels)))
    nrows = math.ceil(len(panels) / ncols)
    widest = max(a.shape[1] for a in arrays)
    tallest = max(a.shape[0] for a in arrays)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(ncols * max(3.2, 0.42 * widest + 1.4), nrows * max(2.4, 0.24 * tallest + 1.1)),
        squeeze=False,
        constrained_layout=True,
    )
    image = None
    for ax, panel, values in zip(axes.flat, panels, arrays, strict=False):
        image = ax.imshow(
            np.ma.masked_invalid(values), aspect="auto", cmap="viridis", vmin=0, vmax=vmax
        )
        ax.set_title(panel.get("title", ""), fontsize=10)
        ax.set_xticks(range(values.shape[1]), panel.get("xticks", range(values.shape[1])))
        ax.set_yticks(range(values.shape[0]), panel.get("yticks", range(values.shape[0])))
        ax.tick_params(labelsize=8)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        if values.size <= 200:  # numbers in the cells when they fit
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):
                    ax.text(
                        j,
                        i,
                        f"{v:.0f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if v < 0.6 * vmax else "black",
                    )
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    if image is not None:
        from matplotlib.ticker import MaxNLocator

        bar = fig.colorbar(image, ax=axes, shrink=0.8, label=colorbar_label)
        bar.locator = MaxNLocator(integer=True)  # Betti numbers are whole
        bar.update_ticks()
    return fig
