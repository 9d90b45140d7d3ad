"""Paired speed-ups across comparison folders.

:func:`bettiscope.experiments.run_compare` measures every activation against ReLU *within* one
folder. Some questions need two folders: the same activation with two initialisations, ReLU at
its better initialisation against another activation at its own, or more seeds run later in a
second folder. :func:`paired_speedup` pairs the evaluation runs of two *arms* (an activation in
one or more folders) by seed and reports the same statistics as ``compare`` (ratio of medians
with a paired bootstrap interval, paired Wilcoxon test), after checking that both arms trained
on the same data towards the same target.
"""

from __future__ import annotations

import codecs
import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bettiscope.statistics import (
    interval_bound,
    interval_tone,
    paired_wilcoxon,
    probability_of_improvement,
    speedup_interval,
)
from bettiscope.storage import environment_info, read_json

#: ``target`` -> the evaluation-run field holding the first epoch at that target.
TARGET_FIELDS = {
    "train": "epochs_to_train_target",
    "val": "epochs_to_val_target",
    "both": "epochs_to_target",
}


def _load_folder(folder: Path) -> dict[str, Any]:
    """``config`` and ``runs`` of a comparison folder, and whether it is ``finished``.

    A finished folder has ``results.json``. An unfinished one (interrupted, or still running)
    has ``config.json`` and one ``runs/<id>.json`` per finished run; those runs are final, so
    they pair as well as a finished folder's. ``folder`` may also be a ``results.json`` or an
    archive from :func:`bettiscope.experiments.export_results` (finished unless exported with
    ``partial``).
    """
    from bettiscope.experiments import is_partial_archive, read_archive

    if folder.is_file():
        archive = read_archive(folder)
        return {**archive, "finished": not is_partial_archive(archive)}
    results = folder / "results.json"
    if results.is_file():
        return {**read_archive(results), "finished": True}
    if (folder / "config.json").is_file() and (folder / "runs").is_dir():
        runs = [read_json(path) for path in sorted((folder / "runs").glob("*.json"))]
        return {"config": read_json(folder / "config.json"), "runs": runs, "finished": False}
    raise ValueError(
        f"{folder}: not a comparison folder (neither results.json nor config.json with runs/) "
        "nor an archive from `bettiscope export-results`."
    )


def _data_identity(config: dict[str, Any]) -> dict[str, Any]:
    """What must be identical in every folder of both arms: the data the networks trained on."""
    options = config.get("task_options") or {}
    return {
        "dataset": config.get("dataset"),
        "data_seed": config.get("data_seed", 0),
        "dataset_params": options.get("dataset_params") or {},
        "val_fraction": options.get("val_fraction"),
    }


#: ``ACTIVATION@PHASE`` suffix -> the run phase an arm reads (plain ``ACTIVATION``: "eval").
ARM_PHASES = {"relu_lr": "relu_lr"}


def _arm_phase(activation: str) -> tuple[str, str]:
    """``"proposed"`` -> ("proposed", "eval"); ``"proposed@relu_lr"`` -> ("proposed",
    "relu_lr"): the runs ``compare --relu-lr-runs`` trained at ReLU's tuned rate."""
    name, at, phase = activation.partition("@")
    if not at:
        return activation, "eval"
    if phase not in ARM_PHASES:
        raise ValueError(
            f"arm {activation!r}: after '@' give one of {', '.join(ARM_PHASES)} (the runs at "
            "ReLU's tuned learning rate, from compare --relu-lr-runs), or nothing."
        )
    return name, ARM_PHASES[phase]


