"""Benchmark: generate and verify the default disks-grid (169 disks + 1 square with 169 holes).

    .venv/bin/python benchmarks/disks_grid.py            # disks-grid + every other data set
    .venv/bin/python benchmarks/disks_grid.py --quick    # disks-grid only, one repeat

Target (issue 3): generating the default disks-grid and verifying its true Betti numbers end to
end in <= 30 s on the 2-core development machine. Measured two ways, median of the repeats:

1. in-process: ``load_dataset("disks-grid")`` then ``betti_by_class`` at its recommended
   parameters;
2. from the command line, as a user would: ``bettiscope data make disks-grid --out F.npz`` then
   ``bettiscope betti F.npz --by-class --json`` (includes Python start-up and imports).

Then, unless ``--quick``, the same in-process generation + verification for every built-in data
set at its defaults. Prints the ratios to the target and writes
benchmarks/results/disks_grid.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bettiscope.datasets import DATASETS, load_dataset
from bettiscope.storage import atomic_write_json, environment_info
from bettiscope.topology import betti_by_class

TARGET_SECONDS = 30.0
console = Console(width=160)


def verify(name: str) -> dict[str, Any]:
    """Generate ``name`` at its defaults and measure it; times in seconds."""
    started = time.perf_counter()
    data = load_dataset(name)
    generated = time.perf_counter()
    results = betti_by_class(data.X, data.y, **data.measure_kwargs())
    finished = time.perf_counter()
    measured = {label: tuple(b) for label, b in results.items()}
    return {
        "name": name,
        "n_points": data.n_points,
        "true_betti": {str(k): list(v) for k, v in data.true_betti.items()},
        "measured": {str(k): list(v) for k, v in measured.items()},
        "match": measured == data.true_betti,
        "generate_s": generated - started,
        "verify_s": finished - generated,
        "verify_per_class_s": {str(k): r.seconds for k, r in results.items()},
        "total_s": finished - started,
        "measure": data.measure,
    }


def verify_cli() -> dict[str, Any]:
    """`bettiscope data make` + `bettiscope betti --by-class --json` in fresh processes."""
    executable = Path(sys.executable).with_name("bettiscope")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "disks-grid.npz"
        started = time.perf_counter()
        subprocess.run(
            [str(executable), "--quiet", "data", "make", "disks-grid", "--out", str(path)],
            check=True,
            capture_output=True,
        )
        made = time.perf_counter()
        output = subprocess.run(
            [str(executable), "--quiet", "betti", str(path), "--by-class", "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        finished = time.perf_counter()
    betti = json.loads(output)["betti"]
    return {
        "measured": betti,
        "match": betti == {"0": [169, 0], "1": [1, 169]},
        "make_s": made - started,
        "betti_s": finished - made,
        "total_s": finished - started,
    }


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="disks-grid only, one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats

    in_process = [verify("disks-grid") for _ in range(repeats)]
    from_cli = [verify_cli() for _ in range(repeats)]
    table = Table(title=f"disks-grid (default, n=13) end to end; target {TARGET_SECONDS:g} s")
    for column in ("path", "points", "measured", "match", "seconds (median)", "target ratio"):
        table.add_column(column)
    library_s = median_of(in_process, "total_s")
    cli_s = median_of(from_cli, "total_s")
    table.add_row(
        "library: load_dataset + betti_by_class",
        f"{in_process[0]['n_points']:,}",
        str(in_process[0]["measured"]),
        str(all(run["match"] for run in in_process)),
        f"{library_s:.2f}",
        f"{library_s / TARGET_SECONDS:.3f}",
    )
    table.add_row(
        "CLI: data make + betti --by-class",
        f"{in_process[0]['n_points']:,}",
        str(from_cli[0]["measured"]),
        str(all(run["match"] for run in from_cli)),
        f"{cli_s:.2f}",
        f"{cli_s / TARGET_SECONDS:.3f}",
    )
    console.print(table)

    every: list[dict[str, Any]] = []
    if not args.quick:
        every = [verify(name) for name in DATASETS]
        table = Table(title="every data set at its defaults (in-process, one run each)")
        for column in ("name", "points", "measure", "measured", "match", "generate s", "verify s"):
            table.add_column(column)
        for row in every:
            m = row["measure"]
            table.add_row(
                row["name"],
                f"{row['n_points']:,}",
                f"k={m['k']} stride={m['stride']} max_dim={m['max_dim']}",
                " / ".join(str(tuple(b)) for b in row["measured"].values()),
                str(row["match"]),
                f"{row['generate_s']:.2f}",
                f"{row['verify_s']:.2f}",
            )
        console.print(table)

    ok = all(run["match"] for run in in_process + from_cli + every)
    atomic_write_json(
        Path(__file__).parent / "results" / "disks_grid.json",
        {
            "target_s": TARGET_SECONDS,
            "repeats": repeats,
            "library_median_s": library_s,
            "cli_median_s": cli_s,
            "library_runs": in_process,
            "cli_runs": from_cli,
            "every_data_set": every,
            "all_match": ok,
            "environment": environment_info(),
        },
    )
    verdict = "meets" if max(library_s, cli_s) <= TARGET_SECONDS else "MISSES"
    console.print(
        f"disks-grid end to end: library {library_s:.2f} s, CLI {cli_s:.2f} s; "
        f"{verdict} the {TARGET_SECONDS:g} s target "
        f"(ratio {max(library_s, cli_s) / TARGET_SECONDS:.3f})."
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
