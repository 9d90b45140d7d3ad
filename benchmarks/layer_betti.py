"""Benchmark: per-layer, per-class Betti numbers of an 11-layer MLP on D-II at one checkpoint.

    .venv/bin/python benchmarks/layer_betti.py            # full D-II (45,000 points), ~5 min
    .venv/bin/python benchmarks/layer_betti.py --quick    # 1,000 points per torus, ~1 min

Target (issue 4): beta_0..beta_1 of every representation (input, 9 hidden layers, logits) of each
class (split by predicted label) of a width-15, 10-layer ReLU MLP on D-II, knn-hop k=35, scale
2.5, stride 4, in <= 30 s per checkpoint on the 2-core development machine. The original
Naitzat pipeline (Julia + Eirene) needed up to 30 minutes per Betti number per layer; it cannot
run here, so the in-run baseline is GUDHI's flag complex without edge collapse
(``method="plain"``) on the same clouds, timed on a few cells (all 22 would take minutes).

The network is trained (full-batch Adam, lr 0.02, seed 0) for ``--epochs`` epochs first so the
layers are those of a network in training, not of a random one. Each engine method is timed on the
whole checkpoint (22 cells); all methods must give identical Betti numbers.

Prints a table with the ratios and writes benchmarks/results/layer_betti.json.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from bettiscope.experiments import mlp_task
from bettiscope.probe import capture, layer_betti, predict
from bettiscope.storage import atomic_write_json, environment_info
from bettiscope.topology import betti_numbers
from bettiscope.training import TrainConfig, train

console = Console(width=160)
TARGET_SECONDS = 30.0
MEASURE = {"metric": "knn-hop", "k": 35, "scale": 2.5, "stride": 4, "max_dim": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 points per torus, 30 epochs")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 300)")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats per method")
    parser.add_argument("--baseline-cells", type=int, default=2, help="cells timed with plain")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/layer_betti.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    params = {"points_per_torus": 1000} if args.quick else {}
    epochs = args.epochs if args.epochs is not None else (30 if args.quick else 300)
    task = mlp_task("D-II", val_fraction=0.0, dataset_params=params)
    model = task.build_model("relu", 0)
    started = time.perf_counter()
    history = train(
        model, task.train, TrainConfig(epochs=epochs, lr=0.02, lr_decay_steps=2500, seed=0)
    )
    train_seconds = time.perf_counter() - started
    X = task.probe_inputs
    console.print(
        f"D-II {len(X):,} points; ReLU MLP 15 x 9 + 2 logits trained {history.epochs} epochs "
        f"({train_seconds:.1f} s, train accuracy {history.records[-1].train_acc:.4f})"
    )

    rows: list[dict[str, Any]] = []
    reference = None
    for method in ("auto", "collapse", "ripser"):
        times, result = [], None
        for _ in range(args.repeats):
            result = layer_betti(model, X, measure={**MEASURE, "method": method})
            times.append(result.seconds)
        if reference is None:
            reference = result
        same = result.betti == reference.betti
        rows.append(
            {
                "method": method,
                "seconds_per_checkpoint": statistics.median(times),
                "times": times,
                "cells": len(result.layers) * len(result.classes),
                "identical_to_auto": same,
            }
        )

    # in-run baseline: uncollapsed GUDHI on the first few cells (input first: the largest cloud)
    reps = capture(model, X)
    labels = predict(model, X)
    # the largest clouds first: those are the cells that decide the cost
    cells = sorted(
        ((layer, c) for c in (0, 1) for layer in reps),
        key=lambda cell: -int((labels == cell[1]).sum()),
    )[: args.baseline_cells]
    baseline = []
    for layer, c in cells:
        points = reps[layer].numpy()[labels == c]
        engine = betti_numbers(points, **MEASURE, method="collapse")
        started = time.perf_counter()
        plain = betti_numbers(points, **MEASURE, method="plain")
        plain_seconds = time.perf_counter() - started
        baseline.append(
            {
                "layer": layer,
                "class": c,
                "n_points": engine.n_points,
                "engine_seconds": engine.seconds,
                "plain_seconds": plain_seconds,
                "speedup": plain_seconds / engine.seconds,
                "same": tuple(plain) == tuple(engine),
            }
        )

    best = min(rows, key=lambda r: r["seconds_per_checkpoint"])
    table = Table(title="Per-layer, per-class b0..b1 of D-II, one checkpoint (22 cells)")
    for column in ("method", "s / checkpoint", "target 30 s: ratio", "identical"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["method"],
            f"{row['seconds_per_checkpoint']:.1f}",
            f"{row['seconds_per_checkpoint'] / TARGET_SECONDS:.2f}",
            str(row["identical_to_auto"]),
        )
    console.print(table)
    cell_table = Table(title="Same cells: engine (collapse) vs GUDHI without collapse (plain)")
    for column in ("layer", "class", "points", "engine s", "plain s", "plain / engine", "same"):
        cell_table.add_column(column, justify="right")
    for row in baseline:
        cell_table.add_row(
            row["layer"],
            str(row["class"]),
            f"{row['n_points']:,}",
            f"{row['engine_seconds']:.2f}",
            f"{row['plain_seconds']:.2f}",
            f"{row['speedup']:.1f}x",
            str(row["same"]),
        )
    console.print(cell_table)
    per_class = {
        str(c): [None if b is None else list(b) for b in reference.betti[c]]
        for c in reference.classes
    }
    console.print(f"Betti numbers (auto): {per_class}")
    console.print(
        f"Fastest method {best['method']}: {best['seconds_per_checkpoint']:.1f} s per checkpoint "
        f"= {best['seconds_per_checkpoint'] / TARGET_SECONDS:.2f} x the 30 s target "
        "(machine shared with other jobs: timings are upper bounds)."
    )
    atomic_write_json(
        args.out,
        {
            "benchmark": "layer_betti",
            "quick": args.quick,
            "dataset": {"name": "D-II", "params": params, "n_points": len(X)},
            "model": {"activation": "relu", "width": 15, "depth": 10, "epochs": history.epochs},
            "train_accuracy": history.records[-1].train_acc,
            "measure": MEASURE,
            "target_seconds": TARGET_SECONDS,
            "methods": rows,
            "baseline_plain": baseline,
            "betti": per_class,
            "n_points": {str(c): reference.n_points[c] for c in reference.classes},
            "environment": environment_info(),
        },
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
