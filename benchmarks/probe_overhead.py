"""Benchmark: the cost of tracing Betti numbers every 10 epochs, against the training itself.

    .venv/bin/python benchmarks/probe_overhead.py            # D-I and D-II, ~5 min
    .venv/bin/python benchmarks/probe_overhead.py --quick    # D-I only, fewer epochs

Target (issue 4): a trace every 10 epochs costs less than the training itself (ratio < 1).
For each setting the same network (same seed) is trained twice for the same epochs: once plain
(baseline) and once with a :class:`bettiscope.probe.TraceRecorder` measuring every layer and
class every 10 epochs at the data set's recommended parameters (b0..b1). The overhead ratio is
the probe's wall-clock over the plain training's wall-clock.

Settings: full-batch Adam (the Naitzat study: one optimiser step per epoch, so an epoch is very
cheap) and mini-batch Adam with batch 64 (many steps per epoch), on D-I (probe = its 88 x 88
evaluation grid, k=14, stride 3) and, unless ``--quick``, D-II (k=35, stride 4).

Each setting is traced twice in the same run: "legacy" = the probe as it was before the
probing-overhead work (the old engine, copied in benchmarks/layer_betti.py, and no cell cache) and
"new" = the current probe (dominated-vertex reduction, cell cache, ``--workers`` processes, default
1). Both must record identical Betti numbers. The machine load is recorded beside the timings.

Prints a table and writes benchmarks/results/probe_overhead.json.
"""

from __future__ import annotations

import argparse
import contextlib
import time
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
    dataset: str, batch_size: int | None, epochs: int, every: int, workers: int = 1
) -> dict:
    task = mlp_task(dataset, val_fraction=0.0, batch_size=batch_size)
    measure = {**task.measure, "max_dim": 1}
    cfg = TrainConfig(
        epochs=epochs,
        lr=0.01,
        batch_size=batch_size,
        lr_decay_steps=2500,
        seed=0,
        target_train_acc=None,
    )
    started = time.perf_counter()
    plain = train(task.build_model("relu", 0), task.train, cfg)
    plain_seconds = time.perf_counter() - started

    traces: dict[str, Any] = {}
    for variant in ("legacy", "new"):
        new = variant == "new"
        recorder = TraceRecorder(
            task.probe_inputs,
            measure=measure,
            every=every,
            cache=new,
            workers=workers if new else 1,
        )
        context = contextlib.nullcontext() if new else legacy_engine()
        started = time.perf_counter()
        with context:
            traced = train(task.build_model("relu", 0), task.train, cfg, on_epoch_end=recorder)
        traces[variant] = {
            "recorder": recorder,
            "run_seconds": time.perf_counter() - started,
            "same_losses": plain.column("loss") == traced.column("loss"),
        }
    legacy, new = traces["legacy"]["recorder"], traces["new"]["recorder"]
    checkpoints = max(1, len(new.entries))
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
        "legacy_probe_seconds": legacy.seconds,
        "legacy_overhead_ratio": legacy.seconds / plain_seconds,
        "probe_seconds": new.seconds,
        "probe_seconds_per_checkpoint": new.seconds / checkpoints,
        "overhead_ratio": new.seconds / plain_seconds,
        "speedup_vs_legacy": legacy.seconds / new.seconds,
        "cells": new.cells,
        "cells_reused": new.cells_reused,
        "traced_run_seconds": {v: t["run_seconds"] for v, t in traces.items()},
        "same_losses": all(t["same_losses"] for t in traces.values()),
        "same_betti": [e["betti"] for e in legacy.to_list()] == [e["betti"] for e in new.to_list()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="D-I only, 30 epochs")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="probe processes (new probe)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/probe_overhead.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    settings: list[tuple[str, int | None, int]] = [("D-I", None, 100), ("D-I", 64, 30)]
    if args.quick:
        settings = [("D-I", None, 30), ("D-I", 64, 10)]
    else:
        settings += [("D-II", None, 100), ("D-II", 64, 20)]
    if args.workers > 1:
        warm_pool(args.workers)
    load_before = machine_load()
    rows: list[dict[str, Any]] = []
    for dataset, batch_size, epochs in settings:
        row = measure_setting(dataset, batch_size, epochs, args.every, args.workers)
        rows.append(row)
        console.print(
            f"{dataset} batch {batch_size or 'full'}: train {row['train_seconds']:.1f} s, "
            f"probe legacy {row['legacy_probe_seconds']:.1f} s, new {row['probe_seconds']:.1f} s "
            f"({row['checkpoints']} checkpoints, {row['cells_reused']} of {row['cells']} cells "
            f"reused, same Betti numbers: {row['same_betti']})"
        )
    load_after = machine_load()
    table = Table(title=f"Trace every {args.every} epochs vs training (ReLU MLP 15 x 9)")
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
            f"{row['legacy_probe_seconds']:.1f}",
            f"{row['probe_seconds']:.1f}",
            f"{row['probe_seconds_per_checkpoint']:.2f}",
            f"{row['cells_reused']}/{row['cells']}",
            f"{row['legacy_overhead_ratio']:.2f}",
            f"{row['overhead_ratio']:.2f}",
            "yes" if row["overhead_ratio"] < 1 else "NO",
            str(row["same_betti"]),
        )
    console.print(table)
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
            "rows": rows,
            "machine_load": {"before": load_before, "after": load_after},
            "environment": environment_info(),
        },
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
