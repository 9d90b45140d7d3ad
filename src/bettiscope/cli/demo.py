"""`bettiscope demo`: the main job on the embedded offline default (what `make run` runs)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bettiscope.cli._common import make_progress, out_console, user_errors
from bettiscope.demo import run_demo


def demo(
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/<timestamp>).")] = None,
) -> None:
    """Run the whole study offline and write a report."""
    out = out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    with user_errors(), make_progress() as progress:
        task = progress.add_task("demo", total=None)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=total)

        results = run_demo(out, progress=report)
    table = Table(title="Betti numbers of built-in shapes (max_dim 2)")
    for column in ("shape", "metric", "scale", "k", "points", "true", "measured", "match"):
        table.add_column(column)
    for row in results["shapes"]:
        table.add_row(
            row["name"],
            row["metric"],
            f"{row['scale']:g}",
            str(row["k"] or ""),
            str(row["n_points"]),
            str(tuple(row["true_betti"])),
            str(tuple(row["measured"])),
            "[green]yes[/]" if row["match"] else "[red]NO[/]",
        )
    out_console.print(table)
    out_console.print(f"Report: {out / 'report.md'}; results: {out / 'results.json'}")
