"""Paired speed-up statistics, and how they read in tables.

A speed-up is ``median(baseline epochs) / median(other epochs)`` over seeds paired by
position, a missed target (None, as training records it, or ``inf``) counting as ``inf``
epochs (the convergence protocol's censoring).
:func:`speedup_interval` adds a paired percentile bootstrap interval, :func:`paired_wilcoxon`
the signed-rank test and :func:`probability_of_improvement` the pairwise win rate (Agarwal et
al. 2021). The ``format_*`` helpers and :func:`interval_tone` turn a result into the text and
colour shared by ``summary.md``, ``report.html``, the terminal tables and the forest plots.
Used by :mod:`bettiscope.experiments` (within one folder) and :mod:`bettiscope.paired`
(across folders).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from bettiscope._validation import Interval, check_memory, check_param

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


def censored(epochs: float | None) -> float:
    """Epochs to target as a number for the statistics: a run that missed (None) is ``inf``.

    Raises
    ------
    ValueError
        If ``epochs`` is not None or a number >= 0 (NaN, negative, a string, a bool).
    """
    if epochs is None:
        return math.inf
    if not _is_epochs(epochs):
        raise ValueError(
            f"censored: epochs must be None (a missed target) or a number of epochs >= 0; got "
            f"{epochs!r}."
        )
    return float(epochs)


def _is_real(value: Any) -> bool:
    """A real number that is not a bool (Python's or NumPy's)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_epochs(value: Any) -> bool:
    """A number of epochs: a real number >= 0 (``inf`` included, NaN not)."""
    return _is_real(value) and float(value) >= 0  # NaN >= 0 is False


def _epochs(values: Any, *, caller: str, name: str) -> np.ndarray:
    """``values`` (epochs to target per run) as a 1-D float array, a miss (None, as
    :class:`~bettiscope.training.TrainHistory` records it, or ``inf``) as ``inf``.

    Numeric arrays are converted as ``np.asarray(values, dtype=float)`` converts them, so the
    statistics of valid input do not depend on this check.

    Raises
    ------
    ValueError
        If ``values`` is not 1-D, or holds something other than numbers >= 0, ``inf`` and None.
    """
    try:
        raw = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    except ValueError as error:  # e.g. nested sequences of different depths
        raise ValueError(
            f"{caller}: {name} must be a 1-D sequence of epochs to target; could not read it "
            f"({error})."
        ) from None
    if raw.ndim != 1:
        raise ValueError(
            f"{caller}: {name} must be a 1-D sequence of epochs to target (one per run); got "
            f"shape {raw.shape}."
        )
    if raw.dtype.kind in "iuf":
        array = np.asarray(raw, dtype=float)
    else:
        wrong = [i for i, v in enumerate(raw) if not (v is None or _is_real(v))]
        if wrong:
            raise ValueError(
                f"{caller}: {name} must hold epochs to target (numbers; None or inf for a "
                f"missed target); got {raw[wrong[0]]!r} at position {wrong[0]}."
            )
        array = np.array([math.inf if v is None else float(v) for v in raw], dtype=float)
    bad = np.flatnonzero(~(array >= 0))  # NaN and negative numbers
    if len(bad):
        raise ValueError(
            f"{caller}: {name} holds {raw[bad[0]]!r} at position {bad[0]}; epochs to target must "
            "be >= 0, a missed target None or inf (not NaN)."
        )
    return array


