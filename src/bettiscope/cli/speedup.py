"""`bettiscope speedup`: a paired speed-up between two activations' runs in comparison folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bettiscope.cli._common import out_console, user_errors

#: --target -> what the table's title says the epochs reach ("the both target" read badly).
TARGET_WORDS = {
    "train": "the training-accuracy target",
    "val": "the held-out target",
    "both": "both targets (training and held-out)",
}


def _arms(values: list[str], option: str) -> tuple[list[Path], str]:
    """['runs/a:relu', 'runs/b:relu'] -> ([runs/a, runs/b], 'relu'); one activation per arm."""
    from bettiscope.paired import split_arms

    with user_errors():
        return split_arms(values, option)


def speedup(
    baseline: Annotated[
        list[str],
        typer.Option(
            help="FOLDER:ACTIVATION of the baseline arm, e.g. runs/compare-D-III:relu (FOLDER "
            "may be an archive from `export-results`); repeat it to pool seeds from several "
            "folders."
        ),
    ],
    other: Annotated[
        list[str],
        typer.Option(
            help="FOLDER:ACTIVATION of the arm compared with it; repeatable. "
            "ACTIVATION@relu_lr reads its runs at ReLU's tuned rate (compare --relu-lr-runs)."
        ),
    ],
    target: Annotated[
        str, typer.Option(help="train (training-accuracy target), val (held-out) or both.")
    ] = "train",
    out: Annotated[
        Path | None, typer.Option(help="Also write the result (with provenance) to this JSON.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Paired speed-up of one activation's runs over another's, across comparison folders."""
    # Runs pair by seed (same seeds, data and target in both arms); the statistics are those of
    # `compare` within one folder: ratio of median epochs, paired bootstrap interval, Wilcoxon.
    from bettiscope.paired import paired_speedup
    from bettiscope.statistics import format_interval
    from bettiscope.statistics import format_value as fmt
    from bettiscope.storage import atomic_write_json, to_jsonable

    base_folders, base_activation = _arms(baseline, "--baseline")
    other_folders, other_activation = _arms(other, "--other")
    with user_errors():
        result = paired_speedup(
            base_folders, base_activation, other_folders, other_activation, target=target
        )
        if out is not None:
            atomic_write_json(out, result)
    if as_json:
        typer.echo(json.dumps(to_jsonable(result)))
        return
    table = Table(
        title=f"Epochs to {TARGET_WORDS.get(target, target)}, {len(result['seeds'])} paired "
        f"seeds, budget {result['budget']}",
        caption="speed-up = median epochs (baseline) / median epochs (other); 95% paired "
        "bootstrap interval; paired Wilcoxon p",
    )
    columns = (
        "arm",
        "activation",
        "setting",
        "lr",
        "reached",
        "median epochs",
        "final acc (median)",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("arm", "setting") else "right")
    for arm in ("baseline", "other"):
        described = result[arm]
        settings = sorted({f["setting"] for f in described["folders"]})
        lrs = sorted({lr for f in described["folders"] for lr in f["lrs"]})
        table.add_row(
            arm,
            described["activation"],
            "; ".join(settings),
            ", ".join(f"{lr:g}" for lr in lrs),
            f"{described['successes']}/{len(result['seeds'])}",
            fmt(described["median_epochs"]),
            fmt(described["final_train_acc_median"], 4),
        )
    out_console.print(table)
    text = format_interval(result["speedup"])
    # escaped: Rich would take "[inf, inf]" for a style tag and drop it
    interval = "undefined (both medians missed)" if text is None else escape(text)
    test = result["wilcoxon"]
    # all pairs tied (typically both arms missed every seed): no evidence either way
    ties = " (every pair ties: no difference to test)" if test["statistic"] is None else ""
    out_console.print(
        f"Speed-up of {other_activation} over {base_activation}: {interval}, "
        f"Wilcoxon p = {fmt(test['p_value'])}{ties}."
    )
    final = result["final_train_acc_test"]
    if final is not None:
        out_console.print(
            f"Final training accuracy, {other_activation} minus {base_activation}: median "
            f"difference {fmt(final['median_difference'], 4)} over {final['n']} pairs, Wilcoxon "
            f"p = {fmt(final['p_value'])} (two-sided)."
        )
    unfinished = [
        f["folder"]
        for arm in ("baseline", "other")
        for f in result[arm]["folders"]
        if not f["finished"]
    ]
    if unfinished:
        out_console.print(
            f"[yellow]Note:[/yellow] unfinished folders (their finished runs only): "
            f"{', '.join(unfinished)}."
        )
    if result["budgets_differ"]:
        out_console.print(
            f"[yellow]Note:[/yellow] the folders had different budgets; every run was judged at "
            f"the smallest, {result['budget']} epochs (later successes count as misses)."
        )
    if out is not None:
        out_console.print(f"Result: {out}")


def speedup_plot(
    settings: Annotated[
        Path,
        typer.Argument(
            # backslashes: Typer renders help as Rich markup, which drops "[low, high]" as a tag
            help="TOML or YAML file: title, claim = \\[low, high], and \\[\\[rows]] tables with "
            'label, baseline = ["FOLDER:ACTIVATION", ...], other = [...], target. Folders are '
            "relative to this file."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Figure file (.png, .svg, .pdf); the numbers go beside it as .json (an existing "
            ".json that speedup-plot did not write is not replaced)."
        ),
    ],
    skip_missing: Annotated[
        bool,
        typer.Option(
            help="Leave out rows whose folders or archives are not on this machine (a warning "
            "each, and the figure's footnote names them) instead of stopping."
        ),
    ] = False,
) -> None:
    """Forest plot of paired speed-ups, one row per pair of arms, from comparison folders."""
    from dataclasses import replace

    from bettiscope.config import config_to_dict, load_config
    from bettiscope.paired import (
        SPEEDUP_PLOT_FORMAT,
        SpeedupPlot,
        missing_rows,
        plot_speedups,
        speedup_plot_numbers,
        speedup_rows,
    )
    from bettiscope.statistics import format_interval
    from bettiscope.storage import atomic_write_json

    with user_errors():
        # first: a results.json of another command beside the figure must not be replaced
        numbers_path = speedup_plot_numbers(out)
        plot = load_config(settings, SpeedupPlot)
        missing = missing_rows(plot, base_dir=settings.parent) if skip_missing else []
        for row in missing:
            out_console.print(
                f"[yellow]Warning:[/yellow] row {row['row']} ({escape(row['label'])!r}) left "
                f"out, not found: {escape(', '.join(row['missing']))}",
                highlight=False,
            )
        skipped = {row["row"] for row in missing}
        drawn = replace(
            plot, rows=[row for n, row in enumerate(plot.rows, start=1) if n not in skipped]
        )
        if plot.rows and not drawn.rows:
            raise ValueError("speedup plot: no row's runs were found; nothing to draw.")
        results = speedup_rows(drawn, base_dir=settings.parent)
        figure = plot_speedups(
            results,
            out,
            title=plot.title,
            claim=plot.claim,
            not_drawn=[row["label"] for row in missing],
        )
        numbers = atomic_write_json(
            numbers_path,
            {
                "format": SPEEDUP_PLOT_FORMAT,
                "settings": str(settings),
                "plot": config_to_dict(plot),
                "rows": results,
                "not_drawn": missing,
            },
        )
    for result in results:
        text = format_interval(result["speedup"]) or "undefined (both medians missed)"
        out_console.print(f"{escape(result['label'])}: {escape(text)}", highlight=False)
    out_console.print(f"Figure: {figure}; numbers: {numbers}")
