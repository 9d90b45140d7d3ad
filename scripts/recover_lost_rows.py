"""Rebuild, as small archives, the comparisons behind speedups.png whose run folders were lost.

docs/figures/study/speedups.png was drawn (session 12) from run folders of development machines
that no longer exist; four of its rows still name them, so the figure could not be re-drawn
from a clone. The numbers file written beside it (speedups.json) kept, for every row, each
seed's epochs to 100% training accuracy and final training accuracy per arm, with the folder's
data set, budget, targets, learning rate and setting. This script turns those per-seed numbers
back into one archive per lost folder (docs/results/recovered/NAME.json), marked as recovered,
and checks that every affected row computes from them exactly what speedups.json records.

What a recovered archive cannot do: no tuning runs, specs, traces or held-out epochs were
recorded, so it serves only `speedup`/`speedup-plot` with `--target train`, and `compare
--reuse` copies nothing from it. The full records come back only by re-running the comparisons
(part 1 of scripts/large_betti_runs.sh).

    .venv/bin/python scripts/recover_lost_rows.py     # from the repository root

It ran once, in session 20, before speedups.toml was pointed at the archives and the figure
re-drawn (which rewrote speedups.json); to repeat the check, restore the toml and numbers file
of the commit before that one (`git log docs/figures/study/speedups.json`).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

from bettiscope.config import load_config
from bettiscope.experiments import ARCHIVE_FORMAT, ARCHIVE_KEY
from bettiscope.paired import SpeedupPlot, paired_speedup, split_arms
from bettiscope.report import setting_label
from bettiscope.storage import atomic_write_json, read_json

FIGURES = Path("docs/figures/study")
NUMBERS = FIGURES / "speedups.json"
OUT = Path("docs/results/recovered")

#: The results a row's statistics rest on: recomputed from the archives they must not change.
CHECKED = ("seeds", "budget", "speedup", "wilcoxon", "prob_improvement", "final_train_acc_test")
CHECKED_ARM = ("activation", "epochs", "successes", "median_epochs", "final_train_acc")


def task_options(folder: dict[str, Any]) -> dict[str, Any]:
    """The MLP options a folder's setting label names (the label is all that was recorded)."""
    options: dict[str, Any] = {
        "dataset_params": folder["data"]["dataset_params"],
        "val_fraction": folder["data"]["val_fraction"],
    }
    if shape := re.search(r", width (\d+), depth (\d+)", folder["setting"]):
        options["width"], options["depth"] = int(shape[1]), int(shape[2])
    if bias := re.search(r", (\w+) biases$", folder["setting"]):
        options["bias_init"] = bias[1]
    if setting_label(folder["data"]["dataset"], options) != folder["setting"]:
        raise SystemExit(f"{folder['folder']}: cannot rebuild the setting {folder['setting']!r}")
    return options


def recovered_archive(folder: dict[str, Any], arms: list[tuple[dict, list[int]]]) -> dict:
    """One lost folder as an archive: its config and each arm's runs, per seed."""
    runs: dict[str, dict[str, Any]] = {}
    for arm, seeds in arms:
        (lr,) = folder["lrs"]  # one tuned rate per activation and folder
        for seed, epochs, final in zip(seeds, arm["epochs"], arm["final_train_acc"], strict=True):
            name = f"eval-{arm['activation']}-lr{lr:g}-seed{seed}"
            run = {
                "id": name,
                "phase": "eval",
                "activation": arm["activation"],
                "seed": seed,
                "lr": lr,
                "epochs_to_target": epochs,
                "epochs_to_train_target": epochs,
                "final_train_acc": final,
            }
            if runs.setdefault(name, run) != run:  # the same folder in two rows must agree
                raise SystemExit(f"{folder['folder']}: rows disagree on {name}")
    return {
        "config": {
            "dataset": folder["data"]["dataset"],
            "data_seed": folder["data"]["data_seed"],
            "activations": sorted({run["activation"] for run in runs.values()}),
            "max_epochs": folder["max_epochs"],
            "target_train_acc": folder["target_train_acc"],
            "target_val_acc": folder["target_val_acc"],
            "task_options": task_options(folder),
        },
        "runs": sorted(runs.values(), key=lambda r: (r["activation"], r["seed"])),
        ARCHIVE_KEY: {
            "format": ARCHIVE_FORMAT,
            "recovered_from": str(NUMBERS),
            "from": folder["folder"],
            "note": (
                "Run folder lost with its machine. Per-seed epochs to 100% training accuracy "
                "and final training accuracies as speedup-plot recorded them when it read the "
                "folder; no specs, tuning runs, traces or held-out epochs (train target only)."
            ),
        },
    }


def same(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-12 relative (JSON round trips); NaN equal to NaN and to None (the
    numbers file stores an undefined ratio as null, an infinite one as "inf")."""
    if (a is None or (isinstance(a, float) and math.isnan(a))) and (
        b is None or (isinstance(b, float) and math.isnan(b))
    ):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isinf(a) and b in ("inf", "-inf"):
        return str(a) == b  # to_jsonable writes infinities as strings
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)
    return bool(a == b)


def main() -> int:
    recorded = {row["label"]: row for row in read_json(NUMBERS)["rows"]}
    plot = load_config(FIGURES / "speedups.toml", SpeedupPlot)
    lost: dict[str, dict[str, Any]] = {}  # folder -> its recorded description and arms
    for row in plot.rows:
        for side, values in (("baseline", row.baseline), ("other", row.other)):
            folders, _ = split_arms(values, side)
            for folder in folders:
                if (FIGURES / folder).exists():
                    continue
                arm = recorded[row.label][side]
                (described,) = [f for f in arm["folders"] if f["folder"] == str(folder)]
                entry = lost.setdefault(str(folder), {"folder": described, "arms": []})
                entry["arms"].append((arm, recorded[row.label]["seeds"]))
    if not lost:
        print(f"nothing to recover: every folder {FIGURES / 'speedups.toml'} names exists.")
        return 0
    archives: dict[str, Path] = {}
    for name, entry in lost.items():
        path = OUT / f"{Path(name).name}.json"
        atomic_write_json(path, recovered_archive(entry["folder"], entry["arms"]))
        archives[name] = path
        print(f"{path}: from {name}")
    # every row that read a lost folder must compute from the archives what it recorded
    for row in plot.rows:
        arms = [split_arms(values, side) for values, side in
                ((row.baseline, "baseline"), (row.other, "other"))]  # fmt: skip
        if not any(str(f) in archives for folders, _ in arms for f in folders):
            continue
        (base, base_activation), (other, other_activation) = [
            ([archives.get(str(f), FIGURES / f) for f in folders], activation)
            for folders, activation in arms
        ]
        want = recorded[row.label]
        again = paired_speedup(
            base,
            base_activation,
            other,
            other_activation,
            target=row.target,
            resamples=want["config"]["resamples"],
            seed=want["config"]["seed"],
        )
        wrong = [key for key in CHECKED if not same(again[key], want[key])] + [
            f"{side} {key}"
            for side in ("baseline", "other")
            for key in CHECKED_ARM
            if not same(again[side][key], want[side][key])
        ]
        if wrong:
            raise SystemExit(f"{row.label}: differs from {NUMBERS} in {', '.join(wrong)}")
        print(f"same as recorded: {row.label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
