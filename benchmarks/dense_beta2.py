"""Benchmark: beta_0..beta_2 of dense graphs, "auto" against the plain edge collapse, same run.

    .venv/bin/python benchmarks/dense_beta2.py           # synthetic dense graphs, ~3 min
    .venv/bin/python benchmarks/dense_beta2.py --cone    # + the densest cell of a cone-trained
                                                         #   D-II net (~10 min, ~5 GB)

On a dense graph (many triangles per edge) GUDHI's edge collapse can stall: a round removes few
edges, and the expansion of what is left holds millions to billions of 4-cliques. Since session
15 "auto" stops the collapse on a dense graph once a round removes < 10% of the edges and hands
beta_0..beta_2 of what is left to ripser, whose memory goes with the triangles. The baseline is
``method="collapse"`` (collapse until nothing more collapses, then GUDHI), the path "auto" took
before. Both must give the same numbers, or the same refusal.

Synthetic graphs: dense random graphs G(n, p) (the collapse removes nothing), a cross-polytope
graph beside an octahedron (the sphere S^71 and S^2: known answer (2, 0, 1); no edge is
dominated) and a dense cycle power (the collapse does *not* stall: "auto" must not be slower).

``--cone``: a width-15 cone MLP trained 300 full-batch epochs on D-II at lr 0.1 (seed 0), its
densest class cloud (hidden layer 8, class 0: ~1.1 million edges after the vertex reduction) at
knn-hop k=35, scale 2.5, stride 4. "auto" is timed whole; the baseline cannot finish here (each
collapse round takes ~15 s and removes ~0.1-1% of the edges for 40+ rounds, then the clique
count, ~5e9 4-cliques, is refused), so only its first ``--cone-rounds`` rounds are timed.

Prints a table and writes benchmarks/results/dense_beta2.json.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from rich.console import Console
from rich.table import Table

from bettiscope.storage import atomic_write_json, environment_info
from bettiscope.topology import (
    ComplexTooLargeError,
    betti_numbers,
    estimate_clique_counts,
    flag_complex_betti,
)

console = Console(width=160)


def random_graph(n: int, p: float, seed: int = 0) -> sp.csr_matrix:
    upper = np.triu(np.random.default_rng(seed).random((n, n)) < p, 1)
    return sp.csr_matrix(upper | upper.T)


def cross_polytope(parts: int) -> np.ndarray:
    graph = ~np.eye(2 * parts, dtype=bool)
    for i in range(parts):
        graph[2 * i, 2 * i + 1] = graph[2 * i + 1, 2 * i] = False
    return graph


def cycle_power(n: int, width: int) -> sp.csr_matrix:
    offsets = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    gap = np.minimum(offsets, n - offsets)
    return sp.csr_matrix((gap > 0) & (gap <= width))


def run(graph: sp.csr_matrix, method: str) -> tuple[Any, float]:
    started = time.perf_counter()
    try:
        result: Any = flag_complex_betti(graph, max_dim=2, method=method)[0]
    except ComplexTooLargeError:
        result = "refused"
    return result, time.perf_counter() - started


def synthetic_rows() -> list[dict[str, Any]]:
    graphs = {
        "G(250, 0.6)": random_graph(250, 0.6),
        "G(180, 0.8)": random_graph(180, 0.8),
        "G(160, 0.9)": random_graph(160, 0.9),
        "cross-polytope(72) + octahedron": sp.block_diag(
            [sp.csr_matrix(cross_polytope(72)), sp.csr_matrix(cross_polytope(3))]
        ).tocsr(),
        "cycle power (500, 120)": cycle_power(500, 120),
    }
    rows = []
    for name, graph in graphs.items():
        edges = graph.nnz // 2
        triangles = estimate_clique_counts(graph, 3)[2]
        baseline, baseline_seconds = run(graph, "collapse")
        auto, auto_seconds = run(graph, "auto")
        rows.append(
            {
                "graph": name,
                "edges": edges,
                "triangles_per_edge_bound": triangles / edges,
                "collapse": baseline,
                "collapse_seconds": baseline_seconds,
                "auto": auto,
                "auto_seconds": auto_seconds,
                "speedup": baseline_seconds / auto_seconds,
                "identical": baseline == auto,
            }
        )
        console.print(f"{name}: collapse {baseline_seconds:.2f} s, auto {auto_seconds:.2f} s")
    return rows


def cone_row(rounds: int) -> dict[str, Any]:
    import math

    import torch
    from gudhi.flag_filtration.edge_collapse import reduce_graph

    from bettiscope.experiments import mlp_task
    from bettiscope.probe import capture, predict
    from bettiscope.topology import (
        _pairs_to_graph,
        _upper_edges,
        dominated_vertices,
        hop_graph,
        knn_graph,
        subsample,
    )
    from bettiscope.training import TrainConfig, train

    torch.set_num_threads(1)
    task = mlp_task("D-II", val_fraction=0.0)
    model = task.build_model("cone", 0)
    train(model, task.train, TrainConfig(epochs=300, lr=0.1, lr_decay_steps=2500, seed=0))
    layer = "act8"
    points = capture(model, task.probe_inputs)[layer].numpy()
    points = points[predict(model, task.probe_inputs) == 0]
    measure = {"metric": "knn-hop", "k": 35, "scale": 2.5, "stride": 4, "max_dim": 2}
    started = time.perf_counter()
    auto = betti_numbers(points, **measure)
    auto_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # the baseline's first rounds, on the same vertex-reduced graph
    kept = subsample(points, stride=4)
    knn = knn_graph(kept, 35)
    keep = np.flatnonzero(~dominated_vertices(knn))
    graph = hop_graph(knn, math.floor(2.5))[keep][:, keep].tocsr()
    n = graph.shape[0]
    upper_rows, upper_cols = _upper_edges(graph)
    edges = sp.coo_matrix((np.zeros(len(upper_rows)), (upper_rows, upper_cols)), shape=(n, n))
    trail = [{"edges": int(edges.nnz), "seconds": 0.0}]
    for _ in range(rounds):
        round_started = time.perf_counter()
        edges = reduce_graph(edges, nb_iterations=1)
        trail.append({"edges": int(edges.nnz), "seconds": time.perf_counter() - round_started})
    return {
        "cell": f"cone D-II net, {layer}, class 0",
        "auto": list(auto),
        "auto_seconds": auto_seconds,
        "auto_edges_after_collapse": auto.n_edges_reduced,
        "peak_rss_mb": peak_mb,
        "collapse_rounds": trail,
        "collapse_seconds_timed": sum(r["seconds"] for r in trail),
        # GUDHI's edge list holds the upper edges with value 0: rebuild the symmetric graph
        "four_cliques_bound_after_rounds": estimate_clique_counts(
            _pairs_to_graph(edges.row.astype(np.int64), edges.col.astype(np.int64), n), 4
        )[3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cone", action="store_true", help="add the cone-trained D-II cell")
    parser.add_argument("--cone-rounds", type=int, default=5, help="baseline rounds timed")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/dense_beta2.json"))
    args = parser.parse_args()

    rows = synthetic_rows()
    table = Table(title="beta_0..beta_2 of dense graphs: auto vs collapse (GUDHI), same run")
    for column in ("graph", "edges", "tri / edge", "collapse s", "auto s", "ratio", "same"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["graph"],
            f"{row['edges']:,}",
            f"{row['triangles_per_edge_bound']:.0f}",
            f"{row['collapse_seconds']:.2f}",
            f"{row['auto_seconds']:.2f}",
            f"{row['speedup']:.1f}x",
            str(row["identical"]),
        )
    console.print(table)
    cone = cone_row(args.cone_rounds) if args.cone else None
    if cone is not None:
        timed = cone["collapse_rounds"]
        console.print(
            f"{cone['cell']}: auto {tuple(cone['auto'])} in {cone['auto_seconds']:.0f} s "
            f"(collapse stopped at {cone['auto_edges_after_collapse']:,} edges; peak RSS "
            f"{cone['peak_rss_mb']:,.0f} MB). Baseline: {len(timed) - 1} collapse rounds took "
            f"{cone['collapse_seconds_timed']:.0f} s, {timed[0]['edges']:,} -> "
            f"{timed[-1]['edges']:,} edges, still ~{cone['four_cliques_bound_after_rounds']:.1e} "
            "4-cliques by the bound (GUDHI's expansion would be refused)."
        )
    atomic_write_json(
        args.out,
        {
            "benchmark": "dense_beta2",
            "synthetic": rows,
            "cone": cone,
            "environment": environment_info(),
        },
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
