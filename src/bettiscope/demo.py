"""The main job (`make run` / `bettiscope demo`): the whole study, offline, small, with a report.

A run is a folder ``runs/<timestamp>/`` holding::

    config.yaml      the resolved settings (defaults + --config file + --set overrides)
    results.json     every stage's status, raw data and what the report shows
    report.html      one self-contained page (figures embedded), re-rendered after every stage
    figures/*.png    the figures, also as files
    jobs/<stage>/    one JSON result per finished job (resume skips them)
    demo.log         a log with timings and, for failed stages, the traceback

Stages run in order; each is skipped on ``--resume`` once it is done, and inside a stage every
independent job (a data set, a training run) has its own result file, so an interrupted run
(Ctrl-C, a crash, a lost cluster node) continues where it stopped. A stage whose library module
is missing from this installation is reported as "not available yet" -- never with made-up
numbers -- and is retried on the next ``--resume``.

Stages:

0. shapes -- Betti numbers of simple shapes with both metrics (engine sanity check);
1. datasets -- the built-in synthetic data sets, measured vs true Betti numbers, pictures;
2. compare -- the activation comparison on one synthetic set, with fewer seeds than the study;
3. trace -- per-layer Betti numbers during training for relu, tanh and the proposed activation;
4. pruning -- a CNN trained on digits, pruned by the Betti rule and the baselines.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bettiscope.config import DemoConfig, config_to_dict, load_config, save_config
from bettiscope.datasets import shapes
from bettiscope.executor import Executor, get_executor
from bettiscope.report import render_report, save_figure
from bettiscope.storage import (
    atomic_write_json,
    check_out_folder,
    environment_info,
    pyplot,
    read_json,
)
from bettiscope.topology import betti_numbers

__all__ = [
    "SHAPE_CASES",
    "STAGES",
    "RunContext",
    "ShapeCase",
    "StageUnavailable",
    "default_run_dir",
    "run_demo",
]

Progress = Callable[[str, int, int], None]

log = logging.getLogger("bettiscope.demo")


class StageUnavailable(Exception):  # noqa: N818 - a status, not an error
    """A stage cannot run in this installation (its library module has not landed)."""


@dataclass
class RunContext:
    """What a stage gets: the run folder, the settings, the executor and a progress callback."""

    run_dir: Path
    config: DemoConfig
    executor: Executor
    progress: Progress | None
    label: str

    def report(self, done: int, total: int, step: str = "") -> None:
        """Progress of the current stage (``step`` names what is being done now)."""
        if self.progress is not None:
            self.progress(f"{self.label}{': ' + step if step else ''}", done, total)

    def figure(self, name: str) -> Path:
        """Path of a figure file (created on save), relative paths go into the results."""
        return self.run_dir / "figures" / f"{name}.png"

    def jobs_dir(self, stage: str) -> Path:
        """Folder of the per-job result files of a stage."""
        return self.run_dir / "jobs" / stage

    def rel(self, path: Path) -> str:
        return path.relative_to(self.run_dir).as_posix()


def _require(module: str, what: str) -> Any:
    """Import a bettiscope module a stage needs, or mark the stage as not available."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise StageUnavailable(
            f"{what} needs {module}, which is not part of this installation yet ({error})."
        ) from None


def _require_dataset_loader(what: str) -> Any:
    datasets = _require("bettiscope.datasets", what)
    if not hasattr(datasets, "load_dataset"):
        raise StageUnavailable(
            f"{what} needs bettiscope.datasets.load_dataset (the synthetic data-set "
            "generators), which is not part of this installation yet."
        )
    return datasets


def _measure_text(measure: dict[str, Any]) -> str:
    """``knn-hop, k 14, scale 2.5, stride 3, max_dim 1``."""
    parts = [str(measure["metric"])] if measure.get("metric") else []
    for key in ("k", "scale", "stride", "max_dim"):
        if measure.get(key) is not None:
            parts.append(f"{key} {measure[key]:g}")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# stage 0: shapes of known topology
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShapeCase:
    """A built-in shape, its true Betti numbers, and parameters that recover them."""

    name: str
    true_betti: tuple[int, ...]
    metric: str
    scale: float
    k: int | None = None


def _shape_points(name: str) -> np.ndarray:
    return {
        "circle": shapes.circle,
        "3 circles": lambda: shapes.disjoint_circles(3),
        "figure-eight": shapes.figure_eight,
        "sphere": shapes.sphere,
        "torus": shapes.torus,
    }[name]()


SHAPE_CASES: tuple[ShapeCase, ...] = (
    ShapeCase("circle", (1, 1, 0), "euclidean", 0.3),
    ShapeCase("circle", (1, 1, 0), "knn-hop", 2.5, 4),
    ShapeCase("3 circles", (3, 3, 0), "euclidean", 0.3),
    ShapeCase("3 circles", (3, 3, 0), "knn-hop", 2.5, 4),
    ShapeCase("figure-eight", (1, 2, 0), "euclidean", 0.2),
    ShapeCase("figure-eight", (1, 2, 0), "knn-hop", 2.5, 4),
    ShapeCase("sphere", (1, 0, 1), "euclidean", 0.3),
    ShapeCase("sphere", (1, 0, 1), "knn-hop", 2.5, 8),
    ShapeCase("torus", (1, 2, 1), "euclidean", 0.7),
    ShapeCase("torus", (1, 2, 1), "knn-hop", 2.5, 9),
)


