"""`bettiscope compare`: the activation comparison (epochs to target, speed-ups, Betti traces)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from bettiscope.cli._common import (
    fail,
    make_progress,
    out_console,
    progress_callback,
    resume_on_interrupt,
    user_errors,
)
from bettiscope.cli.trace import measure_overrides, parse_data_params


def _split(text: str, what: str) -> list[str]:
    items = [part.strip() for part in text.split(",")]
    if not any(items):
        fail(f"{what}: give a comma-separated list; got {text!r}.")
    if not all(items[:-1]):  # a trailing comma is harmless, ",," is a typo
        fail(f"{what}: an empty entry in {text!r}.")
    return [item for item in items if item]


def _floats(text: str) -> list[float]:
    values = []
    for part in _split(text, "--lr-grid"):
        try:
            values.append(float(part))
        except ValueError:
            fail(f"--lr-grid: {part!r} is not a number (e.g. 1e-3,3e-3,1e-2).")
    return values


def _classes(text: str | None) -> list[int | str] | None:
    """'3,5' -> [3, 5]; names stay strings (image folders)."""
    if text is None:
        return None
    return [int(c) if c.lstrip("-").isdigit() else c for c in _split(text, "--classes")]


def compare(
    dataset: Annotated[
        str, typer.Option(help="Data set name (D-I, D-II, ...; digits for CNNs) or a file.")
    ],
    out: Annotated[Path, typer.Option(help="Run folder (results.json, runs/, figures).")],
    activations: Annotated[
        str,
        typer.Option(
            help="Comma-separated activations, e.g. relu,tanh,fold(slope=0.25); relu is "
            "added unless --no-relu-baseline."
        ),
    ] = "proposed,relu,leaky_relu,tanh",
    seeds: Annotated[
        int, typer.Option(min=1, help="Paired evaluation seeds (>= 10 for claims).")
    ] = 10,
    first_seed: Annotated[
        int, typer.Option(help="First evaluation seed (screening: stay off 0..9).")
    ] = 0,
    tuning_seeds: Annotated[
        int, typer.Option(min=1, help="Learning-rate tuning seeds (1000, 1001, ...).")
    ] = 3,
    max_epochs: Annotated[int, typer.Option(min=1, help="Epoch budget for every run.")] = 500,
    target_train_acc: Annotated[float, typer.Option(help="Training-accuracy target.")] = 1.0,
    target_val_acc: Annotated[
        float | None, typer.Option(help="Held-out accuracy target (optional).")
    ] = None,
    lr_grid: Annotated[
        str, typer.Option(help="Comma-separated learning rates; one value skips tuning.")
    ] = "1e-4,3e-4,1e-3,3e-3,1e-2,3e-2,1e-1,3e-1",
    trace_every: Annotated[
        int, typer.Option(min=0, help="Betti trace every N epochs (0: first and last only).")
    ] = 25,
    relu_lr_runs: Annotated[
        bool,
        typer.Option(
            "--relu-lr-runs",
            help="Also run every activation at ReLU's tuned lr on the evaluation seeds (the "
            "protocol's same-rate check), with speed-ups against ReLU in their own table.",
        ),
    ] = False,
    relu_baseline: Annotated[
        bool,
        typer.Option(
            "--relu-baseline/--no-relu-baseline",
            help="Add ReLU, the baseline of every speed-up. --no-relu-baseline runs only the "
            "given activations, e.g. one arm for `bettiscope speedup` across folders.",
        ),
    ] = True,
    stop_at_target: Annotated[
        bool,
        typer.Option(
            "--stop-at-target/--full-budget",
            help="Stop runs at the target, or train every run for the whole budget (the "
            "Naitzat study's fixed 12,000 steps; epochs to target are still recorded).",
        ),
    ] = True,
    width: Annotated[
        int | None, typer.Option(min=1, help="MLP hidden units per layer (default 15).")
    ] = None,
    depth: Annotated[
        int | None, typer.Option(min=1, help="MLP dense layers incl. output (default 10).")
    ] = None,
    bias_init: Annotated[
        str,
        typer.Option(
            help="MLP biases: zeros (the study) or uniform (PyTorch's default; breaks the "
            "mirror symmetry |x| imposes at initialisation on origin-symmetric data)."
        ),
    ] = "zeros",
    val_fraction: Annotated[
        float | None,
        typer.Option(help="Share of each class held out (default 0.2 for MLPs, 0.1 for CNNs)."),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Default: full batch for MLPs, 64 for CNNs.")
    ] = None,
    lr_decay_steps: Annotated[
        str,
        typer.Option(
            help="MLPs: lr * 0.5**(step/N): N steps, 'none', or 'auto' = the study's 2500 "
            "epochs (2500 steps in full batch)."
        ),
    ] = "auto",
    task: Annotated[
        str | None,
        typer.Option(help="mlp or cnn (default: from the data set; needed for image folders)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="CNN kind for image data: vgg (default) or resnet.")
    ] = None,
    classes: Annotated[
        str | None,
        typer.Option(help="Image classes: 0 (one vs rest) or 3,5 (two classes); default all."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Use at most N images (quick runs).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with the image data set's files.")
    ] = None,
    data_seed: Annotated[int, typer.Option(help="Seed of the data set and split.")] = 0,
    data_param: Annotated[
        list[str] | None, typer.Option(help="Data set parameter KEY=VALUE (repeatable).")
    ] = None,
    k: Annotated[int | None, typer.Option("--k", "-k", help="knn-hop neighbours.")] = None,
    scale: Annotated[float | None, typer.Option(help="Scale (hops for knn-hop).")] = None,
    stride: Annotated[int | None, typer.Option(help="Keep every N-th point per class.")] = None,
    max_dim: Annotated[int | None, typer.Option(help="Highest Betti number traced.")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Parallel runs, each in its own process (1: one at a time, in this process). "
            "Every run checkpoints either way, so an interrupted comparison resumes.",
        ),
    ] = 1,
    backend: Annotated[str, typer.Option(help="local or ray (with --workers > 1).")] = "local",
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto.")] = "cpu",
    bootstrap: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = 10_000,
    reuse: Annotated[
        list[Path] | None,
        typer.Option(
            help="Earlier run folder whose identical runs are copied, and whose runs that used "
            "up a smaller --max-epochs are continued to this one, or an archive from "
            "`bettiscope export-results` (copied only) (repeatable)."
        ),
    ] = None,
    keep_final_state: Annotated[
        bool,
        typer.Option(
            help="Keep the last checkpoint of runs that use up their budget "
            "(DIR/checkpoints/final/), so a later --reuse DIR with a larger --max-epochs "
            "continues them."
        ),
    ] = True,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Only say how many runs are still to train (after --out's finished runs and "
            "--reuse) and an upper bound on the time, from a few epochs timed here; trains "
            "nothing and leaves --out untouched.",
        ),
    ] = False,
) -> None:
    """Compare activations by epochs to target, with tuned learning rates and paired seeds."""
    import torch

    from bettiscope.activations import split_activation_list
    from bettiscope.experiments import CompareConfig, run_compare, task_kind_for

    with user_errors():
        from bettiscope.executor import BACKENDS

        if backend not in BACKENDS:
            fail(f"--backend must be one of {', '.join(BACKENDS)}; got {backend!r}.")
        kind = task if task is not None else task_kind_for(dataset)
        if kind not in ("mlp", "cnn"):
            fail(f"--task must be mlp or cnn; got {kind!r}.")
        options: dict[str, Any] = {}
        # options of the other kind of task would be silently ignored: refuse them
        if kind == "mlp":
            given = [
                name
                for name, value in (
                    ("--model", model),
                    ("--classes", classes),
                    ("--limit", limit),
                    ("--data-dir", data_dir),
                )
                if value is not None
            ]
            if given:
                fail(
                    f"{', '.join(given)} apply to image data sets (CNN tasks); {dataset!r} is "
                    "a point-cloud set trained with an MLP (--width, --depth, --data-param)."
                )
            options = {
                "width": 15 if width is None else width,
                "depth": 10 if depth is None else depth,
                "val_fraction": 0.2 if val_fraction is None else val_fraction,
                "batch_size": batch_size,
                "dataset_params": parse_data_params(data_param),
                "measure": measure_overrides(k, scale, stride, max_dim),
            }
            # recorded only where it matters, so earlier full-batch runs stay reusable
            if batch_size is not None or lr_decay_steps != "auto":
                options["lr_decay_steps"] = lr_decay_steps
            if bias_init != "zeros":
                options["bias_init"] = bias_init
        else:
            if lr_decay_steps != "auto":
                fail("--lr-decay-steps applies to MLP tasks; CNN runs use no decay.")
            if data_param:
                why = "--task cnn" if task == "cnn" else f"{dataset!r} is an image data set"
                fail(
                    f"--data-param applies to MLP tasks on point clouds; this is a CNN task "
                    f"({why})."
                )
            if width is not None or depth is not None:
                fail("--width and --depth apply to MLP tasks; choose the CNN with --model.")
            if bias_init != "zeros":
                fail("--bias-init applies to MLP tasks; CNNs keep PyTorch's initialisation.")
            options = {
                "model": model or "vgg",
                "classes": _classes(classes),
                "limit": limit,
                "data_dir": None if data_dir is None else str(data_dir),
                "measure": measure_overrides(k, scale, stride, max_dim),
            }
            if val_fraction is not None:
                options["val_fraction"] = val_fraction
            if batch_size is not None:
                options["batch_size"] = batch_size
        config = CompareConfig(
            dataset=dataset,
            activations=split_activation_list(activations),
            seeds=seeds,
            first_seed=first_seed,
            tuning_seeds=tuning_seeds,
            max_epochs=max_epochs,
            lr_grid=_floats(lr_grid),
            target_train_acc=target_train_acc,
            target_val_acc=target_val_acc,
            trace_every=trace_every,
            relu_lr_runs=relu_lr_runs,
            relu_baseline=relu_baseline,
            stop_at_target=stop_at_target,
            task_kind=kind,
            task_options=options,
            data_seed=data_seed,
            device=device,
            bootstrap=bootstrap,
        ).validate()
        if plan:
            from bettiscope.experiments import plan_compare

            _print_plan(plan_compare(config, out, reuse_from=reuse or ()), workers)
            return
        executor = None
        if workers > 1 or backend != "local":
            from bettiscope.executor import get_executor

            executor = get_executor(
                backend, **({"max_workers": workers} if backend == "local" else {})
            )
        else:
            torch.set_num_threads(1)  # one run at a time on a shared machine
        advice = f"finished runs and checkpoints are kept in {out}; run the same command to resume."
        with resume_on_interrupt(advice), make_progress() as progress:
            results = run_compare(
                config,
                out,
                executor=executor,
                progress=progress_callback(progress),
                reuse_from=reuse or (),
                keep_final_state=keep_final_state,
            )
    _render(results, out)


def _print_plan(plan: dict[str, Any], workers: int) -> None:
    table = Table(
        title="Runs of this comparison",
        caption="continued: runs to train that go on from a shorter --reuse run; "
        "epochs: still to train, summed",
    )
    keys = ("runs", "done", "to_train", "continued", "epochs")
    for column in ("phase", *keys):
        table.add_column(column.replace("_", " "), justify="left" if column == "phase" else "right")
    for phase, row in plan["phases"].items():
        if row["runs"]:
            table.add_row(phase, *(f"{row[k]:,}" for k in keys))
    out_console.print(table)
    if not plan["lrs_known"]:
        out_console.print(
            "The evaluation runs' learning rates are chosen by the tuning runs, so all of them "
            "count as to train until tuning is done."
        )
    speeds = ", ".join(
        f"{activation} {seconds * 1000:.3g} ms"
        for activation, seconds in plan["seconds_per_epoch"].items()
        if seconds is not None
    )
    if not speeds:
        out_console.print("Nothing to train: every run is done here or in --reuse.")
        return
    out_console.print(f"Time per epoch measured here (one thread): {speeds}.")
    from bettiscope.report import format_duration

    one_core, spread = (
        format_duration(s) for s in (plan["core_seconds"], plan["core_seconds"] / workers)
    )
    out_console.print(
        f"Upper bound on training, if every run uses its whole budget: {one_core} on one core, "
        f"about {spread} with --workers {workers} (one core each). Runs that reach the "
        "target stop earlier; Betti traces (--trace-every) come on top."
    )


def _render(results: dict[str, Any], out: Path) -> None:
    from bettiscope.experiments import init_divergence_warnings, tuning_warnings
    from bettiscope.report import run_provenance, same_rate_note
    from bettiscope.statistics import format_percent, speedup_text
    from bettiscope.statistics import format_value as fmt

    summary = results["summary"]

    def train_target_table(title: str, rows: dict[str, Any]) -> Table:
        table = Table(
            title=title,
            caption="speed-up = median epochs (ReLU) / median epochs; 95% bootstrap interval",
        )
        for column in ("activation", "lr", "success", "median epochs", "speed-up [95% CI]", "p"):
            table.add_column(column, justify="left" if column == "activation" else "right")
        for activation, row in rows.items():
            cell = row.get("train_target", row)  # older results: the cell's fields in the row
            # escaped: Rich takes "[inf, inf]" for a style tag and drops it
            speed_text = escape(speedup_text(cell, activation))
            p = cell.get("wilcoxon_vs_relu", {}).get("p_value")
            table.add_row(
                activation,
                fmt(row["lr"]),
                f"{cell['success_rate']:.0%}",
                fmt(cell["median_epochs"]),
                speed_text,
                fmt(p),
            )
        return table

    target = format_percent(results["config"]["target_train_acc"])
    out_console.print(
        train_target_table(
            f"Epochs to {target} training accuracy on {results['config']['dataset']}",
            summary["activations"],
        )
    )
    if summary.get("at_relu_lr"):
        out_console.print(
            train_target_table(
                f"The same seeds at ReLU's tuned learning rate ({target} training accuracy)",
                summary["at_relu_lr"],
            )
        )
    if note := same_rate_note(results["config"], summary):
        out_console.print(note)
    for text in tuning_warnings(summary["lrs"]) + init_divergence_warnings(summary):
        out_console.print(f"[yellow]Warning:[/yellow] {text}")
    imported, continued = run_provenance(results["runs"])
    if imported or continued:
        out_console.print(
            f"Evaluation runs from earlier folders: {imported} copied, {len(continued)} "
            "continued from a smaller budget."
        )
    # Under --full-budget every run uses up its budget by design; only the misses need more.
    missed = sum(
        1
        for r in results["runs"]
        if r.get("stopped") == "budget" and r.get("epochs_to_target") is None
    )
    if missed and (out / "checkpoints" / "final").is_dir():
        out_console.print(
            f"{missed} evaluation run{'s' if missed != 1 else ''} missed the target within the "
            f"{results['config']['max_epochs']}-epoch budget. To give them more epochs without "
            f"starting again: the same command with a larger --max-epochs, --reuse {out} and a "
            "new --out."
        )
    out_console.print(f"Results: {out / 'results.json'}; summary: {out / 'summary.md'}")


def export_results(
    folder: Annotated[Path, typer.Argument(help="A finished comparison folder (compare --out).")],
    out: Annotated[Path, typer.Option(help="The archive to write (.json).")],
    traces: Annotated[bool, typer.Option(help="Keep each evaluation run's Betti trace.")] = True,
    partial: Annotated[
        bool,
        typer.Option(
            help="Also export an unfinished comparison: the runs finished so far, for "
            "`compare --reuse` on another machine (runs still training are left out)."
        ),
    ] = False,
) -> None:
    """Write a finished comparison, every run but without per-epoch histories, as one JSON file.

    The archive is small enough to commit or publish and stands in for the folder in
    `speedup`, `speedup-plot` (ARCHIVE.json:ACTIVATION) and `compare --reuse`.
    """
    from bettiscope.experiments import export_results as export
    from bettiscope.experiments import is_partial_archive, read_archive

    with user_errors():
        path = export(folder, out, traces=traces, partial=partial)
        archive = read_archive(path)
    size = path.stat().st_size
    out_console.print(
        f"{path}: {len(archive['runs'])} evaluation and {len(archive['tuning_runs'])} tuning "
        f"runs, {size / 1024:,.0f} kB."
    )
    if is_partial_archive(archive):
        out_console.print(
            "The comparison is unfinished: this archive holds its finished runs only. To go on "
            f"elsewhere, run the same compare command with --reuse {path} (and a new --out)."
        )
