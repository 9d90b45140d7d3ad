"""What every command shares: the stderr console, error exits, and Rich progress wiring."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

#: Errors, warnings and progress go to stderr so stdout stays clean for data (--json).
err_console = Console(stderr=True)
out_console = Console()

#: Exit code for bad input (unreadable file, impossible parameter).
EXIT_BAD_INPUT = 2


class _State:
    quiet: bool = False


state = _State()


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one error line on stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's ValueError / OSError into one clear line and exit code 2."""
    try:
        yield
    except (ValueError, OSError, MemoryError) as error:
        fail(str(error))


def make_progress() -> Progress:
    """A Rich progress display on stderr, silent under --quiet or when stderr is not a terminal."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=state.quiet or not sys.stderr.isatty(),
    )
