"""Benchmark: Betti scores of every filter of the default CNN on 500 images, vs ripser per filter.

    .venv/bin/python benchmarks/filter_scoring.py            # the default CNN on digits
    .venv/bin/python benchmarks/filter_scoring.py --quick    # 200 images, smoke test

The model is the default VGG-style CNN (``CNNConfig`` widths 16, 32, 32, 64) on 8x8 digits,
trained for a few epochs here (or ``--checkpoint`` a saved one); 500 training images are the
sample. The score is the library default: beta_0 of each filter's point cloud (500 maps, each
flattened to R^(H*W)) at 0.4 RMS pairwise distances, duplicates removed first.

Contenders, all single-threaded (BLAS and torch limited to one thread), on the same maps:

1. **bettiscope** ``BettiScorer().score(model, images)``: forward pass (all layers at once) plus
   the batched exact kernel; also with ``n_jobs=2`` worker processes.
2. **ripser, plain** -- the target's baseline: ``ripser.ripser(cloud, maxdim=0)`` once per filter
   (the full Vietoris-Rips diagram, as the library is usually called), then the bars alive at
   the scale. Too slow to run on all filters by default: it is timed on a fixed random subset
   (seeded, the same number per layer) and extrapolated per layer; ``--full`` runs it on all.
3. **ripser, thresholded** -- the same call with ``thresh=eps`` (the cheapest correct use of
   ripser), on every filter.
4. **engine per filter** -- ``bettiscope.topology.betti_numbers`` once per filter.

Baselines 2-4 reuse bettiscope's captured maps and get the forward-pass time added, so every
row is end to end. Every baseline number is compared with bettiscope's (identical or the run
fails). Prints a table with ratios; writes benchmarks/results/filter_scoring.json and .png.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import ripser
import torch
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from bettiscope.datasets.images import load_image_dataset
from bettiscope.models.cnn import CNNConfig, build_cnn, load_model
from bettiscope.pruning import BettiScorer, capture_maps, conv_layers
from bettiscope.pruning._kernel import rms_pairwise_distance
from bettiscope.storage import atomic_write_json, environment_info, pyplot, save_figure
from bettiscope.topology import betti_numbers, subsample
from bettiscope.training import TrainConfig, train

console = Console(width=160)
SCALE = 0.4  # the BettiConfig default, in RMS pairwise distances


def default_model(epochs: int, seed: int) -> tuple[torch.nn.Module, Any]:
    data = load_image_dataset("digits", seed=seed)
    cfg = CNNConfig(in_channels=1, num_classes=data.num_classes, input_size=data.input_size)
    torch.manual_seed(seed)
    model = build_cnn(cfg)
    train(
        model,
        data.train,
        TrainConfig(epochs=epochs, lr=0.003, batch_size=64, seed=seed, target_train_acc=None),
    )
    return model.eval(), data


def clouds_of(maps: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """(N, C, H, W) per layer -> (C, N, H*W) float64: one point cloud per filter."""
    return {
        name: m.reshape(m.shape[0], m.shape[1], -1).transpose(0, 1).double().numpy()
        for name, m in maps.items()
    }


def scale_of(cloud: np.ndarray) -> tuple[np.ndarray, float]:
    """Duplicates removed (as the engine does) and eps = 0.4 RMS pairwise distances."""
    kept = subsample(cloud)
    return kept, SCALE * rms_pairwise_distance(kept)


def ripser_plain(cloud: np.ndarray) -> int:
    kept, eps = scale_of(cloud)
    if len(kept) < 2:
        return 1
    h0 = ripser.ripser(kept, maxdim=0)["dgms"][0]
    return int(np.sum(h0[:, 1] > eps))  # bars born at 0 and alive at eps


def ripser_thresholded(cloud: np.ndarray) -> int:
    kept, eps = scale_of(cloud)
    if len(kept) < 2:
        return 1
    h0 = ripser.ripser(kept, maxdim=0, thresh=eps)["dgms"][0]
    return int(np.isinf(h0[:, 1]).sum())


def engine_per_filter(cloud: np.ndarray) -> int:
    kept, eps = scale_of(cloud)
    if len(kept) < 2:
        return 1
    return int(betti_numbers(kept, scale=eps, max_dim=0, dedupe=False)[0])


def run_baseline(fn, clouds, subset) -> tuple[dict[tuple[str, int], int], dict[str, float]]:
    """Scores and seconds per filter, per layer, for the (layer, filter) pairs in ``subset``."""
    scores, seconds = {}, {}
    for name, cloud in clouds.items():
        picked = subset[name]
        started = time.perf_counter()
        for f in picked:
            scores[(name, f)] = fn(cloud[f])
        seconds[name] = (time.perf_counter() - started) / max(len(picked), 1)
    return scores, seconds


def draw(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    labels = [row["method"] for row in rows]
    values = [row["seconds"] for row in rows]
    colors = ["#1f77b4" if row["method"].startswith("bettiscope") else "#999999" for row in rows]
    bars = ax.barh(labels, values, color=colors)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("seconds to score every filter (log scale; lower is better)")
    for bar, row in zip(bars, rows, strict=True):
        note = f"{row['seconds']:.3g} s" + ("" if row["ratio"] is None else f"  ({row['ratio']})")
        if row.get("extrapolated"):
            note += "  extrapolated"
        ax.text(bar.get_width() * 1.1, bar.get_y() + bar.get_height() / 2, note, va="center")
    ax.set_xlim(min(values) / 2, max(values) * 30)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 images, 2 filters per layer")
    parser.add_argument("--samples", type=int, default=500, help="images (default 500)")
    parser.add_argument("--checkpoint", type=Path, help="a save_model file instead of training")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    parser.add_argument("--subset", type=int, default=4, help="plain-ripser filters per layer")
    parser.add_argument("--full", action="store_true", help="plain ripser on every filter")
    parser.add_argument("--repeats", type=int, default=3, help="bettiscope repeats (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.subset, args.repeats = 200, 2, 1
    torch.set_num_threads(1)

    if args.checkpoint:
        model, _ = load_model(args.checkpoint)
        data = load_image_dataset("digits", seed=args.seed)
    else:
        console.print(f"training the default CNN on digits for {args.epochs} epochs ...")
        model, data = default_model(args.epochs, args.seed)
    rng = np.random.default_rng(args.seed)
    X_train = data.train[0]
    images = X_train[rng.choice(len(X_train), size=min(args.samples, len(X_train)), replace=False)]
    layers = conv_layers(model)
    n_filters = {name: conv.out_channels for name, conv in layers}
    total_filters = sum(n_filters.values())
    console.print(
        f"{len(images)} images, {len(layers)} conv layers, {total_filters} filters "
        f"({', '.join(f'{n}: {c}' for n, c in n_filters.items())})"
    )

    with threadpool_limits(1):
        # -- bettiscope, end to end (forward pass + kernel) ------------------------------------
        ours, times = None, []
        for _ in range(args.repeats):
            started = time.perf_counter()
            ours = BettiScorer().score(model, images)
            times.append(time.perf_counter() - started)
        ours_seconds = statistics.median(times)
        parallel_times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            parallel = BettiScorer(n_jobs=2).score(model, images)
            parallel_times.append(time.perf_counter() - started)
        parallel_seconds = statistics.median(parallel_times)
        for name in n_filters:
            if not np.array_equal(parallel.scores[name], ours.scores[name]):
                console.print(f"[red]n_jobs=2 differs from n_jobs=1 on {name}[/]")
                return 1

        # -- shared forward pass for the baselines --------------------------------------------
        started = time.perf_counter()
        maps = capture_maps(model, images, layers)
        forward_seconds = time.perf_counter() - started
        clouds = clouds_of(maps)
        everything = {name: list(range(c)) for name, c in n_filters.items()}
        if args.full:
            subset = everything
        else:
            subset = {
                name: sorted(rng.choice(c, size=min(args.subset, c), replace=False).tolist())
                for name, c in n_filters.items()
            }
        results = {}
        for label, fn, picked in (
            ("ripser, plain (full diagram)", ripser_plain, subset),
            ("ripser, thresholded (thresh=eps)", ripser_thresholded, everything),
            ("engine per filter (betti_numbers)", engine_per_filter, everything),
        ):
            console.print(f"timing {label} on {sum(len(v) for v in picked.values())} filters ...")
            results[label] = (*run_baseline(fn, clouds, picked), picked)

    rows = [
        {
            "method": "bettiscope BettiScorer (1 process)",
            "seconds": ours_seconds,
            "filters_timed": total_filters,
            "extrapolated": False,
            "identical": True,
        },
        {
            "method": "bettiscope BettiScorer (n_jobs=2)",
            "seconds": parallel_seconds,
            "filters_timed": total_filters,
            "extrapolated": False,
            "identical": True,
        },
    ]
    identical_all = True
    for label, (scores, per_filter, picked) in results.items():
        mismatches = [
            (name, f, value, ours.scores[name][f])
            for (name, f), value in scores.items()
            if value != ours.scores[name][f]
        ]
        identical_all &= not mismatches
        seconds = forward_seconds + sum(per_filter[name] * n_filters[name] for name in n_filters)
        timed = sum(len(v) for v in picked.values())
        rows.append(
            {
                "method": label,
                "seconds": seconds,
                "filters_timed": timed,
                "extrapolated": timed < total_filters,
                "identical": not mismatches,
                "mismatches": [list(map(str, m)) for m in mismatches[:10]],
            }
        )
    for row in rows[:2]:
        row["ratio"] = None
    for row in rows[2:]:
        row["ratio"] = f"{row['seconds'] / ours_seconds:.1f}x vs 1 process"
        row["speedup_1_process"] = row["seconds"] / ours_seconds
        row["speedup_2_processes"] = row["seconds"] / parallel_seconds

    table = Table(title="Betti scores (beta_0 at 0.4 RMS) of every filter, 500 digits images")
    for column in ("method", "filters timed", "seconds", "ms / filter", "bettiscope is", "same"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in rows:
        faster = (
            ""
            if "speedup_1_process" not in row
            else (f"{row['speedup_1_process']:.1f}x (2 proc: {row['speedup_2_processes']:.1f}x)")
        )
        table.add_row(
            row["method"],
            f"{row['filters_timed']}" + (" (extrapolated)" if row["extrapolated"] else ""),
            f"{row['seconds']:.3f}",
            f"{1000 * row['seconds'] / total_filters:.2f}",
            faster,
            "yes" if row["identical"] else "NO",
        )
    console.print(table)
    console.print(
        f"forward pass (capture, all layers): {forward_seconds * 1000:.1f} ms, included in every "
        "row. Plain ripser: timed on a fixed random subset per layer and extrapolated per layer"
        if not args.full
        else f"forward pass: {forward_seconds * 1000:.1f} ms, included in every row."
    )
    plain = rows[2]
    console.print(
        f"target: >= 20x faster than plain ripser per filter -> {plain['speedup_1_process']:.1f}x "
        f"(1 process), {plain['speedup_2_processes']:.1f}x (2 processes); identical numbers: "
        f"{identical_all}"
    )
    payload = {
        "benchmark": "filter_scoring",
        "images": len(images),
        "layers": n_filters,
        "score": "beta_0 at 0.4 RMS pairwise distances (BettiConfig defaults)",
        "forward_seconds": forward_seconds,
        "repeats": args.repeats,
        "bettiscope_seconds_runs": times,
        "bettiscope_parallel_seconds_runs": parallel_times,
        "plain_ripser_subset": subset,
        "rows": rows,
        "identical": identical_all,
        "score_range": {k: [float(v.min()), float(v.max())] for k, v in ours.scores.items()},
        "note": "single-threaded BLAS/torch; machine shared with other jobs (timings noisy)",
        "command": " ".join(["benchmarks/filter_scoring.py", *(argv or sys.argv[1:])]),
        "environment": environment_info(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    atomic_write_json(args.out / f"filter_scoring{suffix}.json", payload)
    draw(
        rows,
        args.out / f"filter_scoring{suffix}.png",
        f"Betti scores of all {total_filters} filters of the default CNN, {len(images)} images",
    )
    return 0 if identical_all else 1


if __name__ == "__main__":
    sys.exit(main())
