"""Benchmark the topology engine against its named baselines, in the same run.

    .venv/bin/python benchmarks/betti_engine.py            # everything (a few minutes)
    .venv/bin/python benchmarks/betti_engine.py --quick    # smaller clouds, for a smoke test

1. knn-hop, k=35, scale 2.5, beta_0..beta_2 on each class of D-III (~4,500 points per class after
   stride 4) and D-II (~5,600): engine vs ripser on the same sparse hop-distance matrix.
   Target: >= 10x faster, identical Betti numbers.
2. euclidean beta_0 at a fixed scale, 4,000 points in 784 dimensions: engine vs computing the
   pairwise distances alone (scikit-learn's BLAS-based euclidean_distances). Target: <= 2x.
3. euclidean beta_0..beta_1 at a fixed scale, 2,000 points in 50 and 784 dimensions vs ripser.

Prints a table with the ratios and writes benchmarks/results/betti_engine.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import ripser
import scipy.sparse as sp
from rich.console import Console
from rich.table import Table
from sklearn.metrics.pairwise import euclidean_distances

from bettiscope import betti_numbers
from bettiscope.storage import atomic_write_json, environment_info
from bettiscope.topology import hop_graph, knn_graph, subsample

console = Console(width=200)


def timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[Any, float]:
    """Result of ``fn`` and the median wall time (s) over ``repeats`` calls."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def ripser_knn_hop(points: np.ndarray, k: int, scale: float, max_dim: int, stride: int) -> tuple:
    """The baseline: ripser on the sparse hop-distance matrix (1 for kNN edges, 2 for two hops)."""
    kept = subsample(points, stride=stride)
    one_hop = knn_graph(kept, k)
    two_hops = hop_graph(one_hop, int(scale))
    distances = sp.triu(two_hops.astype(np.float64) * 2.0 - one_hop.astype(np.float64), 1)
    diagrams = ripser.ripser(
        distances.tocoo(), distance_matrix=True, maxdim=max_dim, thresh=float(int(scale))
    )["dgms"]
    return tuple(int(np.isinf(d[:, 1]).sum()) for d in diagrams)


def ripser_euclidean(points: np.ndarray, scale: float, max_dim: int) -> tuple:
    diagrams = ripser.ripser(points, maxdim=max_dim, thresh=scale)["dgms"]
    return tuple(int(np.isinf(d[:, 1]).sum()) for d in diagrams)


def clustered_cloud(n: int, dim: int, seed: int, n_rings: int = 5) -> np.ndarray:
    """Noisy circles (radius 3) in random 2-planes of R^dim: beta_1 > 0 at moderate scales."""
    rng = np.random.default_rng(seed)
    per_ring = n // n_rings
    rings = []
    for i in range(n_rings):
        basis, _ = np.linalg.qr(rng.normal(size=(dim, 2)))
        angles = rng.uniform(0, 2 * np.pi, per_ring)
        ring = 3.0 * np.c_[np.cos(angles), np.sin(angles)] @ basis.T
        # noise of total size ~0.1 whatever the dimension, so neighbours stay neighbours
        ring += rng.normal(scale=0.1 / np.sqrt(dim), size=ring.shape)
        ring += 20.0 * i * np.eye(dim)[i % dim]
        rings.append(ring)
    return np.vstack(rings)


KNN_HOP = {"metric": "knn-hop", "k": 35, "scale": 2.5, "max_dim": 2, "stride": 4}
EUCLIDEAN_SCALE = 1.2


