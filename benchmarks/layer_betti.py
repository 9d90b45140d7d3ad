"""Benchmark: per-layer, per-class Betti numbers of an 11-layer MLP on D-II at one checkpoint.

    .venv/bin/python benchmarks/layer_betti.py            # full D-II (45,000 points), ~5 min
    .venv/bin/python benchmarks/layer_betti.py --quick    # 1,000 points per torus, ~1 min
    .venv/bin/python benchmarks/layer_betti.py --activation cone --lr 0.1 --methods strong,auto
                                                          # dense layers where edge collapse stalls

Target (issue 4): beta_0..beta_1 of every representation (input, 9 hidden layers, logits) of each
class (split by predicted label) of a width-15, 10-layer ReLU MLP on D-II, knn-hop k=35, scale
2.5, stride 4, in <= 30 s per checkpoint on the 2-core development machine. The original
Naitzat pipeline (Julia + Eirene) needed up to 30 minutes per Betti number per layer; it cannot
run here, so the in-run baseline is GUDHI's flag complex without edge collapse
(``method="plain"``) on the same clouds, timed on a few cells (all 22 would take minutes).

The network is trained (full-batch Adam, lr 0.02, seed 0) for ``--epochs`` epochs first so the
layers are those of a network in training, not of a random one. Each engine method is timed on the
whole checkpoint (22 cells); all methods must give identical Betti numbers. "legacy" is the engine
as it was before the probing-overhead work (commit 71de520: scikit-learn kNN, int32 hop products,
GUDHI simplex tree of the whole graph, edge collapse), copied below and timed in the same run;
"strong" deletes the dominated kNN vertices, then edge-collapses; "auto" is the current engine,
"strong" except that beta_1 of a dense graph (many triangles per edge) goes to ripser (the edge
collapse stalls on the deep layers of a cone-trained net: ``--activation cone --lr 0.1``); "auto, 2
workers" measures the cells in two processes (only useful with idle cores). ``--methods`` picks
the rows; the first row is the reference the others must match and are compared with.

Last, one pass of "auto" over the same cells is split by stage (kNN graph; hop graph and
dominated-vertex reduction; homology) and set against this run's seconds per full-batch epoch:
the kNN graphs are a floor for any exact knn-hop probe at these parameters, and the table says
how many epochs a checkpoint, and each stage, is worth.

Prints a table with the ratios and writes benchmarks/results/layer_betti.json.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from rich.console import Console
from rich.table import Table
from scipy.sparse.csgraph import connected_components

import bettiscope.probe
from bettiscope.experiments import mlp_task
from bettiscope.probe import capture, layer_betti, predict
from bettiscope.storage import atomic_write_json, environment_info
from bettiscope.topology import (
    METHODS,
    BettiResult,
    _betti_from_simplex_tree,
    _flag_betti,
    _memory_budget,
    _pairs_to_graph,
    betti_numbers,
    dominated_vertices,
    hop_graph,
    knn_graph,
    subsample,
)
from bettiscope.training import TrainConfig, train

console = Console(width=160)
TARGET_SECONDS = 30.0
MEASURE = {"metric": "knn-hop", "k": 35, "scale": 2.5, "stride": 4, "max_dim": 1}


def legacy_betti_numbers(
    points: Any,
    *,
    metric: str = "knn-hop",
    k: int,
    scale: float,
    stride: int = 1,
    max_dim: int = 1,
    **_: Any,
) -> BettiResult:
    """The engine before the probing-overhead work (commit 71de520), knn-hop only, for timing.

    scikit-learn kNN graph, hop graph by int32 sparse products, a GUDHI simplex tree of the whole
    graph, ``collapse_edges`` until stable, the edge listing, expansion and persistence.
    """
    import gudhi
    from sklearn.neighbors import NearestNeighbors

    if metric != "knn-hop":
        raise ValueError("legacy_betti_numbers: knn-hop only")
    started = time.perf_counter()
    X = subsample(np.asarray(points, dtype=np.float64), stride=stride)
    n = len(X)
    if k >= n:
        raise ValueError(f"legacy_betti_numbers: k={k} >= {n} points")
    nb = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X, return_distance=False)
    is_self = nb == np.arange(n)[:, None]
    others = np.where(is_self, -1, nb)
    others[~is_self.any(axis=1), -1] = -1
    rows, cols = np.repeat(np.arange(n), k), others.ravel()
    graph = _pairs_to_graph(rows[cols >= 0], cols[cols >= 0], n)
    closed = (graph + sp.identity(n, dtype=bool, format="csr")).astype(np.int32)
    reach = closed
    for _ in range(math.floor(scale) - 1):
        reach = closed @ reach
        reach.data[:] = 1
    graph = reach.astype(bool).tocsr()
    graph = graph.maximum(graph.T).tocsr()
    graph.setdiag(False)
    graph.eliminate_zeros()
    beta_0 = int(connected_components(graph, directed=False)[0])
    upper = sp.triu(graph, k=1).tocoo()
    tree = gudhi.SimplexTree()
    tree.insert_batch(np.arange(n, dtype=np.int64)[None, :], np.zeros(n))
    tree.insert_batch(np.stack([upper.row, upper.col]).astype(np.int64), np.zeros(upper.nnz))
    size = tree.num_simplices()
    for _ in range(200):
        tree.collapse_edges(1)
        if tree.num_simplices() == size:
            break
        size = tree.num_simplices()
    n_reduced = sum(1 for s, _ in tree.get_skeleton(1) if len(s) == 2)
    tree.expansion(max_dim + 1)
    betti = _betti_from_simplex_tree(tree, max_dim)
    betti[0] = beta_0
    return BettiResult(
        betti,
        n_input=len(points),
        n_points=n,
        n_edges=upper.nnz,
        n_edges_reduced=n_reduced,
        seconds=time.perf_counter() - started,
        params={"metric": metric, "k": k, "scale": scale, "stride": stride, "method": "legacy"},
    )


@contextlib.contextmanager
def legacy_engine() -> Iterator[None]:
    """Make :mod:`bettiscope.probe` use :func:`legacy_betti_numbers` (in this process)."""
    current = bettiscope.probe.betti_numbers
    bettiscope.probe.betti_numbers = legacy_betti_numbers
    try:
        yield
    finally:
        bettiscope.probe.betti_numbers = current


def warm_pool(workers: int) -> None:
    """Start the probe's worker processes (imports included) before anything is timed."""
    pool = bettiscope.probe._pool(workers)
    tiny = np.zeros((1, 2))
    futures = [pool.submit(bettiscope.probe._class_betti, tiny, MEASURE) for _ in range(workers)]
    for future in futures:
        future.result()


