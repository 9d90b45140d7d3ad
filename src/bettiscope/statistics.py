"""Paired speed-up statistics, and how they read in tables.

A speed-up is ``median(baseline epochs) / median(other epochs)`` over seeds paired by
position, a missed target counting as ``inf`` epochs (the convergence protocol's censoring).
:func:`speedup_interval` adds a paired percentile bootstrap interval, :func:`paired_wilcoxon`
the signed-rank test and :func:`probability_of_improvement` the pairwise win rate (Agarwal et
al. 2021). The ``format_*`` helpers and :func:`interval_tone` turn a result into the text and
colour shared by ``summary.md``, ``report.html``, the terminal tables and the forest plots.
Used by :mod:`bettiscope.experiments` (within one folder) and :mod:`bettiscope.paired`
(across folders).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "censored",
    "format_interval",
    "format_percent",
    "format_value",
    "interval_bound",
    "interval_tone",
    "paired_wilcoxon",
    "probability_of_improvement",
    "speedup_interval",
    "speedup_text",
]


def censored(epochs: int | None) -> float:
    """Epochs to target as a number for the statistics: a run that missed (None) is ``inf``."""
    return math.inf if epochs is None else float(epochs)


def _median_ratio(baseline: np.ndarray, other: np.ndarray) -> np.ndarray:
    """median(baseline) / median(other) along the last axis; misses (inf) allowed.

    A finite baseline over a missed activation gives 0; a missed baseline over a finite
    activation gives inf; both missed gives NaN (undefined).
    """
    top = np.median(baseline, axis=-1)
    bottom = np.median(other, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            np.isinf(top) & np.isinf(bottom),
            np.nan,
            np.where(np.isinf(bottom), 0.0, np.where(np.isinf(top), np.inf, top / bottom)),
        )


def speedup_interval(
    baseline: ArrayLike,
    other: ArrayLike,
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Speed-up ``median(baseline) / median(other)`` with a paired percentile bootstrap interval.

    Parameters
    ----------
    baseline, other : sequence of float
        Epochs-to-target per seed, paired by position; ``inf`` = missed the target.
    resamples : int, default=10000
        Bootstrap draws (seeds resampled with replacement, the same draw for both).
    confidence : float, default=0.95
        Coverage of the percentile interval.
    seed : int, default=0
        Seed of the bootstrap draws (fixed, so a summary re-rendered reads the same).

    Returns
    -------
    dict
        ``speedup`` (point estimate), ``low``, ``high`` (percentile interval over the draws
        where the ratio is defined), ``undefined_fraction`` (draws where both medians are inf),
        ``resamples``.
    """
    a = np.asarray(baseline, dtype=float)
    b = np.asarray(other, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(
            f"speedup_interval: need two paired 1-D samples of equal length; got {a.shape} "
            f"and {b.shape}."
        )
    point = float(_median_ratio(a, b))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(a), size=(resamples, len(a)))
    ratios = _median_ratio(a[draws], b[draws])
    defined = ratios[~np.isnan(ratios)]
    alpha = (1.0 - confidence) / 2.0
    if len(defined):
        # the empirical quantile (no interpolation): interpolating next to an infinite ratio
        # (ReLU missed, the activation did not) would give NaN instead of inf
        low, high = np.quantile(defined, [alpha, 1.0 - alpha], method="inverted_cdf")
    else:
        low = high = math.nan
    return {
        "speedup": point,
        "low": float(low),
        "high": float(high),
        "undefined_fraction": float(1.0 - len(defined) / resamples),
        "resamples": int(resamples),
        "confidence": confidence,
    }


def paired_wilcoxon(baseline: np.ndarray, other: np.ndarray, budget: int) -> dict[str, Any]:
    """Paired Wilcoxon signed-rank test (two-sided) of epochs to target.

    ``baseline`` and ``other`` hold epochs per seed, paired by position, ``inf`` = missed; a
    miss ranks as ``budget + 1`` epochs (the worst). Returns ``statistic``, ``p_value`` (1.0
    when every pair ties) and ``n``.
    """
    from scipy.stats import wilcoxon

    a = np.where(np.isinf(baseline), budget + 1, baseline)
    b = np.where(np.isinf(other), budget + 1, other)
    differences = a - b
    if len(a) < 2 or np.all(differences == 0):
        return {"statistic": None, "p_value": 1.0 if len(a) else None, "n": len(a)}
    result = wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    return {"statistic": float(result.statistic), "p_value": float(result.pvalue), "n": len(a)}


def probability_of_improvement(baseline: ArrayLike, other: ArrayLike) -> float:
    """P(a run of ``other`` needs fewer epochs than a run of ``baseline``); ties count half.

    Over all pairs of runs (Agarwal et al. 2021); misses are inf (ties with each other).
    """
    a = np.asarray(baseline, dtype=float)[None, :]
    b = np.asarray(other, dtype=float)[:, None]
    return float(np.mean((b < a) + 0.5 * (b == a)))


def format_percent(fraction: float) -> str:
    """0.95 -> '95%', 1.0 -> '100%', 0.995 -> '99.5%'."""
    return f"{100 * fraction:g}%"


def format_value(value: Any, digits: int = 3) -> str:
    """A number for a table cell: ``digits`` significant figures, but epoch counts and their
    medians in full (3206, not 3.21e+03; 122.5, not 122); "-" for None, "inf", "n/a" for NaN;
    other values as ``str``."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        if math.isnan(value):
            return "n/a"
        whole_or_half = (2 * value).is_integer()  # an epoch count or a median of two
        if 10**digits <= abs(value) < 1e9 or (whole_or_half and 1 <= abs(value) < 1e9):
            return f"{value:.1f}".removesuffix(".0")
        return f"{value:.{digits}g}"
    return str(value)


def format_interval(
    speed: dict[str, Any], number: Callable[[Any], str] = format_value
) -> str | None:
    """``"x [low, high]"`` for a :func:`speedup_interval` result, ``number`` formatting each
    value; None where the speed-up is undefined (both medians infinite: NaN, or None as JSON
    stores it)."""
    point = speed.get("speedup")
    if point is None or (isinstance(point, float) and math.isnan(point)):
        return None
    return f"{number(point)} [{number(speed.get('low'))}, {number(speed.get('high'))}]"


def interval_bound(value: Any) -> float | None:
    """A speed-up or interval bound as stored (float, JSON's "inf", None) as a float; None for
    None and NaN (undefined, or an older file's interpolated infinity)."""
    if value is None:
        return None
    number = float(value)  # float("inf") reads JSON's "inf"
    return None if math.isnan(number) else number


def interval_tone(speed: dict[str, Any]) -> str:
    """How a speed-up interval reads: "good" when its lower bound exceeds 1 (``inf`` included),
    "bad" when its upper bound is below 1, "" otherwise or where a bound is missing."""
    low, high = interval_bound(speed.get("low")), interval_bound(speed.get("high"))
    if low is not None and low > 1:
        return "good"
    if high is not None and high < 1:
        return "bad"
    return ""


def speedup_text(
    cell: dict[str, Any], activation: str, number: Callable[[Any], str] = format_value
) -> str:
    """The speed-up column of a comparison table for one activation and target.

    ``cell`` is ``summary["activations"][activation][target]`` of ``results.json``; the text is
    :func:`format_interval`'s, "baseline" for ReLU, "undefined (both missed)" where both
    medians are infinite, "- (no ReLU runs)" in a comparison without ReLU.
    """
    speed = cell.get("speedup_vs_relu")
    if speed is None:
        return "baseline" if activation == "relu" else "- (no ReLU runs)"
    return format_interval(speed, number) or "undefined (both missed)"
