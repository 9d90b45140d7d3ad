"""`bettiscope report DIR`: re-render a run's report.html from its saved results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bettiscope.cli._common import out_console, user_errors
from bettiscope.report import render_report


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder made by bettiscope demo.")],
    out: Annotated[
        Path | None, typer.Option(help="Write the HTML here (default DIR/report.html).")
    ] = None,
) -> None:
    """Re-render DIR/report.html from DIR/results.json and the saved figures."""
    with user_errors():
        path = render_report(run_dir, out=out)
    out_console.print(f"Report: {path}")
