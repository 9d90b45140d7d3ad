"""`bettiscope data`: list, make and plot the built-in data sets of known topology."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bettiscope.cli._common import fail, out_console, user_errors
from bettiscope.datasets.registry import (
    DATASETS,
    get_spec,
    load_dataset,
    parse_param_value,
    plot_dataset,
    save_dataset,
)
from bettiscope.storage import to_jsonable

app = typer.Typer(
    help="Synthetic data sets with known Betti numbers: list, make, plot.",
    no_args_is_help=True,
)


#: What `data plot` reads: the point-cloud files that carry class labels.
PLOT_SUFFIXES = (".npz", ".csv", ".txt")


def _format_betti(true_betti: dict[int, tuple[int, ...]]) -> str:
    return " / ".join(f"{label}: {tuple(b)}" for label, b in true_betti.items())


def _format_measure(measure: dict[str, Any]) -> str:
    k = f" k={measure['k']}" if measure.get("metric") == "knn-hop" else ""
    return (
        f"{measure['metric']}{k} scale={measure['scale']:g} stride={measure['stride']} "
        f"max_dim={measure['max_dim']}"
    )


@app.command("list")
def list_datasets(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Names, dimensions, sizes, true Betti numbers and measurement parameters (defaults)."""
    rows: list[dict[str, Any]] = []
    with user_errors():
        for name, spec in DATASETS.items():
            data = spec.make()
            rows.append(
                {
                    "name": name,
                    "dim": spec.dim,
                    "n_points": data.n_points,
                    "class_sizes": data.class_sizes(),
                    "true_betti": {str(k): list(v) for k, v in data.true_betti.items()},
                    "measure": data.measure,
                    "params": spec.defaults,
                    "summary": spec.summary,
                }
            )
    if as_json:
        typer.echo(json.dumps(to_jsonable(rows)))
        return
    table = Table(title="Built-in data sets (defaults; class a = 0, class b = 1)")
    for column in ("name", "dim", "points", "true Betti (a / b)", "measure", "geometry"):
        table.add_column(column, overflow="fold")
    for row in rows:
        betti = " / ".join(str(tuple(b)) for b in row["true_betti"].values())
        table.add_row(
            row["name"],
            str(row["dim"]),
            f"{row['n_points']:,}",
            betti,
            _format_measure(row["measure"]),
            row["summary"],
        )
    out_console.print(table)


def _parse_params(name: str, pairs: list[str]) -> dict[str, Any]:
    spec = get_spec(name)
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param expects key=value (e.g. --param n=10); got {pair!r}.")
        params[key.strip()] = parse_param_value(spec, key.strip(), value.strip())
    return params


@app.command("make")
def make(
    name: Annotated[str, typer.Argument(help="Data set name (see `bettiscope data list`).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .npz file.")],
    seed: Annotated[int, typer.Option(help="Seed of the generator's random parts.")] = 0,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Generator parameter as key=value; repeat for several."),
    ] = None,
) -> None:
    """Generate a data set and write X, y and meta (truth, measure, params) to an .npz file."""
    with user_errors():
        if out.suffix.lower() != ".npz":
            fail(f"--out must name an .npz file; got {str(out)!r}.")
        params = _parse_params(name, param or [])
        data = load_dataset(name, seed=seed, **params)
        save_dataset(data, out)
    out_console.print(
        f"wrote {out}: {data.name}, {data.n_points:,} points in {data.dim}-D; true Betti "
        f"{_format_betti(data.true_betti)}; measure {_format_measure(data.measure)}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("plot")
def plot(
    file: Annotated[
        Path,
        typer.Argument(
            help="Labelled .npz (from `data make`: arrays X and y) or .csv / .txt file (labels in "
            "the last column)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Image file (.png, .pdf, .svg).")],
    max_points: Annotated[
        int, typer.Option(help="Plot a random subset of at most this many points.")
    ] = 20000,
) -> None:
    """Scatter plot (2-D or 3-D) of a labelled point-cloud file, coloured by class."""
    with user_errors():
        if out.suffix.lower() not in (".png", ".pdf", ".svg"):
            fail(f"--out must end in .png, .pdf or .svg; got {str(out)!r}.")
        # the loader also reads .npy, which has no labels to colour by: say so up front
        if file.suffix.lower() not in PLOT_SUFFIXES:
            fail(
                f"{file}: give a labelled .npz (from `data make`) or .csv / .txt file (labels in "
                f"the last column); got {repr(file.suffix) if file.suffix else 'no suffix'}."
            )
        data = load_dataset(file)
        plot_dataset(data, out, max_points=max_points)
    out_console.print(f"wrote {out}", highlight=False)
