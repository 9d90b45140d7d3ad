"""Benchmark: the cost of tracing Betti numbers every 10 epochs, against the training itself.

    .venv/bin/python benchmarks/probe_overhead.py            # D-I and D-II, ~5 min
    .venv/bin/python benchmarks/probe_overhead.py --quick    # D-I only, fewer epochs
    .venv/bin/python benchmarks/probe_overhead.py --only D-II:64 --no-legacy   # one setting
    .venv/bin/python benchmarks/probe_overhead.py --only D-II:64 --no-legacy --epochs 60
    .venv/bin/python benchmarks/probe_overhead.py --only D-II:64 --no-legacy --max-overhead 1

Target (issue 4): a trace every 10 epochs costs less than the training itself (ratio < 1).
For each setting the same network (same seed) is trained twice for the same epochs: once plain
(baseline) and once with a :class:`bettiscope.probe.TraceRecorder` measuring every layer and
class every 10 epochs at the data set's recommended parameters (b0..b1). The overhead ratio is
the probe's wall-clock over the plain training's wall-clock.

Settings: full-batch Adam (the Naitzat study: one optimiser step per epoch, so an epoch is very
cheap) and mini-batch Adam with batch 64 (many steps per epoch), on D-I (probe = its 88 x 88
evaluation grid, k=14, stride 3) and, unless ``--quick``, D-II (k=35, stride 4).

Each setting is traced three times in the same run: "legacy" = the probe as it was before the
probing-overhead work (the old engine, copied in benchmarks/layer_betti.py, and no cell cache),
"new" = the current synchronous probe (dominated-vertex reduction, cell cache, ``--workers``
processes, default 1) and "background" = the same probe with ``background=True`` and
``--bg-workers`` processes (default 1): the training process only captures the representations
and training goes on while the workers measure. All must record identical Betti numbers.

Two ratios per variant, because "costs less than the training itself" has two readings:

* wall-clock added: (traced run's wall time - plain training's wall time) / plain training's wall
  time, where the traced run ends when the last entry is stored (for background, after
  ``recorder.finish``); also, for background, the same up to the end of the training loop only
  (how long training itself was held up). This is the reading "tracing makes the job < 2x longer".
* probe CPU / training: the probe's CPU seconds (this process's capture and measuring plus the
  workers') over the plain training's CPU seconds. This is the reading "the probe's work is less
  than the training's work"; background mode cannot change it, only move it to other cores.

With ``--max-overhead R`` a fourth variant, "budget", runs the synchronous probe with
``TraceRecorder(max_overhead=R)``: it skips scheduled checkpoints whose measuring would take the
probe over R x the training so far, and the table says how many of the scheduled checkpoints it kept
and what the trace then cost.

On a machine whose cores are busy (the machine load is recorded beside the timings), background
workers compete with training, so the wall-clock gain is bounded by the idle cores.

Prints a table and writes benchmarks/results/probe_overhead.json.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from layer_betti import legacy_engine, machine_load, warm_pool
from rich.console import Console
from rich.table import Table

from bettiscope.experiments import mlp_task
from bettiscope.probe import TraceRecorder
from bettiscope.storage import atomic_write_json, environment_info
from bettiscope.training import TrainConfig, train

console = Console(width=160)


def measure_setting(
    dataset: str,
    batch_size: int | None,
    epochs: int,
    every: int,
    workers: int = 1,
    bg_workers: int = 1,
    legacy: bool = True,
    max_dim: int = 1,
    max_overhead: float | None = None,
) -> dict:
    task = mlp_task(dataset, val_fraction=0.0, batch_size=batch_size)
    measure = {**task.measure, "max_dim": max_dim}
    cfg = TrainConfig(
        epochs=epochs,
        lr=0.01,
        batch_size=batch_size,
        lr_decay_steps=2500,
        seed=0,
        target_train_acc=None,
    )
    # untimed warm-up: the first training in a process pays one-off costs (allocator, kernels)
    # that would otherwise inflate the plain baseline and hide the probe's cost
    train(task.build_model("relu", 0), task.train, replace(cfg, epochs=2))
    started, cpu = time.perf_counter(), time.process_time()
    plain = train(task.build_model("relu", 0), task.train, cfg)
    plain_seconds = time.perf_counter() - started
    plain_cpu = time.process_time() - cpu

    traces: dict[str, Any] = {}
    variants = ("legacy", "new", "background") if legacy else ("new", "background")
    if max_overhead is not None:
        variants += ("budget",)
    for variant in variants:
        new = variant != "legacy"
        background = variant == "background"
        recorder = TraceRecorder(
            task.probe_inputs,
            measure=measure,
            every=every,
            cache=new,
            workers={"legacy": 1, "background": bg_workers}.get(variant, workers),
            background=background,
            max_overhead=max_overhead if variant == "budget" else None,
        )
        context = contextlib.nullcontext() if new else legacy_engine()
        started = time.perf_counter()
        with context:
            traced = train(task.build_model("relu", 0), task.train, cfg, on_epoch_end=recorder)
            loop_seconds = time.perf_counter() - started
            recorder.wait()  # background: the trace is complete only now
        run_seconds = time.perf_counter() - started
        traces[variant] = {
            "recorder": recorder,
            "run_seconds": run_seconds,
            "loop_seconds": loop_seconds,
            "wall_added_ratio": (run_seconds - plain_seconds) / plain_seconds,
            "loop_added_ratio": (loop_seconds - plain_seconds) / plain_seconds,
            "probe_cpu_seconds": recorder.cpu_seconds,
            "probe_cpu_ratio": recorder.cpu_seconds / plain_cpu,
            "blocked_seconds": recorder.seconds,
            "wait_seconds": recorder.wait_seconds,
            "same_losses": plain.column("loss") == traced.column("loss"),
            "checkpoints": len(recorder.entries),
            "skipped_epochs": list(recorder.skipped),
        }
    new, background = traces["new"]["recorder"], traces["background"]["recorder"]
    old = traces["legacy"]["recorder"] if legacy else None
    checkpoints = max(1, len(new.entries))

    def numbers(recorder: TraceRecorder) -> list:
        return [{k: v for k, v in e.items() if k != "seconds"} for e in recorder.to_list()]

    per_variant = {
        variant: {k: v for k, v in t.items() if k != "recorder"} for variant, t in traces.items()
    }
    return {
        "dataset": dataset,
        "batch_size": batch_size,
        "epochs": epochs,
        "every": every,
        "workers": workers,
        "checkpoints": len(new.entries),
        "n_train": len(task.train[0]),
        "n_probe": len(task.probe_inputs),
        "measure": measure,
        "train_seconds": plain_seconds,
        "train_seconds_per_epoch": plain_seconds / epochs,
        "train_cpu_seconds": plain_cpu,
        "bg_workers": bg_workers,
        "legacy_probe_seconds": None if old is None else old.seconds,
        "legacy_overhead_ratio": None if old is None else old.seconds / plain_seconds,
        "probe_seconds": new.seconds,
        "probe_seconds_per_checkpoint": new.seconds / checkpoints,
        "overhead_ratio": new.seconds / plain_seconds,
        "speedup_vs_legacy": None if old is None else old.seconds / new.seconds,
        "cells": new.cells,
        "cells_reused": new.cells_reused,
        "traced_run_seconds": {v: t["run_seconds"] for v, t in traces.items()},
        "variants": per_variant,
        "same_losses": all(t["same_losses"] for t in traces.values()),
        "same_betti": old is None
        or [e["betti"] for e in old.to_list()] == [e["betti"] for e in new.to_list()],
        "background_same_entries": numbers(background) == numbers(new),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="D-I only, 30 epochs")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="probe processes (new probe)")
    parser.add_argument("--bg-workers", type=int, default=1, help="background probe processes")
    parser.add_argument("--no-legacy", action="store_true", help="skip the legacy probe (faster)")
    parser.add_argument(
        "--max-dim",
        type=int,
        default=1,
        help="highest Betti number traced (default 1: b0..b1, the issue's setting; 0: b0 only)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="epochs of every setting (default: 100 full batch, 30 / 20 mini-batch); more "
        "checkpoints show the background probe's steady state instead of its last-entry tail",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="DATA:BATCH",
        help="measure only this setting, e.g. D-II:64 or D-I:full (repeatable)",
    )
    parser.add_argument(
        "--max-overhead",
        type=float,
        metavar="R",
        help="also trace with a probe budget of R x the training (TraceRecorder max_overhead)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="default: benchmarks/results/probe_overhead.json (probe_overhead-only.json if --only)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)

    settings: list[tuple[str, int | None, int]] = [("D-I", None, 100), ("D-I", 64, 30)]
    if args.quick:
        settings = [("D-I", None, 30), ("D-I", 64, 10)]
    else:
        settings += [("D-II", None, 100), ("D-II", 64, 20)]
    if args.epochs is not None:
        if args.epochs < args.every:
            parser.error(f"--epochs {args.epochs}: at least --every ({args.every}) epochs")
        settings = [(dataset, batch, args.epochs) for dataset, batch, _ in settings]
    if args.only:
        wanted = {tuple(item.split(":", 1)) for item in args.only}
        settings = [s for s in settings if (s[0], str(s[1] or "full")) in wanted]
        if not settings:
            parser.error(
                f"--only {args.only}: no such setting (D-I:full, D-I:64, D-II:full, D-II:64)"
            )
    if args.out is None:
        name = "probe_overhead-only.json" if args.only else "probe_overhead.json"
        args.out = Path("benchmarks/results") / name
    if args.workers > 1:
        warm_pool(args.workers)
    warm_pool(args.bg_workers)  # the background pool always runs in worker processes
    load_before = machine_load()
    rows: list[dict[str, Any]] = []
    for dataset, batch_size, epochs in settings:
        row = measure_setting(
            dataset,
            batch_size,
            epochs,
            args.every,
            args.workers,
            args.bg_workers,
            legacy=not args.no_legacy,
            max_dim=args.max_dim,
            max_overhead=args.max_overhead,
        )
        rows.append(row)
        runs = ", ".join(f"{v} {t:.1f} s" for v, t in row["traced_run_seconds"].items())
        legacy_text = (
            "" if row["legacy_probe_seconds"] is None else f"{row['legacy_probe_seconds']:.1f} s"
        )
        console.print(
            f"{dataset} batch {batch_size or 'full'}: train {row['train_seconds']:.1f} s, "
            f"probe legacy {legacy_text or '-'}, new {row['probe_seconds']:.1f} s, "
            f"traced runs {runs} "
            f"({row['checkpoints']} checkpoints, {row['cells_reused']} of {row['cells']} cells "
            f"reused, same Betti numbers: {row['same_betti']}, background same entries: "
            f"{row['background_same_entries']})"
        )
    load_after = machine_load()

    def number(value: float | None, digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    table = Table(
        title=f"Trace of b0..b{args.max_dim} every {args.every} epochs vs training "
        "(ReLU MLP 15 x 9)"
    )
    for column in (
        "data",
        "batch",
        "epochs",
        "train s",
        "probe s legacy",
        "probe s new",
        "new s / checkpoint",
        "cells reused",
        "legacy / train",
        "new / train",
        "< 1?",
        "same b",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["dataset"],
            str(row["batch_size"] or "full"),
            str(row["epochs"]),
            f"{row['train_seconds']:.1f}",
            number(row["legacy_probe_seconds"]),
            f"{row['probe_seconds']:.1f}",
            f"{row['probe_seconds_per_checkpoint']:.2f}",
            f"{row['cells_reused']}/{row['cells']}",
            number(row["legacy_overhead_ratio"], 2),
            f"{row['overhead_ratio']:.2f}",
            "yes" if row["overhead_ratio"] < 1 else "NO",
            str(row["same_betti"]),
        )
    console.print(table)
    ratios = Table(
        title="Synchronous vs background probe: wall-clock added to training, and probe CPU "
        "(ratios to the plain training run)"
    )
    for column in (
        "data",
        "batch",
        "train s",
        "sync: wall added",
        "bg: wall added (trace done)",
        "bg: loop held up",
        "sync: probe CPU / train CPU",
        "bg: probe CPU / train CPU",
        "bg entries = sync",
    ):
        ratios.add_column(column, justify="right")
    for row in rows:
        sync, bg = row["variants"]["new"], row["variants"]["background"]
        ratios.add_row(
            row["dataset"],
            str(row["batch_size"] or "full"),
            f"{row['train_seconds']:.1f}",
            f"{sync['wall_added_ratio']:.2f}",
            f"{bg['wall_added_ratio']:.2f}",
            f"{bg['loop_added_ratio']:.2f}",
            f"{sync['probe_cpu_ratio']:.2f}",
            f"{bg['probe_cpu_ratio']:.2f}",
            str(row["background_same_entries"]),
        )
    console.print(ratios)
    if args.max_overhead is not None:
        for row in rows:
            budget, sync = row["variants"]["budget"], row["variants"]["new"]
            console.print(
                f"budget {args.max_overhead:g}x, {row['dataset']} batch "
                f"{row['batch_size'] or 'full'}: kept {budget['checkpoints']} of "
                f"{sync['checkpoints']} checkpoints (skipped {budget['skipped_epochs']}); probe "
                f"CPU / train CPU {budget['probe_cpu_ratio']:.2f} (all checkpoints: "
                f"{sync['probe_cpu_ratio']:.2f}), wall added {budget['wall_added_ratio']:.2f}"
            )
    console.print(
        f"Shared {load_after['cpu_count']}-core machine: load average "
        f"{load_before['loadavg_1_5_15'][0]:.1f} before, {load_after['loadavg_1_5_15'][0]:.1f} "
        "after (other jobs running); compare the ratios, not the seconds."
    )
    atomic_write_json(
        args.out,
        {
            "benchmark": "probe_overhead",
            "workers": args.workers,
            "bg_workers": args.bg_workers,
            "max_overhead": args.max_overhead,
            "rows": rows,
            "machine_load": {"before": load_before, "after": load_after},
            "environment": environment_info(),
        },
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