def stage_seconds(
    reps: dict[str, torch.Tensor], labels: np.ndarray
) -> tuple[dict[str, float], dict[str, list[list[int]]]]:
    """Seconds per engine stage ("auto"), summed over a checkpoint's cells, and the numbers.

    Stages: the kNN graph (what any exact knn-hop method needs, and all a beta_0-only trace
    needs), the hop graph with the dominated-vertex reduction, and the homology of the reduced
    graph (edge collapse and GUDHI, or ripser for dense graphs).
    """
    seconds = {"knn": 0.0, "hop_and_reduction": 0.0, "homology": 0.0}
    betti: dict[str, list[list[int]]] = {}
    budget = _memory_budget(None)
    for c in (0, 1):
        for rep in reps.values():
            points = rep.numpy()[labels == c]
            started = time.perf_counter()
            kept = subsample(points, stride=MEASURE["stride"])
            knn = knn_graph(kept, MEASURE["k"])
            after_knn = time.perf_counter()
            graph = hop_graph(knn, math.floor(MEASURE["scale"]))
            keep = np.flatnonzero(~dominated_vertices(knn))
            reduced = graph[keep][:, keep].tocsr()
            after_hop = time.perf_counter()
            numbers, _ = _flag_betti(reduced, MEASURE["max_dim"], "auto", budget)
            done = time.perf_counter()
            seconds["knn"] += after_knn - started
            seconds["hop_and_reduction"] += after_hop - after_knn
            seconds["homology"] += done - after_hop
            betti.setdefault(str(c), []).append(list(numbers))
    return seconds, betti


