"""Benchmark: a full-batch training epoch with the kept evaluation pass, against the separate pass.

    .venv/bin/python benchmarks/full_batch_epoch.py            # four study settings, ~3 min
    .venv/bin/python benchmarks/full_batch_epoch.py --quick    # fewer epochs and rounds

Why: ``bettiscope.training.train`` evaluates the whole training set after every epoch (the
protocol's "accuracy at the epoch's end"). In full batch the next epoch's forward pass computes
the same logits again, so the trainer keeps the evaluation pass (with its autograd graph) as
that forward pass (``training._Lookahead``). The baseline here is the same trainer with that
path switched off (the separate ``evaluate`` pass, as before session 12), timed in the same run,
interleaved round by round so that load changes hit both alike; the histories of both are
checked to be identical. Settings: the study's MLPs on the data sets and sizes of the
comparisons in docs/study.md (width 15 on D-I and D-II, width 50 on linked-rings and
disks-grid), one thread, Adam with the study's decay.

Prints a table and writes benchmarks/results/full_batch_epoch.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch import nn

import bettiscope.training as training
from bettiscope.datasets import load_dataset
from bettiscope.models.mlp import build_mlp
from bettiscope.storage import atomic_write_json, environment_info

console = Console(width=120)

#: name -> (data set, its parameters as in docs/study.md's comparisons, MLP width)
SETTINGS = {
    "D-I": ("D-I", {}, 15),
    "D-II (14,400 points)": ("D-II", {"points_per_torus": 800}, 15),
    "linked-rings, width 50": ("linked-rings", {"points_per_ring": 80}, 50),
    "disks-grid, width 50": ("disks-grid", {}, 50),
}


def time_epochs(
    X: torch.Tensor, y: torch.Tensor, width: int, epochs: int, *, keep: bool
) -> tuple[float, list[tuple[float, float]]]:
    """Seconds per epoch of ``train`` (after a 3-epoch warm-up) and the (loss, accuracy) history.

    ``keep=False`` switches the kept evaluation pass off by declaring every module
    mode-dependent, which is what the trainer checks before using it.
    """
    saved = training._MODE_DEPENDENT
    training._MODE_DEPENDENT = saved if keep else (nn.Module,)
    try:
        cfg = training.TrainConfig(
            epochs=epochs, lr=0.003, lr_decay_steps=2500, target_train_acc=None, seed=0
        )
        warm_up = dataclasses.replace(cfg, epochs=3)
        training.train(build_mlp(X.shape[1], 2, width=width, seed=0), (X, y), warm_up)
        model = build_mlp(X.shape[1], 2, width=width, seed=0)
        started = time.perf_counter()
        history = training.train(model, (X, y), cfg)
        seconds = (time.perf_counter() - started) / epochs
    finally:
        training._MODE_DEPENDENT = saved
    return seconds, [(r.loss, r.train_acc) for r in history.records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="15 epochs, 2 rounds")
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/full_batch_epoch.json")
    )
    args = parser.parse_args()
    epochs, rounds = (15, 2) if args.quick else (args.epochs, args.rounds)
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    rows = []
    for label, (name, params, width) in SETTINGS.items():
        data = load_dataset(name, **params)
        X = torch.as_tensor(data.X, dtype=torch.float32)
        y = torch.as_tensor(data.y, dtype=torch.long)
        times: dict[str, list[float]] = {"separate": [], "kept": []}
        histories = {}
        for _ in range(rounds):
            for mode in ("separate", "kept"):
                seconds, histories[mode] = time_epochs(X, y, width, epochs, keep=mode == "kept")
                times[mode].append(seconds)
        separate, kept = (statistics.median(times[m]) for m in ("separate", "kept"))
        rows.append(
            {
                "setting": label,
                "points": len(X),
                "width": width,
                "ms_per_epoch_separate": 1000 * separate,
                "ms_per_epoch_kept": 1000 * kept,
                "speedup": separate / kept,
                "identical_history": histories["separate"] == histories["kept"],
                "raw_seconds_per_epoch": times,
            }
        )
    load_after = os.getloadavg()
    table = Table(title=f"Full-batch epoch, {epochs} epochs x {rounds} rounds, 1 thread (median)")
    for column in ("setting", "points", "separate pass ms", "kept pass ms", "speed-up", "same?"):
        table.add_column(column, justify="left" if column == "setting" else "right")
    for row in rows:
        table.add_row(
            row["setting"],
            f"{row['points']:,}",
            f"{row['ms_per_epoch_separate']:.1f}",
            f"{row['ms_per_epoch_kept']:.1f}",
            f"{row['speedup']:.2f}x",
            "identical" if row["identical_history"] else "DIFFERENT",
        )
    console.print(table)
    console.print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    atomic_write_json(
        args.out,
        {
            "benchmark": "full_batch_epoch",
            "config": {"epochs": epochs, "rounds": rounds, "threads": 1, "settings": SETTINGS},
            "load_average": {"before": load_before, "after": load_after},
            "results": rows,
            "environment": environment_info(),
        },
    )
    console.print(f"written {args.out}")


if __name__ == "__main__":
    main()