def bench_knn_hop(rows: list[dict[str, Any]], quick: bool, repeats: int) -> None:
    from bettiscope.datasets import load_dataset

    for name in ("D-III", "D-II"):
        data = load_dataset(name)
        for label in np.unique(data.y):
            points = data.X[data.y == label]
            if quick:
                points = points[: len(points) // 4]
            ours, engine_s = timed(lambda p=points: betti_numbers(p, **KNN_HOP), repeats)
            theirs, ripser_s = timed(lambda p=points: ripser_knn_hop(p, 35, 2.5, 2, 4))
            rows.append(
                {
                    "case": f"{name} class {label}: knn-hop k=35 s=2.5, b0..b2",
                    "points": ours.n_points,
                    "engine_s": engine_s,
                    "baseline": "ripser (sparse hop matrix)",
                    "baseline_s": ripser_s,
                    "ratio": ripser_s / engine_s,
                    "target": ">= 10x",
                    "engine_betti": list(ours),
                    "baseline_betti": list(theirs),
                    "same": tuple(ours) == theirs,
                }
            )
            console.print(f"  {rows[-1]['case']}: {engine_s:.2f} s vs {ripser_s:.2f} s")


def bench_beta0_high_dim(rows: list[dict[str, Any]], quick: bool, repeats: int) -> None:
    n = 1000 if quick else 4000
    points = clustered_cloud(n, 784, seed=1)
    scale = 1.0
    _, distances_s = timed(lambda: euclidean_distances(points), repeats)
    ours, engine_s = timed(lambda: betti_numbers(points, scale=scale, max_dim=0), repeats)
    # exactness check against connected components of the dense thresholded matrix
    from scipy.sparse.csgraph import connected_components

    dense = sp.csr_matrix(euclidean_distances(points) <= scale)
    reference = connected_components(dense, directed=False)[0]
    rows.append(
        {
            "case": f"euclidean b0, {n} points in 784-d, scale {scale}",
            "points": ours.n_points,
            "engine_s": engine_s,
            "baseline": "pairwise distances alone (sklearn)",
            "baseline_s": distances_s,
            "ratio": distances_s / engine_s,
            "target": ">= 0.5x (within 2x)",
            "engine_betti": list(ours),
            "baseline_betti": [int(reference)],
            "same": ours[0] == reference,
        }
    )
    console.print(f"  {rows[-1]['case']}: {engine_s:.3f} s vs {distances_s:.3f} s")


def bench_beta1(rows: list[dict[str, Any]], quick: bool, repeats: int) -> None:
    n = 600 if quick else 2000
    for dim in (50, 784):
        points = clustered_cloud(n, dim, seed=2)
        scale = EUCLIDEAN_SCALE
        ours, engine_s = timed(
            lambda p=points: betti_numbers(p, scale=EUCLIDEAN_SCALE, max_dim=1), repeats
        )
        theirs, ripser_s = timed(lambda p=points: ripser_euclidean(p, EUCLIDEAN_SCALE, 1))
        rows.append(
            {
                "case": f"euclidean b0..b1, {n} points in {dim}-d, scale {scale}",
                "points": ours.n_points,
                "engine_s": engine_s,
                "baseline": "ripser (point cloud, thresh=scale)",
                "baseline_s": ripser_s,
                "ratio": ripser_s / engine_s,
                "target": "faster",
                "engine_betti": list(ours),
                "baseline_betti": list(theirs),
                "same": tuple(ours) == theirs,
            }
        )
        console.print(f"  {rows[-1]['case']}: {engine_s:.3f} s vs {ripser_s:.3f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller clouds (smoke test)")
    parser.add_argument("--repeats", type=int, default=3, help="engine repeats (median)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["knn-hop", "beta0", "beta1"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)

    rows: list[dict[str, Any]] = []
    benches = {"knn-hop": bench_knn_hop, "beta0": bench_beta0_high_dim, "beta1": bench_beta1}
    for name, bench in benches.items():
        if name not in args.skip:
            console.print(f"[bold]{name}[/]")
            bench(rows, args.quick, args.repeats)

    table = Table(title="bettiscope engine vs baselines (ratio = baseline time / engine time)")
    for column in (
        "case",
        "points",
        "engine s",
        "baseline",
        "baseline s",
        "ratio",
        "target",
        "Betti (engine)",
        "same",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["case"],
            str(row["points"]),
            f"{row['engine_s']:.3f}",
            row["baseline"],
            f"{row['baseline_s']:.3f}",
            f"{row['ratio']:.1f}x",
            row["target"],
            str(tuple(row["engine_betti"])),
            "yes" if row["same"] else "[red]NO[/]",
        )
    console.print(table)
    suffix = "_quick" if args.quick else ""
    path = atomic_write_json(
        args.out / f"betti_engine{suffix}.json",
        {
            "benchmark": "betti_engine",
            "argv": sys.argv[1:],
            "rows": rows,
            "environment": environment_info(),
        },
    )
    console.print(f"written {path}")
    return 0 if all(row["same"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