def machine_load() -> dict[str, Any]:
    """Load averages and cores, to be read beside the timings (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return {"loadavg_1_5_15": [one, five, fifteen], "cpu_count": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 points per torus, 30 epochs")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 300)")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats per method")
    parser.add_argument("--baseline-cells", type=int, default=2, help="cells timed with plain")
    parser.add_argument(
        "--methods",
        default="legacy,auto,strong,collapse",
        help="rows among legacy, auto, strong, collapse, ripser (the first is the reference)",
    )
    parser.add_argument("--activation", default="relu", help="MLP activation (registry name)")
    parser.add_argument("--lr", type=float, default=0.02, help="learning rate of the training")
    parser.add_argument("--workers", type=int, default=2, help="workers of the parallel row")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/layer_betti.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    params = {"points_per_torus": 1000} if args.quick else {}
    epochs = args.epochs if args.epochs is not None else (30 if args.quick else 300)
    task = mlp_task("D-II", val_fraction=0.0, dataset_params=params)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - ({"legacy", *METHODS} - {"plain"}))
    if unknown or not methods:
        parser.error(f"--methods: unknown {unknown or 'empty list'}")
    model = task.build_model(args.activation, 0)
    started = time.perf_counter()
    history = train(
        model, task.train, TrainConfig(epochs=epochs, lr=args.lr, lr_decay_steps=2500, seed=0)
    )
    train_seconds = time.perf_counter() - started
    X = task.probe_inputs
    console.print(
        f"D-II {len(X):,} points; {args.activation} MLP 15 x 9 + 2 logits trained "
        f"{history.epochs} epochs at lr {args.lr} "
        f"({train_seconds:.1f} s, train accuracy {history.records[-1].train_acc:.4f})"
    )

    load_before = machine_load()
    rows: list[dict[str, Any]] = []
    reference = None
    variants = [(m, "collapse" if m == "legacy" else m, 1) for m in methods]
    if args.workers > 1 and "auto" in methods:
        variants.append((f"auto, {args.workers} workers", "auto", args.workers))
    for label, method, workers in variants:
        if workers > 1:
            warm_pool(workers)
        times, result = [], None
        for _ in range(args.repeats):
            context = legacy_engine() if label == "legacy" else contextlib.nullcontext()
            with context:
                result = layer_betti(
                    model, X, measure={**MEASURE, "method": method}, workers=workers
                )
            times.append(result.seconds)
        if reference is None:
            reference = result
        same = result.betti == reference.betti
        rows.append(
            {
                "method": label,
                "workers": workers,
                "seconds_per_checkpoint": statistics.median(times),
                "times": times,
                "cells": len(result.layers) * len(result.classes),
                "identical_to_reference": same,
            }
        )
    reference_seconds = rows[0]["seconds_per_checkpoint"]
    for row in rows:
        row["speedup_vs_reference"] = reference_seconds / row["seconds_per_checkpoint"]

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
        engine = betti_numbers(points, **MEASURE)
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

    # where a checkpoint's time goes, against the training it would be traced in: the kNN
    # graphs are a floor for any exact knn-hop probe at these parameters
    stages, stage_betti = stage_seconds(reps, labels)
    # median over epochs: the first epochs of a process pay one-off start-up costs
    epoch_seconds = statistics.median(record.seconds for record in history.records)

    best = min(rows, key=lambda r: r["seconds_per_checkpoint"])
    load_after = machine_load()
    table = Table(title="Per-layer, per-class b0..b1 of D-II, one checkpoint (22 cells)")
    for column in (
        "method",
        "s / checkpoint",
        f"{rows[0]['method']} / this",
        "target 30 s: ratio",
        f"identical to {rows[0]['method']}",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["method"],
            f"{row['seconds_per_checkpoint']:.1f}",
            f"{row['speedup_vs_reference']:.2f}x",
            f"{row['seconds_per_checkpoint'] / TARGET_SECONDS:.2f}",
            str(row["identical_to_reference"]),
        )
    console.print(table)
    cell_table = Table(title="Same cells: engine (auto) vs GUDHI without collapse (plain)")
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
    console.print(f"Betti numbers: {per_class}")
    stage_table = Table(
        title=f"Where a checkpoint goes (auto, 1 process), against {epoch_seconds * 1000:.1f} ms "
        "per full-batch epoch of this run's training"
    )
    for column in ("stage", "s / checkpoint", "share", "full-batch epochs"):
        stage_table.add_column(column, justify="right")
    total = sum(stages.values())
    for stage, value in [*stages.items(), ("total", total)]:
        stage_table.add_row(
            stage, f"{value:.2f}", f"{value / total:.0%}", f"{value / epoch_seconds:,.0f}"
        )
    console.print(stage_table)
    console.print(
        f"A trace every 10 epochs costs less than full-batch training only below "
        f"{10 * epoch_seconds:.2f} s per checkpoint; the kNN graphs alone take "
        f"{stages['knn']:.2f} s ({stages['knn'] / (10 * epoch_seconds):.1f}x that). Stage "
        f"breakdown numbers identical to the reference: {stage_betti == per_class}."
    )
    console.print(
        f"Fastest: {best['method']}: {best['seconds_per_checkpoint']:.1f} s per checkpoint "
        f"= {best['seconds_per_checkpoint'] / TARGET_SECONDS:.2f} x the 30 s target "
        f"(machine shared with other jobs, load {load_before['loadavg_1_5_15'][0]:.1f} before, "
        f"{load_after['loadavg_1_5_15'][0]:.1f} after on {load_after['cpu_count']} cores: "
        "timings are upper bounds; compare the ratios)."
    )
    atomic_write_json(
        args.out,
        {
            "benchmark": "layer_betti",
            "quick": args.quick,
            "dataset": {"name": "D-II", "params": params, "n_points": len(X)},
            "model": {
                "activation": args.activation,
                "width": 15,
                "depth": 10,
                "epochs": history.epochs,
                "lr": args.lr,
            },
            "train_accuracy": history.records[-1].train_acc,
            "measure": MEASURE,
            "target_seconds": TARGET_SECONDS,
            "methods": rows,
            "baseline_plain": baseline,
            "train_seconds_per_epoch": epoch_seconds,
            "stage_seconds_per_checkpoint": stages,
            "stages_identical_to_reference": stage_betti == per_class,
            "betti": per_class,
            "machine_load": {"before": load_before, "after": load_after},
            "n_points": {str(c): reference.n_points[c] for c in reference.classes},
            "environment": environment_info(),
        },
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
