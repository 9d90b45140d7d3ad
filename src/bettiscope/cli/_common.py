"""What every command shares: the stderr console, error exits, and Rich progress wiring."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

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
    # escaped: library messages quote brackets ("[enforce fail at ...]", "[20, inf)") that
    # Rich would otherwise take for style tags and drop
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's ValueError / OSError / MemoryError, PyTorch's out-of-memory errors and
    a worker process's failure into one clear line (exit code 2 for bad input, 1 otherwise).

    Any other exception is a bug and keeps its traceback.
    """
    from bettiscope.executor import JobError

    try:
        yield
    except (ValueError, OSError, MemoryError, RuntimeError) as error:
        # a worker's failure reads as if it had happened here
        cause = error.cause if isinstance(error, JobError) else error
        if isinstance(cause, (ValueError, OSError, MemoryError)):
            fail(str(cause) or type(cause).__name__)
        # PyTorch's allocation failures (CPU "can't allocate memory", CUDA out of memory) are
        # RuntimeErrors; estimates refuse most runs before they start, the rest end here
        message = " ".join(str(cause).split())
        if "can't allocate memory" in message or "out of memory" in message.lower():
            fail(
                f"out of memory: {message} Use a smaller model (width, depth, channels) or "
                "batch, fewer points or images, or fewer --workers."
            )
        if isinstance(error, JobError):
            fail(str(error), code=1)
        raise


@contextlib.contextmanager
def resume_on_interrupt(advice: str) -> Iterator[None]:
    """On Ctrl-C (or SIGTERM, see cli.main): one line saying what is kept and how to go on,
    then exit 130, instead of a silent stop."""
    try:
        yield
    except KeyboardInterrupt:
        # soft wrap: a path broken across lines cannot be copied
        err_console.print(
            f"[yellow]interrupted[/]: {escape(advice)}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(code=130) from None


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


def progress_callback(
    progress: Progress, *, every_seconds: float = 60.0
) -> Callable[[str, int, int], None]:
    """A ``progress(stage, done, total)`` that drives one Rich task per stage.

    When stderr is not a terminal (a job under nohup, a CI log), the bar is off; then a plain
    line ``stage: done/total (elapsed)`` is printed at most every ``every_seconds`` (default
    60 s) and when a stage completes, so a log still shows how far a long run is.
    """
    tasks: dict[str, TaskID] = {}
    lines = not state.quiet and not sys.stderr.isatty()
    start = time.monotonic()
    last_line: dict[str, float] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total)
        if not lines or total == 0:  # an empty stage (e.g. no tuning) is not worth a line
            return
        now = time.monotonic()
        if done >= total or now - last_line.get(stage, start) >= every_seconds:
            last_line[stage] = now
            print(f"{stage}: {done}/{total} ({now - start:.0f} s)", file=sys.stderr, flush=True)

    return report