def _good_bad(ok: bool, text: str | None = None) -> dict[str, str]:
    return {"text": text or ("yes" if ok else "NO"), "tone": "good" if ok else "bad"}


def _plot_shapes(path: Path) -> None:
    plt = pyplot()

    names = ["circle", "3 circles", "figure-eight", "sphere", "torus"]
    fig = plt.figure(figsize=(13, 2.8))
    for i, name in enumerate(names, start=1):
        points = _shape_points(name)
        if points.shape[1] == 3:
            ax = fig.add_subplot(1, len(names), i, projection="3d")
            ax.scatter(*points.T, s=2, c=points[:, 2], cmap="viridis")
            ax.set_axis_off()
        else:
            ax = fig.add_subplot(1, len(names), i)
            ax.scatter(*points.T, s=2, color="#3538cd")
            ax.set_aspect("equal", adjustable="datalim")
            ax.set_box_aspect(1)
            ax.set_axis_off()
        ax.set_title(name, fontsize=10)
    save_figure(fig, path)


def stage_shapes(ctx: RunContext) -> dict[str, Any]:
    """Stage 0: the engine on shapes of known topology, with both metrics."""
    rows = []
    for done, case in enumerate(SHAPE_CASES):
        ctx.report(done, len(SHAPE_CASES), f"{case.name} ({case.metric})")
        result = betti_numbers(
            _shape_points(case.name), metric=case.metric, scale=case.scale, k=case.k, max_dim=2
        )
        rows.append(
            {
                **asdict(case),
                "measured": list(result),
                "n_points": result.n_points,
                "seconds": result.seconds,
                "match": tuple(result) == case.true_betti,
            }
        )
    ctx.report(len(SHAPE_CASES), len(SHAPE_CASES))
    figure = ctx.figure("shapes")
    _plot_shapes(figure)
    matches = sum(row["match"] for row in rows)
    return {
        "headline": f"{matches}/{len(rows)} measured Betti numbers match the true ones",
        "summary": (
            "A sanity check of the engine before the study: simple shapes whose Betti numbers "
            "are known, measured with the Euclidean metric (all pairs within the scale) and with "
            "the Naitzat k-nearest-neighbour hop metric (k as given, scale 2.5 = two hops)."
        ),
        "tables": [
            {
                "title": "Betti numbers (b0, b1, b2): measured vs true",
                "columns": ["shape", "metric", "scale", "k", "points", "true", "measured", "match"],
                "rows": [
                    [
                        r["name"],
                        r["metric"],
                        r["scale"],
                        r["k"],
                        r["n_points"],
                        r["true_betti"],
                        r["measured"],
                        _good_bad(r["match"]),
                    ]
                    for r in rows
                ],
            }
        ],
        "figures": [{"file": ctx.rel(figure), "caption": "The shapes (point clouds measured)."}],
        "data": {"shapes": rows},
    }


# --------------------------------------------------------------------------------------------
# stages 1-4 (wired in as their library modules land)
# --------------------------------------------------------------------------------------------


