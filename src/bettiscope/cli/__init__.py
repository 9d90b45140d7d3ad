"""The `bettiscope` command line: parse, call the library, render. No logic lives here."""

from __future__ import annotations

from typing import Annotated

import typer

from bettiscope import __version__
from bettiscope.cli import betti as betti_cmd
from bettiscope.cli import compare as compare_cmd
from bettiscope.cli import data as data_cmd
from bettiscope.cli import demo as demo_cmd
from bettiscope.cli import prune as prune_cmd
from bettiscope.cli import report as report_cmd
from bettiscope.cli import trace as trace_cmd
from bettiscope.cli import train as train_cmd
from bettiscope.cli._common import state

app = typer.Typer(
    name="bettiscope",
    help="Look at neural networks through topology.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bettiscope {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """bettiscope: Betti numbers of data through the layers of neural networks."""
    state.quiet = quiet


app.command("betti")(betti_cmd.betti)
app.command("demo")(demo_cmd.demo)
app.command("report")(report_cmd.report)
app.command("trace")(trace_cmd.trace)
app.command("compare")(compare_cmd.compare)
app.command("train")(train_cmd.train_command)
app.add_typer(data_cmd.app, name="data")
app.command("prune")(prune_cmd.prune)


def main() -> None:
    """Console-script entry point."""
    app()
