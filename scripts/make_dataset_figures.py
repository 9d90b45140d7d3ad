"""Draw every built-in data set at its defaults: docs/figures/datasets/<name>.png.

    .venv/bin/python scripts/make_dataset_figures.py [--out docs/figures/datasets]

For D-I it also draws the 88 x 88 evaluation grid labelled by the true geometry
(``D-I-eval-grid.png``), and for each large family a small instance whose pieces can be seen
(``<name>-small.png``). Figures are written atomically; rerunning overwrites them.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from bettiscope.datasets import DATASETS, load_dataset
from bettiscope.datasets.registry import plot_dataset

#: Small instances of the families (the defaults are too crowded to show single pieces).
SMALL = {"disks-grid": {"n": 3}, "linked-rings": {"m": 8}, "nested-shells": {"m": 8}}

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "figures" / "datasets"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Folder for the figures.")
    parser.add_argument("--max-points", type=int, default=20000)
    args = parser.parse_args()
    for name in DATASETS:
        data = load_dataset(name)
        betti = " / ".join(f"{tuple(b)}" for b in data.true_betti.values())
        title = f"{name}: {data.n_points:,} points; true Betti (class a / b) {betti}"
        path = plot_dataset(data, args.out / f"{name}.png", max_points=args.max_points, title=title)
        print(f"wrote {path}")
        if data.X_eval is not None:
            grid = replace(data, X=data.X_eval, y=data.y_eval)
            path = plot_dataset(
                grid,
                args.out / f"{name}-eval-grid.png",
                max_points=args.max_points,
                title=f"{name} evaluation grid (88 x 88), labelled by the true geometry",
            )
            print(f"wrote {path}")
        if name in SMALL:
            small = load_dataset(name, **SMALL[name])
            betti = " / ".join(f"{tuple(b)}" for b in small.true_betti.values())
            setting = ", ".join(f"{k}={v}" for k, v in SMALL[name].items())
            path = plot_dataset(
                small,
                args.out / f"{name}-small.png",
                max_points=args.max_points,
                title=f"{name} ({setting}): true Betti (class a / b) {betti}",
            )
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