def _load_arm(folders: Sequence[str | Path], activation: str, target: str) -> dict[str, Any]:
    """The evaluation runs of ``activation`` in ``folders``, by seed, with each folder's config.

    ``activation`` may end in ``@relu_lr`` for its runs at ReLU's tuned learning rate."""
    from bettiscope.report import setting_label

    if not folders:
        raise ValueError(f"paired_speedup: the {activation} arm names no folder.")
    name, phase = _arm_phase(activation)
    by_seed: dict[int, dict[str, Any]] = {}
    origin: dict[int, Path] = {}
    configs = []
    for folder in map(Path, folders):
        payload = _load_folder(folder)
        config = payload["config"]
        runs = [r for r in payload["runs"] if r.get("phase") == phase and r["activation"] == name]
        if not runs:
            present = sorted({r["activation"] for r in payload["runs"] if r.get("phase") == phase})
            what = "evaluation runs" if phase == "eval" else "runs at ReLU's tuned rate"
            raise ValueError(
                f"{folder}: no {what} of {name!r}; it has {', '.join(present) or 'none'}."
            )
        if target != "train" and config.get("target_val_acc") is None:
            raise ValueError(
                f"{folder}: target {target!r} needs a held-out target, and this comparison "
                "had none (--target-val-acc); use target 'train'."
            )
        for run in runs:
            seed = int(run["seed"])
            if seed in by_seed:
                raise ValueError(
                    f"paired_speedup: seed {seed} of {activation} is in both {origin[seed]} and "
                    f"{folder}; give each seed once."
                )
            by_seed[seed], origin[seed] = run, folder
        configs.append(
            {
                "folder": str(folder),
                "max_epochs": int(config["max_epochs"]),
                "target_train_acc": config["target_train_acc"],
                "target_val_acc": config.get("target_val_acc"),
                "data": _data_identity(config),
                "setting": setting_label(config["dataset"], config.get("task_options") or {}),
                "lrs": sorted({float(r["lr"]) for r in runs}),
                "finished": payload["finished"],
            }
        )
    return {"activation": activation, "runs": by_seed, "folders": configs}


def _final_accuracy_test(
    base: Sequence[float | None], other: Sequence[float | None]
) -> dict[str, Any] | None:
    """Paired two-sided Wilcoxon test on final training accuracies (pairs with both values).

    The secondary outcome where epochs cannot tell the arms apart (both miss the target in
    most seeds): which arm got further within the same budget.
    """
    from scipy.stats import wilcoxon

    pairs = [(b, o) for b, o in zip(base, other, strict=True) if b is not None and o is not None]
    if not pairs:
        return None
    differences = np.array([o - b for b, o in pairs])
    tied = bool(np.all(differences == 0))
    return {
        "n": len(pairs),
        "median_difference": float(np.median(differences)),
        # all pairs equal: no evidence either way (scipy refuses the test)
        "p_value": 1.0 if tied else float(wilcoxon(differences).pvalue),
        "alternative": "two-sided",
    }


def _check_comparable(arms: Sequence[dict[str, Any]], target: str) -> None:
    """Both arms trained on the same data towards the same target, or a clear error."""
    folders = [f for arm in arms for f in arm["folders"]]
    first = folders[0]
    keys = [("data", "the data"), ("target_train_acc", "the training-accuracy target")]
    if target != "train":
        keys.append(("target_val_acc", "the held-out target"))
    for other in folders[1:]:
        for key, what in keys:
            if other[key] != first[key]:
                raise ValueError(
                    f"paired_speedup: {first['folder']} and {other['folder']} differ in {what} "
                    f"({first[key]} vs {other[key]}); paired seeds only compare runs on the same "
                    "data towards the same target."
                )


