"""`bettiscope betti FILE`: Betti numbers of a point-cloud file, whole or per class."""

from __future__ import annotations

import json
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bettiscope.cli._common import fail, make_progress, out_console, user_errors
from bettiscope.storage import load_point_cloud, to_jsonable
from bettiscope.topology import METRICS, betti_numbers

Metric = Enum(  # type: ignore[misc]  # members from the registry
    "Metric", {name.replace("-", "_"): name for name in METRICS}, type=str
)


def _resolve_params(
    meta: dict[str, Any],
    metric: str | None,
    scale: float | None,
    k: int | None,
    max_dim: int | None,
    stride: int | None,
) -> dict[str, Any]:
    """Command-line values win, then the file's recommended ("measure") ones, then defaults."""
    recommended = meta.get("measure", {}) if isinstance(meta, dict) else {}
    params = {
        "metric": metric or recommended.get("metric", "euclidean"),
        "scale": scale if scale is not None else recommended.get("scale"),
        "k": k if k is not None else recommended.get("k"),
        "max_dim": max_dim if max_dim is not None else recommended.get("max_dim", 1),
        "stride": stride if stride is not None else recommended.get("stride", 1),
    }
    if params["metric"] == "euclidean":
        if k is not None:
            fail("--k applies to --metric knn-hop only; drop it or add --metric knn-hop.")
        if metric == "euclidean" and recommended.get("metric") != "euclidean" and scale is None:
            params["scale"] = None  # a hop count is no Euclidean distance
        params["k"] = None
    elif params["k"] is None:
        params["k"] = 35
    if params["scale"] is None:
        if params["metric"] == "knn-hop":
            params["scale"] = 2.5
        else:
            fail("--scale is required for the euclidean metric (no recommended value in the file).")
    return params


def betti(
    file: Annotated[Path, typer.Argument(help="Point cloud: .npz (X, optional y), .npy or .csv.")],
    metric: Annotated[
        Metric | None, typer.Option(help="euclidean: distance <= scale; knn-hop: Naitzat method.")
    ] = None,
    scale: Annotated[
        float | None, typer.Option(help="Euclidean distance, or hops for knn-hop (2.5 = 2 hops).")
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", "-k", help="knn-hop neighbours, counting the point itself.")
    ] = None,
    max_dim: Annotated[int | None, typer.Option(help="Highest Betti number (default 1).")] = None,
    stride: Annotated[int | None, typer.Option(help="Keep every N-th point (default 1).")] = None,
    by_class: Annotated[
        bool, typer.Option("--by-class", help="One result per label (y, or last CSV column).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    no_dedupe: Annotated[
        bool, typer.Option("--no-dedupe", help="Keep exact duplicate points.")
    ] = False,
    origin_point: Annotated[
        bool,
        typer.Option(help="Reproduce the original Naitzat code's stray origin point (artefact)."),
    ] = False,
    memory_limit: Annotated[
        float | None, typer.Option(help="GiB allowed (default: half the available memory).")
    ] = None,
) -> None:
    """Betti numbers of the clique complex of a point cloud at one scale."""
    with user_errors():
        cloud = load_point_cloud(file, labels_in_last_column=by_class)
        params = _resolve_params(
            cloud.meta, metric.value if metric else None, scale, k, max_dim, stride
        )
        groups: dict[str, Any] = {"all": cloud.X}
        if by_class:
            if cloud.y is None:
                fail(f"{file}: --by-class needs labels (array 'y' in .npz, last column in .csv).")
            labels = [
                label.item() if hasattr(label, "item") else label
                for label in sorted(set(cloud.y.tolist()))
            ]
            groups = {str(label): cloud.X[cloud.y == label] for label in labels}
        options: dict[str, Any] = {
            "dedupe": not no_dedupe,
            "origin_point": origin_point,
            "memory_limit": memory_limit,
        }
        started = time.perf_counter()
        results = {}
        with make_progress() as progress:
            task = progress.add_task("Betti numbers", total=len(groups))
            for label, points in groups.items():
                progress.update(task, description=f"class {label}: {len(points):,} points")
                try:
                    results[label] = betti_numbers(points, **params, **options)
                except ValueError as error:
                    prefix = f"class {label}: " if by_class else ""
                    fail(f"{file}: {prefix}{error}")
                progress.advance(task)
        seconds = time.perf_counter() - started
    if as_json:
        payload = {
            "betti": {label: list(result) for label, result in results.items()},
            "n_points": {label: result.n_points for label, result in results.items()},
            "n_input": {label: result.n_input for label, result in results.items()},
            "seconds": seconds,
            "params": {**params, **options, "file": str(file)},
        }
        typer.echo(json.dumps(to_jsonable(payload)))
        return
    dims = params["max_dim"] + 1
    table = Table(title=f"Betti numbers of {file.name}", caption=_describe(params, seconds))
    table.add_column("class")
    table.add_column("points used", justify="right")
    for dim in range(dims):
        table.add_column(f"b{dim}", justify="right")
    for label, result in results.items():
        table.add_row(label, f"{result.n_points:,}", *(str(b) for b in result))
    out_console.print(table)


def _describe(params: dict[str, Any], seconds: float) -> str:
    metric = params["metric"]
    detail = f"k={params['k']}, " if metric == "knn-hop" else ""
    return (
        f"{metric}, {detail}scale={params['scale']:g}, stride={params['stride']}; {seconds:.2f} s"
    )
