"""Render a run's report.html in headless Chromium and save a screenshot (PNG), to look at it.

Usage::

    python scripts/screenshot_report.py runs/<timestamp>            # -> runs/<timestamp>/report.png
    python scripts/screenshot_report.py runs/<timestamp>/report.html --out shot.png --height 6000

Needs Chromium (Debian: ``apt-get install chromium``). The report is self-contained, so the
browser runs with networking and background services off. Exits 2 with one line on stderr when
the report or the browser is missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """The first Chromium-like browser on PATH."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(
    report: Path, out: Path, *, width: int = 1280, height: int = 4000, timeout: float = 120
) -> Path:
    """Screenshot ``report`` (an HTML file) to ``out`` (PNG) at ``width`` x ``height`` pixels."""
    browser = find_browser()
    if browser is None:
        raise RuntimeError("no Chromium on PATH; install it (Debian: apt-get install chromium).")
    out = out.resolve()
    with tempfile.TemporaryDirectory(prefix="bettiscope-chromium-") as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={out}",
            f"--window-size={width},{height}",
            report.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(
            f"{browser} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="report.html or the run folder holding it")
    parser.add_argument("--out", type=Path, help="PNG to write (default: beside the report)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=4000)
    args = parser.parse_args(argv)
    report = args.report / "report.html" if args.report.is_dir() else args.report
    if not report.is_file():
        print(f"error: {report}: no such report (run bettiscope demo first).", file=sys.stderr)
        return 2
    out = args.out or report.with_suffix(".png")
    try:
        path = screenshot(report, out, width=args.width, height=args.height)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
