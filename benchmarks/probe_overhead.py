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

Prints a table and writes benchmarks/results/probe_overhead.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from bettiscope.experiments import mlp_task
from bettiscope.probe import TraceRecorder
from bettiscope.storage import atomic_write_json, environment_info
from bettiscope.training import TrainConfig, train

console = Console(width=160)


def measure_setting(dataset: str, batch_size: int | None, epochs: int, every: int) -> dict:
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

    recorder = TraceRecorder(task.probe_inputs, measure=measure, every=every)
    started = time.perf_counter()
    traced = train(task.build_model("relu", 0), task.train, cfg, on_epoch_end=recorder)
    traced_seconds = time.perf_counter() - started
    return {
        "dataset": dataset,
        "batch_size": batch_size,
        "epochs": epochs,
        "every": every,
        "checkpoints": len(recorder.entries),
        "n_train": len(task.train[0]),
        "n_probe": len(task.probe_inputs),
        "measure": measure,
        "train_seconds": plain_seconds,
        "traced_run_seconds": traced_seconds,
        "probe_seconds": recorder.seconds,
        "probe_seconds_per_checkpoint": recorder.seconds / max(1, len(recorder.entries)),
        "overhead_ratio": recorder.seconds / plain_seconds,
        "same_losses": plain.column("loss") == traced.column("loss"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="D-I only, 30 epochs")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/probe_overhead.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    settings: list[tuple[str, int | None, int]] = [("D-I", None, 100), ("D-I", 64, 30)]
    if args.quick:
        settings = [("D-I", None, 30), ("D-I", 64, 10)]
    else:
        settings += [("D-II", None, 100), ("D-II", 64, 20)]
    rows: list[dict[str, Any]] = []
    for dataset, batch_size, epochs in settings:
        row = measure_setting(dataset, batch_size, epochs, args.every)
        rows.append(row)
        console.print(
            f"{dataset} batch {batch_size or 'full'}: train {row['train_seconds']:.1f} s, "
            f"probe {row['probe_seconds']:.1f} s ({row['checkpoints']} checkpoints)"
        )
    table = Table(title=f"Trace every {args.every} epochs vs training (ReLU MLP 15 x 9)")
    for column in (
        "data",
        "batch",
        "epochs",
        "train s",
        "probe s",
        "s / checkpoint",
        "probe / train",
        "< 1?",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["dataset"],
            str(row["batch_size"] or "full"),
            str(row["epochs"]),
            f"{row['train_seconds']:.1f}",
            f"{row['probe_seconds']:.1f}",
            f"{row['probe_seconds_per_checkpoint']:.2f}",
            f"{row['overhead_ratio']:.2f}",
            "yes" if row["overhead_ratio"] < 1 else "NO",
        )
    console.print(table)
    console.print("Timings taken on a shared 2-core machine (other jobs running).")
    atomic_write_json(
        args.out,
        {"benchmark": "probe_overhead", "rows": rows, "environment": environment_info()},
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