def _paired(baseline: Any, other: Any, caller: str) -> tuple[np.ndarray, np.ndarray]:
    """Both samples checked by :func:`_epochs`, of equal length (paired by position)."""
    a = _epochs(baseline, caller=caller, name="baseline")
    b = _epochs(other, caller=caller, name="other")
    if a.shape != b.shape:
        raise ValueError(
            f"{caller}: need two paired 1-D samples of equal length (one entry per seed); got "
            f"{a.shape} and {b.shape}. Pass the same seeds, in the same order, for both."
        )
    return a, b


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
    baseline, other : sequence of float or None
        Epochs-to-target per seed (>= 0), paired by position; ``inf`` or None = missed the
        target.
    resamples : int, default=10000
        Bootstrap draws (seeds resampled with replacement, the same draw for both); >= 1.
    confidence : float, default=0.95
        Coverage of the percentile interval, in (0, 1).
    seed : int, default=0
        Seed of the bootstrap draws (fixed, so a summary re-rendered reads the same); >= 0.

    Returns
    -------
    dict
        ``speedup`` (point estimate), ``low``, ``high`` (percentile interval over the draws
        where the ratio is defined), ``undefined_fraction`` (draws where both medians are inf),
        ``resamples``, ``confidence``.

    Raises
    ------
    ValueError
        If the samples are empty, of different lengths, not 1-D or hold anything but epochs
        >= 0, inf and None; if a parameter is out of range; if the draws would not fit in
        memory.
    """
    caller = "speedup_interval"
    check_param("resamples", resamples, Interval(int, 1, None, closed="left"), caller=caller)
    check_param(
        "confidence",
        confidence,
        Interval(float, 0, 1, closed="neither"),
        caller=caller,
        hint="Give a fraction, e.g. 0.95 for a 95% interval.",
    )
    check_param("seed", seed, Interval(int, 0, None, closed="left"), caller=caller)
    a, b = _paired(baseline, other, caller)
    if len(a) == 0:
        raise ValueError(
            f"{caller}: need two paired 1-D samples of equal length with at least one entry; "
            "got two empty ones."
        )
    # the draws, both samples indexed by them and the medians' working copies
    check_memory(
        f"{caller} with {resamples} resamples of {len(a)} seeds",
        5 * 8 * float(resamples) * len(a),
        "Pass fewer resamples.",
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
        "confidence": float(confidence),
    }


def paired_wilcoxon(baseline: ArrayLike, other: ArrayLike, budget: int) -> dict[str, Any]:
    """Paired Wilcoxon signed-rank test (two-sided) of epochs to target.

    ``baseline`` and ``other`` hold epochs per seed, paired by position, ``inf`` or None =
    missed; a miss ranks as ``budget + 1`` epochs (the worst), so every finite count must be
    at most ``budget`` (an int >= 1, the runs' epoch budget). Returns ``statistic``,
    ``p_value`` (1.0 when every pair ties; None for no pairs) and ``n``.

    Raises
    ------
    ValueError
        If the samples differ in length, are not 1-D, hold anything but epochs >= 0, inf and
        None, or a count past ``budget``; if ``budget`` is not an int >= 1.
    """
    from scipy.stats import wilcoxon

    caller = "paired_wilcoxon"
    check_param(
        "budget",
        budget,
        Interval(int, 1, None, closed="left"),
        caller=caller,
        hint="Pass the runs' epoch budget (max_epochs): a miss ranks as budget + 1 epochs.",
    )
    baseline, other = _paired(baseline, other, caller)
    for name, values in (("baseline", baseline), ("other", other)):
        past = np.flatnonzero(np.isfinite(values) & (values > budget))
        if len(past):
            raise ValueError(
                f"{caller}: {name} holds {values[past[0]]:g} epochs at position {past[0]}, past "
                f"the budget of {budget}; a miss ranks as budget + 1 epochs, so it would rank "
                "better than this run. Pass the runs' epoch budget, or count runs past it as "
                "misses (inf)."
            )
    a = np.where(np.isinf(baseline), budget + 1, baseline)
    b = np.where(np.isinf(other), budget + 1, other)
    differences = a - b
    if len(a) < 2 or np.all(differences == 0):
        return {"statistic": None, "p_value": 1.0 if len(a) else None, "n": len(a)}
    result = wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    return {"statistic": float(result.statistic), "p_value": float(result.pvalue), "n": len(a)}


def probability_of_improvement(baseline: ArrayLike, other: ArrayLike) -> float:
    """P(a run of ``other`` needs fewer epochs than a run of ``baseline``); ties count half.

    Over all pairs of runs (Agarwal et al. 2021; the samples need not be paired or of equal
    length); misses are inf or None (ties with each other).

    Raises
    ------
    ValueError
        If a sample is empty, not 1-D, or holds anything but epochs >= 0, inf and None.
    """
    caller = "probability_of_improvement"
    a = _epochs(baseline, caller=caller, name="baseline")[None, :]
    b = _epochs(other, caller=caller, name="other")[:, None]
    if a.size == 0 or b.size == 0:
        raise ValueError(
            f"{caller}: need at least one run in each sample; got {a.size} baseline and "
            f"{b.size} other run(s)."
        )
    return float(np.mean((b < a) + 0.5 * (b == a)))


def format_percent(fraction: float) -> str:
    """0.95 -> '95%', 1.0 -> '100%', 0.995 -> '99.5%'.

    Raises
    ------
    ValueError
        If ``fraction`` is not a number.
    """
    if not _is_real(fraction):
        raise ValueError(f"format_percent: fraction must be a number; got {fraction!r}.")
    return f"{100 * fraction:g}%"


def format_value(value: Any, digits: int = 3) -> str:
    """A number for a table cell: ``digits`` significant figures, but epoch counts and their
    medians in full (3206, not 3.21e+03; 122.5, not 122); "-" for None, "inf", "n/a" for NaN;
    other values as ``str``. ``digits`` must be an int >= 1."""
    check_param("digits", digits, Interval(int, 1, None, closed="left"), caller="format_value")
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
    stores it).

    Raises
    ------
    ValueError
        If ``speed`` is not a mapping or ``number`` is not callable.
    """
    _check_mapping(speed, "format_interval", "speed", "a speedup_interval result")
    if not callable(number):
        raise ValueError(
            f"format_interval: number must be a function from a value to its text; got {number!r}."
        )
    point = speed.get("speedup")
    if point is None or (isinstance(point, float) and math.isnan(point)):
        return None
    return f"{number(point)} [{number(speed.get('low'))}, {number(speed.get('high'))}]"


def interval_bound(value: Any) -> float | None:
    """A speed-up or interval bound as stored (float, JSON's "inf", None) as a float; None for
    None and NaN (undefined, or an older file's interpolated infinity).

    Raises
    ------
    ValueError
        If ``value`` is neither None, a number nor a number's text.
    """
    if value is None:
        return None
    try:
        if isinstance(value, (bool, np.bool_)):
            raise TypeError
        number = float(value)  # float("inf") reads JSON's "inf"
    except (TypeError, ValueError):
        raise ValueError(
            f"interval_bound: value must be a number, its text (JSON's 'inf') or None; got "
            f"{value!r}."
        ) from None
    return None if math.isnan(number) else number


def interval_tone(speed: dict[str, Any]) -> str:
    """How a speed-up interval reads: "good" when its lower bound exceeds 1 (``inf`` included),
    "bad" when its upper bound is below 1, "" otherwise or where a bound is missing.

    Raises
    ------
    ValueError
        If ``speed`` is not a mapping or a bound is not a number, its text or None.
    """
    _check_mapping(speed, "interval_tone", "speed", "a speedup_interval result")
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

    Raises
    ------
    ValueError
        If ``cell`` is not a mapping or ``activation`` not a string.
    """
    _check_mapping(cell, "speedup_text", "cell", 'summary["activations"][activation][target]')
    if not isinstance(activation, str):
        raise ValueError(f"speedup_text: activation must be a name (str); got {activation!r}.")
    speed = cell.get("speedup_vs_relu")
    if speed is None:
        return "baseline" if activation == "relu" else "- (no ReLU runs)"
    return format_interval(speed, number) or "undefined (both missed)"


def _check_mapping(value: Any, caller: str, name: str, expected: str) -> None:
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{caller}: {name} must be a dict ({expected}); got {type(value).__name__}."
        )
