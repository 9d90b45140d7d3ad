"""`bettiscope demo`: the main job on the embedded offline default (what `make run` runs)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bettiscope.cli._common import err_console, fail, make_progress, out_console, user_errors
from bettiscope.config import DemoConfig, resolve_config
from bettiscope.demo import default_run_dir, run_demo
from bettiscope.executor import BACKENDS, JobError
from bettiscope.report import STATUS_LABELS

Backend = Enum(  # type: ignore[misc]  # members from the registry
    "Backend", {name: name for name in BACKENDS}, type=str
)

_TONES = {"done": "green", "failed": "red", "skipped": "dim"}


def demo(
    out: Annotated[
        Path | None, typer.Option(help="Run folder for a new run (default runs/<timestamp>).")
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(help="Continue an interrupted run in this folder (finished work is kept)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Settings file (.yaml, .yml or .toml).")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override one setting, e.g. --set compare.seeds=5 (repeatable)."
        ),
    ] = None,
    backend: Annotated[
        Backend | None, typer.Option(help="Where jobs run: local processes or a Ray cluster.")
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster address ('auto', 'HOST:6379', 'ray://HOST:10001')."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes for the local backend.")
    ] = None,
    device: Annotated[str | None, typer.Option(help="Torch device: cpu, cuda, cuda:1.")] = None,
) -> None:
    """Run the whole study offline at demo size and write runs/<timestamp>/report.html."""
    if out is not None and resume is not None:
        fail("give either --out (a new run) or --resume (an existing run), not both.")
    settings = list(overrides or [])
    if backend is not None:
        settings.append(f"run.backend={backend.value}")
    if ray_address is not None:
        if backend is None:
            settings.append("run.backend=ray")
        settings.append(f"run.ray_address={ray_address}")
    if workers is not None:
        settings.append(f"run.workers={workers}")
    if device is not None:
        settings.append(f"run.device={device}")
    with user_errors():
        if resume is not None:
            if config is not None or settings:
                fail(
                    "--resume continues with the run's saved settings (config.yaml in the run "
                    "folder); do not combine it with --config, --set or other settings."
                )
            cfg: DemoConfig | None = None
            run_dir = resume
        else:
            cfg = resolve_config(config, settings)
            run_dir = out or default_run_dir()
        try:
            with make_progress() as progress:
                task = progress.add_task("demo", total=None)

                def report(step: str, done: int, total: int) -> None:
                    progress.update(task, description=step, completed=done, total=total or None)

                results = run_demo(run_dir, cfg, resume=resume is not None, progress=report)
        except KeyboardInterrupt:
            err_console.print(
                f"[yellow]interrupted[/]: finished work is saved; continue with "
                f"[bold]bettiscope demo --resume {run_dir}[/]",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(code=130) from None
        except JobError as error:
            fail(str(error))
    _summary(results, run_dir)


def _summary(results: dict, run_dir: Path) -> None:
    table = Table(title="bettiscope demo")
    for column in ("stage", "status", "time", "result"):
        table.add_column(column)
    failed = []
    for key, stage in results["stages"].items():
        status = stage.get("status", "pending")
        tone = _TONES.get(status, "yellow")
        if status == "failed":
            failed.append(key)
        table.add_row(
            stage.get("title", key),
            f"[{tone}]{STATUS_LABELS.get(status, status)}[/]",
            f"{stage.get('seconds') or 0:.0f} s",
            stage.get("headline", "") if status == "done" else stage.get("reason", "")[:80],
        )
    out_console.print(table)
    out_console.print(f"Report: {run_dir / 'report.html'}")
    if failed:
        fail(
            f"stage(s) {', '.join(failed)} failed (details in {run_dir / 'demo.log'}); "
            f"fix the cause (settings: {run_dir / 'config.yaml'}) and continue with "
            f"bettiscope demo --resume {run_dir}",
            code=1,
        )
