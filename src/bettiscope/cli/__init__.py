"""The `bettiscope` command line: parse, call the library, render. No logic lives here."""

from __future__ import annotations

import importlib
import signal
import sys
from types import FrameType
from typing import Annotated

import typer

from bettiscope import __version__
from bettiscope.cli._common import state

#: name -> (module in bettiscope.cli, attribute, is a sub-app). Modules are imported only when
#: their command runs: several pull in torch, which costs seconds of start-up that `betti` and
#: `data` do not need.
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "betti": ("betti", "betti", False),
    "data": ("data", "app", True),
    "trace": ("trace", "trace", False),
    "compare": ("compare", "compare", False),
    "export-results": ("compare", "export_results", False),
    "train": ("train", "train_command", False),
    "prune": ("prune", "prune", False),
    "demo": ("demo", "demo", False),
    "report": ("report", "report", False),
    "speedup": ("speedup", "speedup", False),
    "speedup-plot": ("speedup", "speedup_plot", False),
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bettiscope {__version__}")
        raise typer.Exit()


def root(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """bettiscope: Betti numbers of data through the layers of neural networks."""
    state.quiet = quiet


def build_app(only: str | None = None) -> typer.Typer:
    """The Typer application with every command, or only the command ``only``."""
    application = typer.Typer(
        name="bettiscope",
        help="Look at neural networks through topology.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        add_completion=False,
    )
    application.callback()(root)  # a callback keeps it a group even with one command
    for name, (module_name, attribute, is_group) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(f"bettiscope.cli.{module_name}"), attribute)
        if is_group:
            application.add_typer(target, name=name)
        else:
            application.command(name)(target)
    return application


def __getattr__(name: str) -> typer.Typer:
    # `from bettiscope.cli import app` (tests, embedding) gets the full application, built once.
    if name == "app":
        application = build_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _interrupt_on_sigterm() -> None:
    """Make SIGTERM stop a command the way Ctrl-C does.

    ``kill``, ``timeout`` and cluster schedulers (SLURM's ``scancel``, a job's time limit) send
    SIGTERM, which by default ends the process at once: the clean-up that Ctrl-C runs (stopping
    worker processes, keeping a resumable run folder) is skipped and a comparison's workers go on
    training, orphaned. Raising KeyboardInterrupt instead takes the Ctrl-C path.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main() -> None:
    """Console-script entry point: load only the command asked for."""
    _interrupt_on_sigterm()
    requested = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    build_app(requested if requested in COMMANDS else None)()
