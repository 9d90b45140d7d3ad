"""`bettiscope prune`: Betti-number filter pruning of a trained CNN, against the baselines."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich import box
from rich.table import Table

from bettiscope.cli._common import (
    err_console,
    fail,
    make_progress,
    out_console,
    resume_on_interrupt,
    user_errors,
)
from bettiscope.pruning.flow import BASELINES, PruneConfig, load_task, run_pruning
from bettiscope.pruning.report import table_rows
from bettiscope.pruning.scoring import NUMBERS, WHERE, BettiConfig

Metric = Enum("Metric", {"euclidean": "euclidean", "knn_hop": "knn-hop"}, type=str)
# members from the registries, so mypy cannot list them
Number = Enum("Number", {name: name for name in NUMBERS}, type=str)  # type: ignore[misc]
Where = Enum("Where", {name: name for name in WHERE}, type=str)  # type: ignore[misc]
DEFAULT_NUMBER, DEFAULT_WHERE = Number("b0"), Where("conv")
Scope = Enum("Scope", {"layer": "layer", "global": "global"}, type=str)
Device = Enum("Device", {"cpu": "cpu", "cuda": "cuda", "auto": "auto"}, type=str)


def parse_baselines(text: str) -> tuple[str, ...]:
    """``all`` -> every baseline; ``none`` -> none; ``l1,random`` -> those."""
    text = text.strip().lower()
    if text == "all":
        return BASELINES
    if text in ("", "none"):
        return ()
    names = tuple(item.strip() for item in text.split(","))
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        fail(
            f"--baselines: unknown {unknown}; choose 'all', 'none' or from {', '.join(BASELINES)}."
        )
    return names


def _print_plans(payload: dict) -> None:
    widths = payload["widths"]
    table = Table(
        title=f"dry run: {payload['rule']} (filters removed per layer)", box=box.SIMPLE_HEAD
    )
    table.add_column("method", no_wrap=True)
    for layer in widths:
        table.add_column(layer, justify="right")
    for name, removed in payload["plans"].items():
        table.add_row(name, *(f"{removed.get(layer, 0)}/{w}" for layer, w in widths.items()))
    out_console.print(table)
    for group in payload["groups"]:
        out_console.print(group, highlight=False, soft_wrap=True)
    out_console.print(f"scores: {payload['scores_folder']}")


def prune(
    checkpoint: Annotated[
        Path, typer.Option(help="A model.pt written by `bettiscope train` (save_model).")
    ],
    dataset: Annotated[
        str, typer.Option(help="The data set the model was trained on (digits, cifar10, ...).")
    ],
    out: Annotated[Path, typer.Option(help="Output folder (pruning.json, summary.md, ...).")],
    data_dir: Annotated[Path | None, typer.Option(help="Folder with the data set's files.")] = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0, help="Remove every filter with Betti score above this (default 300)."),
    ] = None,
    ratio: Annotated[
        float | None,
        typer.Option(help="Instead: remove this fraction (in [0, 1)) by Betti score."),
    ] = None,
    scope: Annotated[Scope, typer.Option(help="--ratio per layer or global.")] = Scope.layer,
    min_keep: Annotated[int, typer.Option(min=1, help="Filters always kept per layer.")] = 1,
    samples: Annotated[int, typer.Option(min=2, help="Training images scored.")] = 500,
    finetune_epochs: Annotated[
        int, typer.Option(min=0, help="Fine-tuning epochs after pruning, every method.")
    ] = 0,
    finetune_lr: Annotated[float, typer.Option(min=1e-9, help="Fine-tuning Adam lr.")] = 0.001,
    baselines: Annotated[
        str, typer.Option(help=f"all, none, or a comma list of: {', '.join(BASELINES)}.")
    ] = "all",
    metric: Annotated[Metric, typer.Option(help="Betti metric.")] = Metric.euclidean,
    scale: Annotated[
        float,
        typer.Option(help="Scale > 0: RMS pairwise distances (euclidean) or hops (knn-hop: >= 1)."),
    ] = 0.4,
    absolute: Annotated[
        bool, typer.Option("--absolute", help="Euclidean scale in the maps' own units.")
    ] = False,
    k: Annotated[
        int | None, typer.Option("--k", "-k", min=2, help="knn-hop neighbours (default 5).")
    ] = None,
    betti_number: Annotated[
        Number, typer.Option(help="The score: b0, b1 or sum (b0 + b1).")
    ] = DEFAULT_NUMBER,
    where: Annotated[
        Where, typer.Option(help="Maps after the conv, or after its activation.")
    ] = DEFAULT_WHERE,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes for Betti scoring.")] = 1,
    latency_repeats: Annotated[
        int, typer.Option(min=1, help="Timed passes per model and batch size.")
    ] = 20,
    seed: Annotated[int, typer.Option(min=0, help="Image sample, random baseline, tuning.")] = 0,
    device: Annotated[Device, typer.Option(help="Scoring/fine-tuning device.")] = Device.cpu,
    threads: Annotated[
        int, typer.Option(min=1, help="CPU threads for torch (latency is measured with these).")
    ] = 1,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Score and plan only: print the filters each would cut."),
    ] = False,
) -> None:
    """Prune a trained CNN by the Betti numbers of its filters' outputs, against baselines.

    Re-running with the same --out and settings resumes where it stopped.
    """
    if threshold is not None and ratio is not None:
        fail("give either --threshold or --ratio, not both.")
    if ratio is None and scope.value != "layer":
        fail("--scope applies to --ratio; a --threshold is the same for every layer.")
    torch.set_num_threads(threads)
    with user_errors():
        betti = BettiConfig(
            metric=metric.value,
            scale=scale,
            relative=not absolute,
            k=(k or 5) if metric.value == "knn-hop" else k,
            number=betti_number.value,
            where=where.value,
            n_jobs=jobs,
        )
        cfg = PruneConfig(
            threshold=threshold,
            ratio=ratio,
            scope=scope.value,
            min_keep=min_keep,
            samples=samples,
            baselines=parse_baselines(baselines),
            finetune_epochs=finetune_epochs,
            finetune_lr=finetune_lr,
            latency_repeats=latency_repeats,
            seed=seed,
            device=device.value,
            betti=betti,
        )
        model, data, info = load_task(checkpoint, dataset, data_dir=data_dir)
        if info["data_args_from"] == "defaults":
            err_console.print(
                f"[yellow]warning:[/] {checkpoint} does not record its data split; using the "
                "loader's defaults (seed 0), so the test split may not be the held-out one.",
                highlight=False,
            )
        n_train = len(data.train[0])
        if samples > n_train:
            err_console.print(
                f"[yellow]warning:[/] --samples {samples} is more than the {n_train} training "
                f"images; all {n_train} are scored.",
                highlight=False,
            )
        n_scored = min(samples, n_train)
        if cfg.threshold is not None and betti.number == "b0" and cfg.threshold >= n_scored:
            err_console.print(
                f"[yellow]warning:[/] a filter's b0 is at most the {n_scored} images scored, so "
                f"--threshold {cfg.threshold:g} removes nothing; lower it or use --ratio.",
                highlight=False,
            )
        advice = f"finished steps are kept in {out}; run the same command to resume."
        with resume_on_interrupt(advice), make_progress() as bar:
            task = bar.add_task("pruning", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total)

            payload = run_pruning(
                model,
                data,
                cfg,
                out,
                checkpoint=str(checkpoint),
                progress=progress,
                dry_run=dry_run,
            )
    if dry_run:
        _print_plans(payload)
        return
    table = Table(
        title=f"{payload['rule']} on {dataset} ({payload['sample']['n_images']} images)",
        box=box.SIMPLE_HEAD,
        caption="+ft: fine-tuned; params: fraction kept; latency: CPU ms, batch 1 and 64",
    )
    table.add_column("method", no_wrap=True)
    for column in ("removed", "accuracy", "params", "MACs", "b1", "b64"):
        table.add_column(column, justify="right")
    for row in table_rows(payload):
        table.add_row(
            row["method"] + (" +ft" if row["finetuned"] else ""),
            str(row["removed"]),
            f"{row['accuracy']:.4f}",
            f"{row['params_kept']:.1%}",
            f"{row['macs']:,}",
            f"{row['batch1']:.3f}",
            f"{row['batch64']:.2f}",
        )
    out_console.print(table)
    out_console.print(f"results: {out / 'pruning.json'}, {out / 'summary.md'}, {out / 'figures'}")
    leftovers = payload.get("leftover_files") or []
    if leftovers:
        named = ", ".join(leftovers[:4]) + (", ..." if len(leftovers) > 4 else "")
        err_console.print(
            f"[yellow]warning:[/] {out} also holds {len(leftovers)} file(s) an earlier run with "
            f"other settings wrote ({named}); they are not part of these results. Use a new "
            "--out to keep runs apart.",
            highlight=False,
        )