def dataset_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Generate one built-in data set and measure each class's Betti numbers (a picklable job).

    ``spec``: name, seed. Uses the data set's recommended measurement parameters.
    """
    from bettiscope.datasets import load_dataset
    from bettiscope.topology import betti_by_class

    started = time.perf_counter()
    data = load_dataset(spec["name"], seed=spec["seed"])
    generated = time.perf_counter() - started
    measured = betti_by_class(data.X, data.y, **data.measure_kwargs())
    classes = []
    for label, result in measured.items():
        true = data.true_betti.get(int(label))
        classes.append(
            {
                "label": int(label),
                "points": int((data.y == label).sum()),
                "points_used": result.n_points,
                "true": None if true is None else list(true),
                "measured": list(result),
                "match": true is not None and tuple(result) == tuple(true),
                "seconds": result.seconds,
            }
        )
    return {
        "name": data.name,
        "seed": spec["seed"],
        "dim": data.dim,
        "n_points": data.n_points,
        "description": data.description,
        "params": data.params,
        "measure": data.measure,
        "classes": classes,
        "generate_seconds": generated,
        "measure_seconds": sum(c["seconds"] for c in classes),
    }


def stage_datasets(ctx: RunContext) -> dict[str, Any]:
    """Stage 1: the built-in synthetic data sets, measured vs true Betti numbers, pictures."""
    _require_dataset_loader("The data-set stage")
    from bettiscope.datasets import load_dataset
    from bettiscope.datasets.registry import get_spec, plot_dataset
    from bettiscope.executor import map_resumable

    settings = ctx.config.datasets
    names = [get_spec(name).name for name in settings.names]  # unknown names fail here, early
    jobs = ctx.jobs_dir("datasets")
    specs = [{"name": name, "seed": ctx.config.run.seed} for name in names]
    records = map_resumable(
        ctx.executor,
        dataset_job,
        specs,
        [jobs / f"{name}.json" for name in names],
        progress=lambda step, done, total: ctx.report(done, total, "measuring"),
    )
    figures = []
    for done, record in enumerate(records):
        ctx.report(done, len(records), f"picture of {record['name']}")
        path = ctx.figure(f"dataset_{record['name']}")
        if not path.exists():  # pictures are redrawn only if missing (resume)
            data = load_dataset(record["name"], seed=record["seed"])
            plot_dataset(data, path, max_points=settings.plot_points, seed=ctx.config.run.seed)
        figures.append({"file": ctx.rel(path), "caption": record["description"]})
    rows = []
    for record in records:
        measure = record["measure"]
        for c in record["classes"]:
            rows.append(
                [
                    record["name"],
                    record["dim"],
                    "class a" if c["label"] == 0 else "class b" if c["label"] == 1 else c["label"],
                    c["points"],
                    c["points_used"],
                    _measure_text({k: measure.get(k) for k in ("k", "scale", "stride")}),
                    c["true"],
                    c["measured"],
                    _good_bad(c["match"]),
                    c["seconds"],
                ]
            )
    matches = sum(c["match"] for r in records for c in r["classes"])
    total = sum(len(r["classes"]) for r in records)
    largest = max((max(c["true"] or [0]) for r in records for c in r["classes"]), default=0)
    return {
        "headline": f"{matches}/{total} classes: measured Betti numbers = true ones",
        "summary": (
            "Each built-in data set is generated at its default size (seed "
            f"{ctx.config.run.seed}) and the Betti numbers of each class are measured with the "
            "knn-hop metric (Naitzat et al.: k nearest neighbours, 2 hops) at the data set's "
            "recommended parameters, on all of its points (stride = every n-th point of a class). "
            f"The largest true Betti number here is {largest}."
        ),
        "budget": "Full default sizes; nothing is reduced in this stage.",
        "tables": [
            {
                "title": "Betti numbers per class (b0, b1[, b2]): measured vs true",
                "columns": [
                    "data set",
                    "dim",
                    "class",
                    "points",
                    "points used",
                    "knn-hop",
                    "true",
                    "measured",
                    "match",
                    "seconds",
                ],
                "rows": rows,
                "note": "'points used' = after the stride and removing duplicate points.",
            }
        ],
        "figures": figures,
        "figure_columns": 3,
        "data": {"datasets": records},
    }


def _speedup_text(speedup: dict[str, Any] | None) -> Any:
    """``2.4 [1.5, inf]`` from a speed-up record (None / "inf" as JSON stores them)."""
    if not speedup:
        return None

    def number(value: Any) -> str:
        # JSON keeps inf as "inf"; None is NaN, which numpy's quantile gives when it
        # interpolates between two infinite ratios, i.e. an infinite bound.
        if value is None:
            return "\u221e"
        if value == "inf" or (isinstance(value, float) and math.isinf(value)):
            return "\u221e"
        return f"{float(value):.2g}"

    from bettiscope.statistics import format_interval, interval_tone

    text = format_interval(speedup, number)
    if text is None:
        return {"text": "undefined (both missed)", "tone": "muted"}
    tone = interval_tone(speedup)
    return {"text": text, "tone": tone} if tone else text


def stage_compare(ctx: RunContext) -> dict[str, Any]:
    """Stage 2: the activation comparison on one synthetic set, at demo size."""
    _require_dataset_loader("The activation comparison")
    experiments = _require("bettiscope.experiments", "The activation comparison")
    settings = ctx.config.compare
    study = experiments.CompareConfig(dataset=settings.dataset)  # the full study's defaults
    config = experiments.CompareConfig(
        dataset=settings.dataset,
        activations=list(settings.activations),
        seeds=settings.seeds,
        tuning_seeds=settings.tuning_seeds,
        max_epochs=settings.max_epochs,
        lr_grid=list(settings.lr_grid),
        trace_every=settings.trace_every,
        task_options={"dataset_params": dict(settings.dataset_params)},
        data_seed=ctx.config.run.seed,
        device=ctx.config.run.device,
    )
    out = ctx.jobs_dir("compare")
    results = experiments.run_compare(
        config,
        out,
        executor=ctx.executor,
        progress=lambda step, done, total: ctx.report(done, total, f"{step} runs"),
    )
    summary = results["summary"]
    info = results["config"].get("task_info", {})
    rows = []
    for activation, row in summary["activations"].items():
        train = row["train_target"]
        epochs = train["epochs"]
        converged = sum(e is not None for e in epochs)
        wilcoxon = train.get("wilcoxon_vs_relu") or {}
        rows.append(
            [
                activation,
                row["lr"],
                _good_bad(converged == len(epochs), f"{converged}/{len(epochs)}"),
                ", ".join("miss" if e is None else str(e) for e in epochs),
                train["median_epochs"]
                if train["median_epochs"] not in (None, "inf")
                else {"text": f"miss (> {settings.max_epochs})", "tone": "muted"},
                "baseline" if activation == "relu" else _speedup_text(train.get("speedup_vs_relu")),
                wilcoxon.get("p_value"),
                None if row["seconds_per_epoch"] is None else 1000 * row["seconds_per_epoch"],
            ]
        )
    figures = []
    for name, caption in (
        (
            "fraction_converged.png",
            "Fraction of evaluation runs at 100% training accuracy by epoch, per activation.",
        ),
        (
            "speedups.png",
            "Speed-up of each activation over ReLU (the table's numbers): ratio of median epochs "
            "with its 95% interval on a log axis; the paper's claimed 1.5-2x shaded.",
        ),
        (
            "betti_by_layer.png",
            "Mean Betti numbers per layer at the end of training (evaluation "
            "runs, classes by predicted label), one line per activation.",
        ),
    ):
        if (out / name).exists():
            figures.append({"file": ctx.rel(out / name), "caption": caption})
    proposed = summary["activations"].get("proposed", {}).get("train_target", {})
    headline = f"{len(rows)} activations x {settings.seeds} seeds"
    speedup = _speedup_text(proposed.get("speedup_vs_relu"))
    if speedup is not None:
        text = speedup["text"] if isinstance(speedup, dict) else speedup
        headline += f"; proposed vs ReLU speed-up {text}"
    mechanism = summary.get("mechanism", {})
    notes = [
        "Speed-up = median epochs(ReLU) / median epochs(activation) over the paired seeds, with "
        "a 95% bootstrap interval (a run that misses the target counts as infinitely slow; "
        "\u221e = ReLU missed where the activation did not). Green: the interval lies above 1; "
        "red: below 1. With this few seeds the intervals are wide: this is a demonstration of "
        "the protocol, not evidence for or against the paper's 1.5-2x claim.",
    ]
    if mechanism.get("spearman_rho") is not None:
        notes.append(
            f"Mechanism check over all {mechanism['n']} evaluation runs: Spearman correlation "
            f"between how much the Betti numbers fell across the hidden layers and epochs to "
            f"target: rho = {mechanism['spearman_rho']:.2f} (p = {mechanism['p_value']:.2g})."
        )
    return {
        "headline": headline,
        "summary": (
            f"Which activation trains an MLP (width 15, 9 hidden layers) to 100% training "
            f"accuracy in the fewest epochs on {info.get('dataset', settings.dataset)} "
            f"({info.get('n_train', '?')} training points)? Following the project's convergence "
            "protocol: the learning rate is tuned per activation on separate tuning seeds, then "
            "every activation is trained on the same paired evaluation seeds (same data split "
            "and initial weights)."
        ),
        "budget": (
            f"Demo size: {settings.seeds} evaluation seeds (the full study: {study.seeds}), "
            f"{settings.tuning_seeds} tuning seed(s) over {len(settings.lr_grid)} learning "
            f"rates (full: {study.tuning_seeds} over {len(study.lr_grid)}), at most "
            f"{settings.max_epochs} epochs (full: {study.max_epochs}), data-set parameters "
            f"{settings.dataset_params or 'default'}. Run `bettiscope compare` for the full study."
        ),
        "tables": [
            {
                "columns": [
                    "activation",
                    "lr (tuned)",
                    "reached 100%",
                    "epochs per seed",
                    "median epochs",
                    "speed-up vs ReLU [95% CI]",
                    "Wilcoxon p",
                    "ms / epoch",
                ],
                "rows": rows,
            }
        ],
        "figures": figures,
        "notes": notes,
        "data": {"summary": summary, "config": results["config"]},
    }


def _simple_from(betti: dict[str, list[list[int] | None]]) -> int | None:
    """First layer index from which every class is (1, 0, ...) at every later layer, or None."""
    columns = list(betti.values())
    n_layers = len(columns[0]) if columns else 0
    first = None
    for i in reversed(range(n_layers)):
        cells = [column[i] for column in columns]
        if all(c is not None and c[0] == 1 and not any(c[1:]) for c in cells):
            first = i
        else:
            break
    return first


def trace_job(spec: dict[str, Any]) -> dict[str, Any]:
    """One activation's training run with Betti numbers traced per layer (a picklable job).

    ``spec``: activation, dataset, data_seed, seed, width, depth, epochs, every, lr, device,
    out (folder for the run's own checkpoint and ``trace.json``, which resume mid-run).
    Returns a compact JSON record: per recorded epoch, the Betti numbers of every layer per
    class, plus the training history's summary.
    """
    import torch

    from bettiscope.datasets import load_dataset
    from bettiscope.models.mlp import build_mlp
    from bettiscope.probe import run_trace
    from bettiscope.training import TrainConfig

    data = load_dataset(spec["dataset"], seed=spec["data_seed"])
    model = build_mlp(
        data.dim,
        2,
        width=spec["width"],
        depth=spec["depth"],
        activation=spec["activation"],
        seed=spec["seed"],
    )
    cfg = TrainConfig(
        epochs=spec["epochs"],
        lr=spec["lr"],
        seed=spec["seed"],
        device=spec["device"],
        target_train_acc=1.0,
        stop_at_target=False,  # same epochs for every activation, so the heat maps line up
    )
    train = (torch.as_tensor(data.X, dtype=torch.float32), torch.as_tensor(data.y))
    if data.X_eval is not None and data.y_eval is not None:
        probe = (torch.as_tensor(data.X_eval, dtype=torch.float32), torch.as_tensor(data.y_eval))
        probe_name = f"the evaluation grid ({len(data.X_eval)} points)"
    else:
        probe, probe_name = train, f"the training set ({len(data.X)} points)"
    payload = run_trace(
        model,
        train,
        cfg,
        spec["out"],
        probe_inputs=probe[0],
        probe_labels=probe[1],
        measure=data.measure,
        every=spec["every"],
        config={"dataset": spec["dataset"], "activation": spec["activation"]},
    )
    history = payload["history"]
    trace = payload["trace"]
    return {
        "activation": spec["activation"],
        "layers": trace[0]["layers"],
        "classes": trace[0]["classes"],
        "epochs": [entry["epoch"] for entry in trace],
        "betti": [entry["betti"] for entry in trace],
        "notes": trace[-1].get("notes", {}),
        "measure": data.measure,
        "true_betti": {str(label): list(b) for label, b in data.true_betti.items()},
        "probe": probe_name,
        "epochs_to_target": history["epochs_to_target"],
        "final_train_acc": history["per_epoch"]["train_acc"][-1],
        "train_seconds": payload.get("train_seconds"),
        "probe_seconds": payload.get("probe_seconds"),
        "simple_from_layer": _simple_from(trace[-1]["betti"]),
    }


def _trace_panels(records: list[dict[str, Any]], class_names: dict[str, str]) -> list[dict]:
    """Heat-map panels: total Betti number (sum over dimensions), layer x epoch, per class."""
    panels = []
    for record in records:
        layers = ["in" if name == "input" else name for name in record["layers"]]
        for label in record["classes"]:
            key = str(label)
            values = [
                [None if entry[key][i] is None else sum(entry[key][i]) for entry in record["betti"]]
                for i in range(len(layers))
            ]
            panels.append(
                {
                    "title": f"{record['activation']}: {class_names.get(key, 'class ' + key)}",
                    "values": values,
                    "xticks": record["epochs"],
                    "yticks": layers,
                }
            )
    return panels


def stage_trace(ctx: RunContext) -> dict[str, Any]:
    """Stage 3: per-layer Betti numbers during training for a few activations (heat maps)."""
    _require("bettiscope.probe", "The Betti trace during training")
    _require("bettiscope.models.mlp", "The Betti trace during training")
    _require_dataset_loader("The Betti trace during training")
    from bettiscope.executor import map_resumable
    from bettiscope.report import heatmap_grid

    settings = ctx.config.trace
    jobs = ctx.jobs_dir("trace")
    specs = [
        {
            "activation": activation,
            "dataset": settings.dataset,
            "data_seed": ctx.config.run.seed,
            "seed": ctx.config.run.seed,
            "width": settings.width,
            "depth": settings.depth,
            "epochs": settings.epochs,
            "every": settings.every,
            "lr": settings.lr,
            "device": ctx.config.run.device,
            "out": str(jobs / activation),
        }
        for activation in settings.activations
    ]
    records = map_resumable(
        ctx.executor,
        trace_job,
        specs,
        [jobs / f"{spec['activation']}.json" for spec in specs],
        progress=lambda step, done, total: ctx.report(done, total, "training runs"),
    )
    names = {"0": "class a", "1": "class b"}
    figure = ctx.figure("trace_heatmaps")
    fig = heatmap_grid(
        _trace_panels(records, names),
        ncols=2,
        colorbar_label="total Betti number (b0 + b1)",
    )
    save_figure(fig, figure)
    rows = []
    for r in records:
        reached = r["epochs_to_target"]
        simple = r["simple_from_layer"]
        rows.append(
            [
                r["activation"],
                _good_bad(reached is not None, str(reached) if reached else "not reached"),
                r["final_train_acc"],
                "never" if simple is None else r["layers"][simple],
                r["train_seconds"],
                r["probe_seconds"],
            ]
        )
    first = records[0]
    reached = [r["activation"] for r in records if r["epochs_to_target"] is not None]
    return {
        "headline": (
            f"{len(reached)}/{len(records)} activations reached 100% training accuracy "
            f"within {settings.epochs} epochs"
        ),
        "summary": (
            f"An MLP (width {settings.width}, {settings.depth - 1} hidden layers) is trained on "
            f"{settings.dataset} with each activation; every {settings.every} epochs the Betti "
            f"numbers of each class (split by the network's predicted label) are measured at "
            f"every layer on {first['probe']} with the data set's recommended parameters "
            f"({_measure_text(first['measure'])}). A well-trained network should turn the "
            "classes into simple shapes (b0 = 1, b1 = 0) before the logits."
        ),
        "budget": (
            f"{settings.epochs} epochs of full-batch Adam (lr {settings.lr:g}) per activation, "
            f"one seed ({ctx.config.run.seed}); the same number of epochs for every activation "
            "(no early stop), so the heat maps line up. One seed shows a tendency, not a result: "
            "the activation comparison (stage 2 and `bettiscope compare`) is the test."
        ),
        "tables": [
            {
                "columns": [
                    "activation",
                    "epochs to 100% train acc",
                    "final train acc",
                    "simple (1, 0) from layer",
                    "train s",
                    "probe s",
                ],
                "rows": rows,
                "note": (
                    "'simple from layer': first layer from which both predicted classes have "
                    "Betti numbers (1, 0) at every later layer, at the last epoch (our summary of "
                    "how fast the topology is simplified; 'never' if the logits still are not)."
                ),
            }
        ],
        "figures": [
            {
                "file": ctx.rel(figure),
                "caption": (
                    "Total Betti number b0 + b1 of each predicted class, per layer (rows, 'in' = "
                    "the input) and epoch (columns). Blank: not measured (the network predicts "
                    "too few points of that class). True topology of the data: "
                    + ", ".join(
                        f"{names.get(k, k)} {tuple(v)}" for k, v in first["true_betti"].items()
                    )
                    + "."
                ),
            }
        ],
        "data": {"runs": records},
    }


def _latency_text(latency: dict[str, Any]) -> str | None:
    if not latency:
        return None
    return " / ".join(f"{latency[k]:.3g}" if latency.get(k) is not None else "?" for k in latency)


def _sizes_text(sizes: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {split}" for split, n in sizes.items()) + " images"


def stage_pruning(ctx: RunContext) -> dict[str, Any]:
    """Stage 4: a CNN trained on digits, pruned by the Betti rule and by the baselines."""
    image_study = _require("bettiscope.image_study", "The pruning stage")
    flow = _require("bettiscope.pruning.flow", "The pruning stage")
    settings = ctx.config.pruning
    jobs = ctx.jobs_dir("pruning")

    # 1. train the CNN (resumes from its own checkpoint; skipped once metrics.json exists)
    train_dir = jobs / "train"
    train_cfg = image_study.ImageTrainConfig(
        dataset=settings.dataset,
        model=settings.model,
        epochs=settings.epochs,
        seed=ctx.config.run.seed,
        device=ctx.config.run.device,
    )
    if (train_dir / "metrics.json").exists():
        metrics = read_json(train_dir / "metrics.json")
    else:
        metrics = image_study.run_train(
            train_cfg,
            train_dir,
            progress=lambda step, done, total: ctx.report(done, total, "training the CNN"),
        )

    # 2. prune by the Betti rule and by every baseline, measure (resumes from its state/)
    model, data, _ = flow.load_task(train_dir / "model.pt", settings.dataset)
    baselines = (
        flow.BASELINES
        if settings.baselines == ["all"]
        else tuple(b for b in settings.baselines if b != "none")
    )
    prune_cfg = flow.PruneConfig(
        threshold=settings.threshold,
        ratio=settings.ratio,
        samples=settings.samples,
        baselines=baselines,
        finetune_epochs=settings.finetune_epochs,
        seed=ctx.config.run.seed,
        device=ctx.config.run.device,
    )
    prune_dir = jobs / "prune"
    payload = flow.run_pruning(
        model,
        data,
        prune_cfg,
        prune_dir,
        checkpoint=str(train_dir / "model.pt"),
        progress=lambda step, done, total: ctx.report(done, total, step),
    )

    original = payload["original"]
    entries = [original]
    if payload.get("original_finetuned"):
        entries.append({**payload["original_finetuned"], "name": "original"})
    entries += payload["methods"]
    rows = []
    for entry in entries:
        removed = sum((entry.get("filters_removed") or {}).values())
        latency = entry.get("latency_ms") or {}
        drop = entry["accuracy"] - original["accuracy"]
        rows.append(
            [
                entry["name"] + (" +ft" if entry.get("finetuned") else ""),
                removed,
                {
                    "text": f"{entry['accuracy']:.4f}",
                    "tone": "bad" if drop < -0.02 else "",
                },
                f"{entry['params']:,} ({entry['params'] / original['params']:.0%})".replace(
                    ",", "\u2009"
                ),
                entry["macs"],
                entry["file_bytes"] / 1024,
                _latency_text(latency),
                entry.get("scoring_seconds"),
            ]
        )
    by_key = {(m["name"], bool(m.get("finetuned"))): m for m in payload["methods"]}
    betti = by_key.get(("betti", False))
    notes = []
    if betti is not None:
        removed = sum(betti["filters_removed"].values())
        total = sum(original.get("channels") or [])
        tuned = by_key.get(("betti", True))
        text = (
            f"The Betti rule ({payload['rule']}) removed {removed} of {total} filters "
            f"({betti['params'] / original['params']:.0%} of the parameters kept); test accuracy "
            f"{original['accuracy']:.3f} before pruning, {betti['accuracy']:.3f} right after"
        )
        if tuned is not None:
            text += (
                f", {tuned['accuracy']:.3f} after {settings.finetune_epochs} epochs of fine-tuning"
            )
        random = by_key.get(("random", bool(tuned)))
        if random is not None:
            text += f". Random filters at the same per-layer counts: {random['accuracy']:.3f}" + (
                " (fine-tuned)" if tuned else ""
            )
        lowest = by_key.get(("betti-lowest", bool(tuned)))
        if lowest is not None:
            text += f"; the lowest-Betti filters instead: {lowest['accuracy']:.3f}"
        text += "."
        if removed and betti["accuracy"] < original["accuracy"] - 0.02:
            text += (
                " Without fine-tuning this is a significant loss of accuracy, unlike the "
                "paper's report for its models."
            )
        notes.append(text)
    notes.append(
        "Latency: median CPU time of one forward pass at batch 1 and 64, measured on a shared "
        "machine; compare methods within this run only."
    )
    figures = [
        {
            "file": ctx.rel(prune_dir / rel),
            "caption": caption,
        }
        for rel, caption in (
            (
                payload.get("figures", {}).get("score_distributions"),
                "Betti scores of every filter per layer, with the rule's threshold.",
            ),
            (
                payload.get("figures", {}).get("accuracy_vs_params"),
                "Test accuracy vs parameters kept, per method, with and without fine-tuning.",
            ),
        )
        if rel
    ]
    if (train_dir / "training_curve.png").exists():
        figures.append(
            {"file": ctx.rel(train_dir / "training_curve.png"), "caption": "CNN training curve."}
        )
    scoring = payload["config"]["prune"]["betti"]
    return {
        "headline": (
            f"CNN test accuracy {original['accuracy']:.3f}; Betti rule: "
            + (
                f"{sum(betti['filters_removed'].values())} filters removed"
                if betti is not None
                else "no result"
            )
        ),
        "summary": (
            f"A {settings.model.upper()}-style CNN (channels {original.get('channels')}) is "
            f"trained on {settings.dataset} ({_sizes_text(metrics['dataset']['sizes'])}) for "
            f"{settings.epochs} epochs, then pruned by the paper's rule ({payload['rule']}: the "
            f"filter's output maps over {payload['sample']['n_images']} training images as a "
            f"point cloud, score = {scoring.get('number')} at {scoring.get('metric')} scale "
            f"{scoring.get('scale')}{' x RMS distance' if scoring.get('relative') else ''}) and "
            "by the baselines (random, L1-norm, HRank, matched-count controls, and the "
            "lowest-Betti filters as a direction check). Filters are physically removed "
            "(Torch-Pruning); every pruned model is saved and reloaded with identical outputs."
        ),
        "budget": (
            f"{settings.epochs} training epochs, {settings.samples} images scored, "
            f"{settings.finetune_epochs} fine-tuning epochs per method; digits are 8x8 images "
            "(the paper used Fashion-MNIST, CIFAR-10 and cat-vs-dog: see `bettiscope prune`)."
        ),
        "tables": [
            {
                "columns": [
                    "method",
                    "filters removed",
                    "test accuracy",
                    "params (kept)",
                    "MACs",
                    "file KiB",
                    "latency ms, batch 1 / 64",
                    "scoring s",
                ],
                "rows": rows,
                "note": (
                    f"+ft: after {settings.finetune_epochs} epochs of fine-tuning (the original "
                    "too, to separate pruning from extra training). MACs: multiply-accumulates "
                    "per image. Red: more than 2 points of accuracy below the original."
                ),
            }
        ],
        "figures": figures,
        "notes": notes,
        "data": {
            "training": {k: metrics.get(k) for k in ("test_accuracy", "dataset", "config")},
            "pruning": {k: payload.get(k) for k in ("original", "original_finetuned", "methods")},
            "rule": payload["rule"],
        },
    }


@dataclass(frozen=True)
class StageSpec:
    """One stage of the main job."""

    key: str
    #: may name settings, e.g. "{config.pruning.dataset}"; see :meth:`title_for`
    title: str
    run: Callable[[RunContext], dict[str, Any]]

    def title_for(self, config: DemoConfig) -> str:
        """The title with this run's settings filled in."""
        return self.title.format(config=config)


STAGES: tuple[StageSpec, ...] = (
    StageSpec("shapes", "0 \u00b7 Shapes of known topology", stage_shapes),
    StageSpec(
        "datasets", "1 \u00b7 Synthetic data sets: measured vs true Betti numbers", stage_datasets
    ),
    StageSpec("compare", "2 \u00b7 Activation comparison (demo size)", stage_compare),
    StageSpec("trace", "3 \u00b7 Betti numbers per layer during training", stage_trace),
    StageSpec(
        "pruning", "4 \u00b7 Pruning a CNN trained on {config.pruning.dataset}", stage_pruning
    ),
)


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------


def default_run_dir(root: str | Path = "runs") -> Path:
    """``runs/<YYYYmmdd-HHMMSS>`` (with a suffix if that folder exists)."""
    base = Path(root) / datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _start_log(run_dir: Path) -> logging.Handler:
    handler = logging.FileHandler(run_dir / "demo.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # the log file only; the CLI shows progress and the summary
    return handler


def _save(run_dir: Path, results: dict[str, Any]) -> None:
    results["updated"] = datetime.now().isoformat(timespec="seconds")
    results["seconds"] = sum(s.get("seconds") or 0 for s in results["stages"].values())
    atomic_write_json(run_dir / "results.json", results)
    render_report(run_dir)


def _open_run(
    run_dir: Path, config: DemoConfig | None, resume: bool
) -> tuple[DemoConfig, dict[str, Any]]:
    """Create a new run folder, or reopen one to resume; return its settings and results."""
    if resume:
        if not (run_dir / "results.json").exists() or not (run_dir / "config.yaml").exists():
            raise ValueError(
                f"{run_dir}: not a run folder to resume (needs results.json and config.yaml); "
                "start a new run without --resume."
            )
        saved = load_config(run_dir / "config.yaml", DemoConfig)
        if config is not None and config != saved:
            raise ValueError(
                f"{run_dir}: --resume continues with the run's saved settings "
                f"({run_dir / 'config.yaml'}); do not pass other settings, or start a new run."
            )
        results = read_json(run_dir / "results.json")
        results["config"] = config_to_dict(saved)
        return saved, results
    if check_out_folder(run_dir, "demo run").exists() and any(run_dir.iterdir()):
        raise ValueError(
            f"{run_dir}: folder is not empty; choose a new --out, or continue that run with "
            f"--resume {run_dir}."
        )
    config = config or DemoConfig()
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.yaml")
    results = {
        "job": "demo",
        "title": "bettiscope demo report",
        "created": datetime.now().isoformat(timespec="seconds"),
        "config": config_to_dict(config),
        "notes": [
            "Every number below was measured in this run on this machine. The study is run at "
            "demo size (small budgets, stated per stage) so that it finishes in about ten "
            "minutes on two CPU cores; run the individual commands for the full study.",
        ],
        "stages": {},
    }
    return config, results


def run_demo(
    run_dir: str | Path,
    config: DemoConfig | None = None,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Run (or resume) the main job into ``run_dir`` and return its results.

    Parameters
    ----------
    run_dir : path-like
        The run folder; must be new or empty unless ``resume``.
    config : DemoConfig, optional
        Settings; default :class:`DemoConfig()`. With ``resume`` the run's saved settings are
        used, and passing different ones is an error.
    resume : bool, default=False
        Continue an interrupted run: finished stages and finished jobs are not redone.
    progress : callable, optional
        ``progress(step, done, total)``.
    executor : Executor, optional
        Where independent jobs run; default from ``config.run`` (backend, workers, Ray address).
        An executor made here is closed at the end.

    Returns
    -------
    dict
        The content of ``results.json``.

    Raises
    ------
    ValueError
        A run folder that cannot be created or resumed.
    KeyboardInterrupt
        After saving the results so far; the run can be resumed.
    """
    run_dir = Path(run_dir)
    config, results = _open_run(run_dir, config, resume)
    handler = _start_log(run_dir)
    own_executor = executor is None
    threads = _set_torch_threads(config.run.threads)
    try:
        log.info("%s run in %s", "resuming" if resume else "starting", run_dir)
        stages = results["stages"]
        for spec in STAGES:
            enabled = getattr(config, spec.key).enabled
            previous = stages.get(spec.key, {})
            if previous.get("status") == "done":
                continue
            stages[spec.key] = {
                "title": spec.title_for(config),
                "status": "pending" if enabled else "skipped",
                "seconds": previous.get("seconds", 0.0),
            }
        results["environment"] = environment_info()
        _save(run_dir, results)
        if executor is None:
            executor = get_executor(
                config.run.backend,
                **(
                    {"address": config.run.ray_address}
                    if config.run.backend == "ray"
                    else {"max_workers": config.run.workers}
                ),
            )
        results["backend"] = executor.backend
        for number, spec in enumerate(STAGES):
            stage = stages[spec.key]
            if stage["status"] in ("done", "skipped"):
                continue
            ctx = RunContext(
                run_dir, config, executor, progress, f"[{number}/{len(STAGES) - 1}] {spec.key}"
            )
            _run_stage(spec, ctx, results)
        log.info("finished in %.1f s of compute", results["seconds"])
        return results
    finally:
        if own_executor and executor is not None:
            executor.close()
        _set_torch_threads(threads)
        log.removeHandler(handler)
        handler.close()


def _set_torch_threads(threads: int | None) -> int | None:
    """Set torch's CPU threads (if torch is installed); return the previous setting."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    return previous


def _run_stage(spec: StageSpec, ctx: RunContext, results: dict[str, Any]) -> None:
    stages = results["stages"]
    before = stages[spec.key].get("seconds", 0.0)
    stages[spec.key] = {
        "title": spec.title_for(ctx.config),
        "status": "running",
        "seconds": before,
    }
    log.info("stage %s: start", spec.key)
    started = time.perf_counter()
    try:
        # library warnings (numerical edge cases, skipped files) go to the log, not the terminal
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            try:
                outcome = spec.run(ctx)
            finally:
                for warning in caught:
                    log.warning(
                        "stage %s: %s: %s (%s:%s)",
                        spec.key,
                        warning.category.__name__,
                        warning.message,
                        warning.filename,
                        warning.lineno,
                    )
    except StageUnavailable as why:
        outcome = {"status": "unavailable", "reason": str(why)}
        log.info("stage %s: not available: %s", spec.key, why)
    except KeyboardInterrupt:
        stages[spec.key].update(
            status="pending",
            seconds=before + time.perf_counter() - started,
            reason=(
                "Interrupted; the jobs that finished are saved. Continue with "
                f"`bettiscope demo --resume {ctx.run_dir}`."
            ),
        )
        log.warning("stage %s: interrupted", spec.key)
        _save(ctx.run_dir, results)
        raise
    except Exception as error:
        log.error("stage %s failed:\n%s", spec.key, traceback.format_exc())
        outcome = {
            "status": "failed",
            "reason": f"{type(error).__name__}: {error}  (traceback in demo.log)",
        }
    outcome.setdefault("status", "done")
    outcome["title"] = spec.title_for(ctx.config)
    outcome["seconds"] = before + time.perf_counter() - started
    stages[spec.key] = outcome
    log.info("stage %s: %s in %.1f s", spec.key, outcome["status"], outcome["seconds"])
    _save(ctx.run_dir, results)
