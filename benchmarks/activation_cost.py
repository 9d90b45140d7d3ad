"""Benchmark: the cost of one training epoch per activation, against ReLU in the same run.

    .venv/bin/python benchmarks/activation_cost.py             # D-II-sized full batch, ~1 min
    .venv/bin/python benchmarks/activation_cost.py --quick     # fewer steps

Why: ``bettiscope compare`` records seconds per epoch for every run, but runs of different
activations execute at different times, so on a shared machine their per-epoch times also
measure the load of the moment. Here every activation trains the same Naitzat MLP (width 15,
10 layers) on the same full batch (default 11,520 points in 3-d, the size of the session-2 D-II
comparison) with one thread, interleaved round-robin over several rounds so that load changes
hit all of them alike; the median step time is reported with its ratio to ReLU's.

Prints a table and writes benchmarks/results/activation_cost.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from bettiscope.activations import ACTIVATIONS
from bettiscope.models.mlp import build_mlp
from bettiscope.storage import atomic_write_json, environment_info

console = Console(width=120)


def time_steps(activation: str, X: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    """Seconds per full-batch Adam step (forward, loss, backward, update) after a warm-up."""
    model = build_mlp(X.shape[1], 2, activation=activation, seed=0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(X), y).backward()
        optimiser.step()

    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=11_520)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10 steps, 3 rounds")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/activation_cost.json"))
    args = parser.parse_args()
    steps, rounds = (10, 3) if args.quick else (args.steps, args.rounds)
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    X = torch.rand(args.points, 3, generator=generator) * 2 - 1
    y = (X.norm(dim=1) > 0.8).long()
    names = sorted(ACTIVATIONS)
    times: dict[str, list[float]] = {name: [] for name in names}
    load_before = os.getloadavg()
    for _ in range(rounds):
        for name in names:
            times[name].append(time_steps(name, X, y, steps))
    load_after = os.getloadavg()
    relu = statistics.median(times["relu"])
    rows = []
    for name in names:
        median = statistics.median(times[name])
        rows.append({"activation": name, "ms_per_step": 1000 * median, "vs_relu": median / relu})
    rows.sort(key=lambda r: r["vs_relu"])
    table = Table(title=f"Full-batch step, {args.points} points, MLP 15 x 9, 1 thread")
    for column in ("activation", "ms / step", "time vs ReLU"):
        table.add_column(column, justify="left" if column == "activation" else "right")
    for row in rows:
        table.add_row(row["activation"], f"{row['ms_per_step']:.2f}", f"{row['vs_relu']:.2f}x")
    console.print(table)
    console.print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    atomic_write_json(
        args.out,
        {
            "benchmark": "activation_cost",
            "config": {"points": args.points, "steps": steps, "rounds": rounds, "threads": 1},
            "load_average": {"before": load_before, "after": load_after},
            "results": rows,
            "raw_seconds_per_step": times,
            "environment": environment_info(),
        },
    )
    console.print(f"written {args.out}")


if __name__ == "__main__":
    main()