def paired_speedup(
    baseline: str | Path | Sequence[str | Path],
    baseline_activation: str,
    other: str | Path | Sequence[str | Path],
    other_activation: str,
    *,
    target: str = "train",
    resamples: int = 10_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Speed-up of one arm over another, pairing evaluation runs by seed across folders.

    Parameters
    ----------
    baseline, other : path or sequence of paths
        ``bettiscope compare`` folders (or their ``results.json``, or archives from
        ``bettiscope export-results``). An arm may span several folders (e.g. seeds 0-9 in one,
        10-19 in another); a seed may appear only once per arm, and both arms must cover exactly
        the same seeds. A folder without ``results.json`` (interrupted or still running) gives
        its finished runs (``runs/*.json``), marked ``finished: False`` in the result.
    baseline_activation, other_activation : str
        Registry names as stored in the runs (e.g. "relu", "proposed"); ``NAME@relu_lr`` reads
        that activation's runs at ReLU's tuned learning rate (``compare --relu-lr-runs``)
        instead of its evaluation runs.
    target : {"train", "val", "both"}, default="train"
        Epochs to the training-accuracy target, the held-out target, or both.
    resamples : int, default=10000
        Bootstrap draws for the interval (an int >= 100).
    seed : int, default=0
        Bootstrap random seed (an int >= 0).

    Returns
    -------
    dict
        ``speedup`` (median baseline epochs / median other epochs, with ``low`` and ``high``:
        the 95% paired bootstrap interval), ``wilcoxon`` (paired test, a miss ranked worst),
        ``prob_improvement``, ``seeds``, ``budget`` (epochs; where the folders' budgets differ
        every run is judged at the smallest, later successes counting as misses), and per arm
        its folders, settings, learning rates, epochs per seed (None = missed), successes,
        median, and final training accuracy per seed and its median; ``final_train_acc_test``
        (paired two-sided Wilcoxon on the final training accuracies, other minus baseline: the
        secondary outcome when both arms miss; None when the budgets differ); plus ``config``
        (these arguments) and ``environment`` (library versions).

    Raises
    ------
    ValueError
        A folder that is not a comparison folder (a binary file included), an activation it
        lacks, folders trained on different data or towards different targets, a seed given
        twice or unpaired seeds; arguments of the wrong type or out of range.
    """
    if not isinstance(target, str) or target not in TARGET_FIELDS:
        raise ValueError(
            f"paired_speedup: target must be one of {', '.join(TARGET_FIELDS)}; got {target!r}."
        )
    for name, value in (("resamples", resamples), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(
                f"paired_speedup: {name} must be an int; got {value!r} ({type(value).__name__})."
                f" Give a whole number, e.g. {name}={10_000 if name == 'resamples' else 0}."
            )
    if resamples < 100:
        raise ValueError(f"paired_speedup: resamples must be >= 100; got {resamples}.")
    if seed < 0:
        raise ValueError(f"paired_speedup: seed must be >= 0 (a NumPy seed); got {seed}.")
    for name, activation in (
        ("baseline_activation", baseline_activation),
        ("other_activation", other_activation),
    ):
        if not isinstance(activation, str):
            raise ValueError(
                f"paired_speedup: {name} must be an activation's registry name (str), e.g. "
                f"'relu'; got {activation!r} ({type(activation).__name__})."
            )
    as_list = [_arm_paths(arm, name) for arm, name in ((baseline, "baseline"), (other, "other"))]
    arms = [
        _load_arm(folders, activation, target)
        for folders, activation in zip(
            as_list, (baseline_activation, other_activation), strict=True
        )
    ]
    _check_comparable(arms, target)
    seeds = sorted(arms[0]["runs"])
    if seeds != sorted(arms[1]["runs"]):
        only = [
            f"{arm['activation']} only: {sorted(set(arm['runs']) - set(mate['runs']))}"
            for arm, mate in (arms, arms[::-1])
            if set(arm["runs"]) - set(mate["runs"])
        ]
        raise ValueError(
            f"paired_speedup: the arms must cover the same seeds; unpaired: {'; '.join(only)}."
        )
    budget = min(f["max_epochs"] for arm in arms for f in arm["folders"])
    field = TARGET_FIELDS[target]

    def epochs(arm: dict[str, Any]) -> np.ndarray:
        values = [arm["runs"][s][field] for s in seeds]
        # a miss is None; a success later than the smallest budget counts as a miss
        return np.array([math.inf if v is None or v > budget else float(v) for v in values])

    base, mine = epochs(arms[0]), epochs(arms[1])
    budgets_differ = len({f["max_epochs"] for arm in arms for f in arm["folders"]}) > 1
    described = []
    finals = []
    for arm, values in zip(arms, (base, mine), strict=True):
        median = float(np.median(values))
        final = [arm["runs"][s].get("final_train_acc") for s in seeds]
        finals.append(final)
        known = [a for a in final if a is not None]
        described.append(
            {
                "activation": arm["activation"],
                "folders": arm["folders"],
                "epochs": [None if math.isinf(e) else int(e) for e in values],
                "successes": int(np.isfinite(values).sum()),
                "median_epochs": None if math.isinf(median) else median,
                "final_train_acc": final,
                "final_train_acc_median": float(np.median(known)) if known else None,
            }
        )
    return {
        "config": {
            "baseline": [str(p) for p in as_list[0]],
            "baseline_activation": baseline_activation,
            "other": [str(p) for p in as_list[1]],
            "other_activation": other_activation,
            "target": target,
            "resamples": resamples,
            "seed": seed,
        },
        "seeds": seeds,
        "budget": budget,
        "budgets_differ": budgets_differ,
        "baseline": described[0],
        "other": described[1],
        "speedup": speedup_interval(base, mine, resamples=resamples, seed=seed),
        "wilcoxon": paired_wilcoxon(base, mine, budget),
        "prob_improvement": probability_of_improvement(base, mine),
        # final accuracies after different budgets do not compare
        "final_train_acc_test": None if budgets_differ else _final_accuracy_test(*finals),
        "environment": environment_info(),
    }


def _arm_paths(arm: Any, name: str) -> list[str | Path]:
    """The folders of one arm of :func:`paired_speedup`, each a path to a comparison folder or
    to a JSON file; a binary file (an ``.npz``, a model) is refused by name here, before the
    JSON reader would fail inside with a ``UnicodeDecodeError``."""
    if isinstance(arm, str | os.PathLike):
        paths = [arm]
    else:
        try:
            paths = list(arm)
        except TypeError:
            paths = [arm]  # not iterable: refused below with its type
    for path in paths:
        if not isinstance(path, str | os.PathLike):
            raise ValueError(
                f"paired_speedup: {name} must be a comparison folder, its results.json or an "
                "exported archive (a path), or a list of them; got "
                f"{path!r} ({type(path).__name__})."
            )
        folder = Path(path)
        if folder.is_file() and not _is_text(folder):
            raise ValueError(
                f"paired_speedup: {name} {path} is a binary file, not a comparison folder, its "
                "results.json or an archive from `bettiscope export-results` (JSON text). Give "
                "the folder `bettiscope compare --out` wrote."
            )
        for inside in (folder / "results.json", folder / "config.json"):
            if folder.is_dir() and inside.is_file() and not _is_text(inside):
                raise ValueError(
                    f"paired_speedup: {inside} is not JSON text (a binary file: damaged or "
                    "overwritten); restore it, or export the comparison again."
                )
    return [path if isinstance(path, str | Path) else Path(path) for path in paths]


def _is_text(path: Path) -> bool:
    """Whether the file is UTF-8 text without NUL bytes (what the JSON reader accepts)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                if b"\x00" in chunk:
                    return False
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    except OSError:
        return True  # unreadable: the JSON reader says why, with the file name
    return True


def split_arms(values: Sequence[str], option: str = "arm") -> tuple[list[Path], str]:
    """``["runs/a:relu", "runs/b:relu"]`` -> ``([Path("runs/a"), Path("runs/b")], "relu")``.

    An arm is one activation in one or more comparison folders, written ``FOLDER:ACTIVATION``
    (the last colon splits, so a folder may contain colons); ``FOLDER:ACTIVATION@relu_lr``
    names its runs at ReLU's tuned learning rate.

    Raises
    ------
    ValueError
        No arm, a value without ``FOLDER:ACTIVATION``, or two activations in one arm; the
        message starts with ``option`` (e.g. "--baseline").
    """
    if isinstance(values, str) or not values:
        raise ValueError(f"{option}: give at least one FOLDER:ACTIVATION; got {values!r}.")
    folders, names = [], set()
    for text in values:
        folder, colon, activation = str(text).rpartition(":")
        if not colon or not folder or not activation.strip():
            raise ValueError(
                f"{option}: give FOLDER:ACTIVATION, e.g. runs/compare-D-I:relu; got {text!r}."
            )
        folders.append(Path(folder))
        names.add(activation.strip())
    if len(names) > 1:
        raise ValueError(f"{option}: one activation per arm; got {', '.join(sorted(names))}.")
    return folders, names.pop()


@dataclass
class SpeedupRow:
    """One row of a speed-up plot: a label and two arms (``FOLDER:ACTIVATION`` strings, folders
    relative to the plot's settings file), compared as by :func:`paired_speedup`."""

    label: str = ""
    baseline: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    target: str = "train"


@dataclass
class SpeedupPlot:
    """A speed-up plot's settings: a title and its rows, top to bottom (read from TOML/YAML
    with :func:`bettiscope.config.load_config`, e.g. ``[[rows]]`` tables in TOML)."""

    title: str = "Speed-up over the baseline (ratio of median epochs to the target)"
    rows: list[SpeedupRow] = field(default_factory=list)
    #: the paper's claimed range, shaded on the plot (x); empty = no band.
    claim: list[float] = field(default_factory=lambda: [1.5, 2.0])


#: The ``format`` of the numbers file :func:`speedup_plot_numbers` names; it marks the file as
#: one ``speedup-plot`` wrote, which a later run may overwrite.
SPEEDUP_PLOT_FORMAT = "bettiscope-speedup-plot"


def _is_speedup_plot_numbers(path: Path) -> bool:
    """Whether ``path`` holds the numbers of an earlier ``speedup-plot`` (safe to overwrite)."""
    try:
        payload = read_json(path)
    except ValueError:
        return False  # not JSON: someone else's file
    if not isinstance(payload, dict):
        return False
    if payload.get("format") == SPEEDUP_PLOT_FORMAT:
        return True
    # written before the marker (e.g. docs/figures/study/*.json): settings, plot and rows
    return (
        {"settings", "plot", "rows"} <= payload.keys()
        and isinstance(payload["plot"], dict)
        and isinstance(payload["rows"], list)
        and "rows" in payload["plot"]
    )


def speedup_plot_numbers(figure: str | Path) -> Path:
    """The JSON file beside ``figure`` that ``speedup-plot`` writes its numbers to.

    Called before drawing, so a refused run leaves no figure without its numbers.

    Raises
    ------
    ValueError
        ``figure`` is not .png, .svg or .pdf, or the JSON file exists and is not the numbers
        of an earlier speed-up plot (e.g. a comparison's ``results.json``): it is not replaced.
    """
    figure = Path(figure)
    if figure.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"speedup plot: the figure must be .png, .svg or .pdf; got {figure}.")
    numbers = figure.with_suffix(".json")
    if numbers.is_dir() or (numbers.exists() and not _is_speedup_plot_numbers(numbers)):
        raise ValueError(
            f"speedup plot: {numbers} exists and is not an earlier speed-up plot's numbers file; "
            "the numbers would replace it. Give --out another name, or move that file."
        )
    return numbers


def missing_rows(plot: SpeedupPlot, *, base_dir: str | Path = ".") -> list[dict[str, Any]]:
    """The rows of ``plot`` that name a folder or archive absent under ``base_dir``, in order:
    ``[{"row": number from 1, "label", "missing": [paths]}]`` (empty when all can be read).

    For drawing what is there (``speedup-plot --skip-missing``) when some rows name runs kept on
    another machine; a path that exists but does not hold runs is not "missing" and still fails
    in :func:`speedup_rows`. Arms that cannot be parsed are left to :func:`speedup_rows` too.
    """
    base = Path(base_dir)
    missing = []
    for number, row in enumerate(plot.rows, start=1):
        paths: dict[str, None] = {}  # ordered set: both arms often name the same folder
        for arm in (row.baseline, row.other):
            try:
                folders, _ = split_arms(arm)
            except ValueError:
                continue  # speedup_rows says what is wrong with it
            paths |= dict.fromkeys(str(f) for f in folders if not (base / f).exists())
        if paths:
            missing.append({"row": number, "label": row.label, "missing": list(paths)})
    return missing


def speedup_rows(
    plot: SpeedupPlot, *, base_dir: str | Path = ".", resamples: int = 10_000, seed: int = 0
) -> list[dict[str, Any]]:
    """:func:`paired_speedup` for every row of ``plot``, each result with its ``label`` added.

    Relative folders are read from ``base_dir`` (the settings file's folder, so a plot file
    travels with the runs it names).

    Raises
    ------
    ValueError
        No rows, a row without a label, a bad ``claim``, or whatever :func:`paired_speedup`
        rejects (the message names the row).
    """
    if not plot.rows:
        raise ValueError("speedup plot: no rows; add [[rows]] tables with label, baseline, other.")
    if plot.claim and (len(plot.claim) != 2 or not 0 < plot.claim[0] <= plot.claim[1]):
        raise ValueError(
            f"speedup plot: claim must be [low, high] with 0 < low <= high; got {plot.claim}."
        )
    base = Path(base_dir)
    results = []
    for number, row in enumerate(plot.rows, start=1):
        name = f"row {number} ({row.label!r})" if row.label else f"row {number}"
        if not row.label.strip():
            raise ValueError(f"speedup plot: {name} needs a label.")
        try:
            arms = [split_arms(values, option) for values, option in
                    ((row.baseline, "baseline"), (row.other, "other"))]  # fmt: skip
            (base_folders, base_activation), (other_folders, other_activation) = arms
            result = paired_speedup(
                [base / f for f in base_folders],
                base_activation,
                [base / f for f in other_folders],
                other_activation,
                target=row.target,
                resamples=resamples,
                seed=seed,
            )
        except ValueError as error:
            raise ValueError(f"speedup plot, {name}: {error}") from None
        results.append({"label": row.label, **result})
    return results


def summary_rows(
    summary: dict[str, Any], budget: int, seeds: Sequence[int], target: str = "train_target"
) -> list[dict[str, Any]]:
    """:func:`plot_speedups` rows for one comparison, every activation against ReLU, read from
    its summary (``results.json["summary"]``, whose intervals and tests are those
    :func:`paired_speedup` gives for the same folder) instead of re-reading the folder and
    bootstrapping again; with ``--relu-lr-runs``, a row for each activation at ReLU's rate
    after them. Only the fields the plot draws."""
    per = summary["activations"]

    def arm(row: dict[str, Any]) -> dict[str, Any]:
        cell = row[target]
        return {
            "median_epochs": cell["median_epochs"],
            "successes": sum(e is not None for e in cell["epochs"]),
            "final_train_acc_median": row["final_train_acc_median"],
        }

    def plot_row(label: str, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "label": label,
            "seeds": list(seeds),
            "budget": budget,
            "speedup": row[target]["speedup_vs_relu"],
            "wilcoxon": row[target]["wilcoxon_vs_relu"],
            "baseline": arm(per["relu"]),
            "other": arm(row),
        }

    rows = [plot_row(activation, row) for activation, row in per.items() if activation != "relu"]
    # --relu-lr-runs: the same seeds at ReLU's rate (older results.json files lack the cells)
    for activation, row in (summary.get("at_relu_lr") or {}).items():
        if "speedup_vs_relu" in (row.get(target) or {}):
            rows.append(plot_row(f"{activation} at ReLU's lr ({row['lr']:g})", row))
    return rows


def _finite(value: Any) -> float | None:
    """A bound as a float; None for None, NaN or inf (JSON's "inf" included)."""
    number = interval_bound(value)
    return number if number is not None and math.isfinite(number) else None


def _forest_row(result: dict[str, Any]) -> dict[str, Any]:
    """What one row of the forest plot draws, on a log axis where 0 and inf cannot be placed.

    ``kind`` is "undefined" (both medians missed), "at_least" (the baseline's median missed:
    the ratio is unbounded; ``value`` = budget / the other arm's median, the least the ratio
    of medians can be), "at_most" (the other arm's median missed: ratio 0; ``value`` = the
    baseline's median / budget) or "interval" (``point``). ``low`` and ``high`` are the
    bootstrap interval's bounds, None where 0 or inf (open-ended).
    """
    speed = result["speedup"]
    point = speed.get("speedup")
    point = math.nan if point is None else float(point)
    low, high = _finite(speed.get("low")), _finite(speed.get("high"))
    budget = result["budget"]
    bounds = {"low": low or None, "high": high or None}
    if math.isnan(point):
        return {"kind": "undefined"}
    if math.isinf(point):
        return {"kind": "at_least", "value": budget / result["other"]["median_epochs"], **bounds}
    if point == 0:
        return {"kind": "at_most", "value": result["baseline"]["median_epochs"] / budget, **bounds}
    return {"kind": "interval", "point": point, **bounds}


def plot_speedups(
    results: Sequence[dict[str, Any]],
    path: str | Path,
    *,
    title: str = SpeedupPlot.title,
    claim: Sequence[float] = (1.5, 2.0),
    not_drawn: Sequence[str] = (),
) -> Path:
    """A forest plot of :func:`speedup_rows` results, saved atomically as an image.

    Each row shows the speed-up (ratio of medians, dot) and its 95% paired bootstrap interval
    (bar) on a log axis, green where the interval lies above 1, red below; where the baseline's
    median missed the budget the ratio is unbounded and the row shows the lower bound
    budget / median (open marker, arrow); where both medians missed it says "undefined". The
    right margin gives successes per arm and the Wilcoxon p; ``claim`` (x range, e.g. the
    paper's 1.5-2x) is shaded, empty for none. ``not_drawn`` labels rows left out (e.g. their
    runs are not on this machine); the footnote names them.
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    from bettiscope.storage import pyplot, save_figure

    plt = pyplot()

    if not results:
        raise ValueError("plot_speedups: no results to plot.")
    if Path(path).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"plot_speedups: the figure must be .png, .svg or .pdf; got {path}.")
    colours = {"good": "#1a7f37", "bad": "#cf222e", "": "#57606a"}
    rows = [_forest_row(result) for result in results]
    placed = [
        value
        for row in rows
        for key in ("value", "point", "low", "high")
        if (value := row.get(key)) is not None and value > 0
    ]
    low_edge = min([*placed, 1.0, *claim]) / 1.6
    high_edge = max([*placed, 1.0, *claim]) * 1.6
    figure, axes = plt.subplots(figsize=(9.5, 0.5 * len(results) + 1.4))
    if claim:
        axes.axvspan(claim[0], claim[1], color="#fff3b0", zorder=0)
        axes.text(
            math.sqrt(claim[0] * claim[1]), -0.9, "paper's claim", ha="center", fontsize=8,
            color="#7a5d00",
        )  # fmt: skip
    axes.axvline(1.0, color="black", linewidth=1.0, zorder=2)

    def arrow(start: float, end: float, y: float, colour: str) -> None:
        axes.annotate(
            "", xy=(end, y), xytext=(start, y),
            arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 1.6},
        )  # fmt: skip

    for y, (result, row) in enumerate(zip(results, rows, strict=True)):
        colour = colours[interval_tone(result["speedup"])]
        if row["kind"] == "undefined":
            finals = [result[arm]["final_train_acc_median"] for arm in ("other", "baseline")]
            note = "undefined: both medians missed the budget"
            if None not in finals:
                note += f"; final training accuracy {finals[0]:.3f} vs {finals[1]:.3f}"
            axes.text(
                math.sqrt(low_edge * high_edge), y, note,
                ha="center", va="center", fontsize=8, color=colours[""],
            )  # fmt: skip
        elif row["kind"] in ("at_least", "at_most"):
            value = row["value"]
            # the interval's finite bound, where it reaches past the bound from the budget
            if row["kind"] == "at_least":
                start = min(value, row["low"] or value)
                arrow(start, high_edge, y, colour)
            else:
                start = max(value, row["high"] or value)
                arrow(start, low_edge, y, colour)
            axes.plot(value, y, "o", mfc="white", mec=colour, zorder=3)
            sign = "\u2265" if row["kind"] == "at_least" else "\u2264"
            axes.text(value, y + 0.28, f"{sign} {value:.2f}", ha="center", fontsize=7)
        else:
            # a bar to each finite bound, an arrow to the edge for an open-ended one
            for bound, edge in ((row["low"], low_edge), (row["high"], high_edge)):
                if bound is None:
                    arrow(row["point"], edge, y, colour)
                else:
                    axes.plot([row["point"], bound], [y, y], color=colour, linewidth=2, zorder=2)
            axes.plot(row["point"], y, "o", color=colour, zorder=3)
        seeds = len(result["seeds"])
        p_value = result["wilcoxon"].get("p_value")
        axes.text(
            1.01, y,
            f"{result['other']['successes']}/{seeds} vs {result['baseline']['successes']}/{seeds}"
            f", p = {'-' if p_value is None else f'{p_value:.2g}'}",
            transform=axes.get_yaxis_transform(), va="center", fontsize=8,
        )  # fmt: skip
    axes.set_xscale("log")
    axes.set_xlim(low_edge, high_edge)
    axes.set_ylim(len(results) - 0.5, -1.3)
    axes.set_yticks(range(len(results)), [r["label"] for r in results], fontsize=8)
    axes.set_xlabel("speed-up (median epochs of the baseline / of the other arm), log scale")
    axes.set_title(title, fontsize=10)
    # plain numbers at 1-2-5 steps: a log axis otherwise labels its minor ticks 2 x 10^-1
    ticks = [m * 10.0**e for e in range(-3, 4) for m in (1, 2, 5)]
    axes.set_xticks([t for t in ticks if low_edge <= t <= high_edge])
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.grid(axis="x", which="both", color="#e0e0e0", linewidth=0.5, zorder=0)
    # anchored under the x label (the tight save keeps it): placed at a fixed figure height it
    # overlapped the label, whose height depends on the number of rows
    axes.annotate(
        "dot and bar: ratio of medians, 95% paired bootstrap interval (arrow: open-ended); open "
        "dot: one median missed the budget, so the ratio is at least budget / median (baseline "
        "missed) or at most median / budget (other missed); right: runs that reached the target "
        "(other vs baseline), paired Wilcoxon p"
        + (f". Not drawn (runs not found): {'; '.join(not_drawn)}" if not_drawn else ""),
        xy=(1.0, 0.0), xycoords=("axes fraction", axes.xaxis.label),
        xytext=(0, -4), textcoords="offset points",
        ha="right", va="top", fontsize=7, color=colours[""], wrap=True,
    )  # fmt: skip
    return save_figure(figure, path, tight=True)
