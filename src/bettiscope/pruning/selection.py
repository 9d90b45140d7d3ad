"""Which filters to remove: plain functions from scores to a plan ``{layer: indices}``.

Every rule returns a *plan*: for each scored layer, the sorted indices of the filters to remove
(possibly none). Rules never empty a layer: at least ``min_keep`` filters stay (default 1).
Ties are broken by filter index (lower index first), so plans are deterministic.

- :func:`select_threshold` -- the paper's rule: every filter whose score is above a threshold.
- :func:`select_ratio` -- a fraction of filters per layer, or globally across layers.
- :func:`select_count` -- a given number per layer (the matched-count controls and the
  direction check use the Betti rule's per-layer counts).
- :func:`uniform_counts` -- spread a total over layers in proportion to their widths.

``direction="high"`` removes the highest scores first (Betti, random), ``"low"`` the lowest
(L1-norm, HRank).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from bettiscope._validation import Interval, Options, check_param

if TYPE_CHECKING:  # duck-typed at run time: anything with a ``scores`` mapping
    from bettiscope.pruning.scoring import FilterScores

__all__ = [
    "Plan",
    "counts",
    "select_count",
    "select_ratio",
    "select_threshold",
    "uniform_counts",
]

Plan = dict[str, np.ndarray]
DIRECTIONS = ("high", "low")
SCOPES = ("layer", "global")


def _as_scores(scores: Mapping[str, Any] | FilterScores, caller: str) -> dict[str, np.ndarray]:
    by_layer = getattr(scores, "scores", scores)  # a FilterScores, or the mapping itself
    if not isinstance(by_layer, Mapping) or not by_layer:
        raise ValueError(f"{caller}: scores must be a non-empty mapping {{layer: scores}}.")
    out = {}
    for layer, values in by_layer.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1 or len(array) == 0:
            raise ValueError(
                f"{caller}: scores of layer {layer!r} must be a non-empty 1-D array; "
                f"got shape {array.shape}."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{caller}: scores of layer {layer!r} contain NaN or infinity.")
        out[str(layer)] = array
    return out


def _order(values: np.ndarray, direction: str) -> np.ndarray:
    """Filter indices, the first to remove first; ties by lower index."""
    index = np.arange(len(values))
    key = -values if direction == "high" else values
    return np.lexsort((index, key))


def _check_min_keep(min_keep: int, caller: str) -> None:
    check_param("min_keep", min_keep, Interval(int, 1, None), caller=caller)


def counts(plan: Mapping[str, Any]) -> dict[str, int]:
    """Filters removed per layer."""
    return {layer: len(indices) for layer, indices in plan.items()}


def select_threshold(
    scores: Mapping[str, Any] | FilterScores,
    threshold: float,
    *,
    direction: str = "high",
    min_keep: int = 1,
) -> Plan:
    """Remove every filter whose score is above ``threshold`` (below, for ``direction="low"``).

    Parameters
    ----------
    scores : mapping of str to array-like, or FilterScores
    threshold : float
        Strict: a score equal to the threshold stays ("Betti number > 300" is removed).
    direction : {"high", "low"}, default="high"
    min_keep : int, default=1
        Filters that always stay per layer. If the threshold would leave fewer, the filters
        furthest on the kept side among those above it are spared.

    Returns
    -------
    dict of str to ndarray of int
        Sorted indices to remove, per layer.

    Examples
    --------
    >>> plan = select_threshold({"conv1": [10, 400, 301, 300]}, 300)
    >>> plan["conv1"].tolist()
    [1, 2]
    """
    caller = "select_threshold"
    values = _as_scores(scores, caller)
    check_param("threshold", threshold, Interval(float, None, None), caller=caller)
    check_param("direction", direction, Options(DIRECTIONS), caller=caller)
    _check_min_keep(min_keep, caller)
    plan: Plan = {}
    for layer, layer_scores in values.items():
        beyond = layer_scores > threshold if direction == "high" else layer_scores < threshold
        order = _order(layer_scores, direction)
        chosen = order[beyond[order]]
        room = max(len(layer_scores) - min_keep, 0)
        plan[layer] = np.sort(chosen[:room])
    return plan


def select_ratio(
    scores: Mapping[str, Any] | FilterScores,
    ratio: float,
    *,
    direction: str = "high",
    scope: str = "layer",
    min_keep: int = 1,
) -> Plan:
    """Remove a fraction of the filters, per layer or across all layers at once.

    Parameters
    ----------
    scores : mapping of str to array-like, or FilterScores
    ratio : float
        Fraction to remove, in [0, 1). Per layer: ``floor(ratio * n + 0.5)`` filters of a
        layer of ``n``. Global: that many of all filters, taken in score order over all layers
        (raw scores compared across layers), skipping layers already down to ``min_keep``.
    direction : {"high", "low"}, default="high"
    scope : {"layer", "global"}, default="layer"
    min_keep : int, default=1

    Returns
    -------
    dict of str to ndarray of int
    """
    caller = "select_ratio"
    values = _as_scores(scores, caller)
    check_param("ratio", ratio, Interval(float, 0.0, 1.0, "left"), caller=caller)
    check_param("direction", direction, Options(DIRECTIONS), caller=caller)
    check_param("scope", scope, Options(SCOPES), caller=caller)
    _check_min_keep(min_keep, caller)
    if scope == "layer":
        wanted = {
            layer: min(math.floor(ratio * len(v) + 0.5), max(len(v) - min_keep, 0))
            for layer, v in values.items()
        }
        return select_count(values, wanted, direction=direction, min_keep=min_keep)
    total = sum(len(v) for v in values.values())
    target = math.floor(ratio * total + 0.5)
    layers = list(values)
    flat_layer = np.concatenate([np.full(len(values[name]), i) for i, name in enumerate(layers)])
    flat_index = np.concatenate([np.arange(len(values[name])) for name in layers])
    flat_scores = np.concatenate([values[name] for name in layers])
    key = -flat_scores if direction == "high" else flat_scores
    order = np.lexsort((flat_index, flat_layer, key))
    room = {name: max(len(values[name]) - min_keep, 0) for name in layers}
    picked: dict[str, list[int]] = {name: [] for name in layers}
    taken = 0
    for position in order:
        if taken >= target:
            break
        name = layers[flat_layer[position]]
        if len(picked[name]) < room[name]:
            picked[name].append(int(flat_index[position]))
            taken += 1
    return {name: np.sort(np.asarray(picked[name], dtype=np.int64)) for name in layers}


def select_count(
    scores: Mapping[str, Any] | FilterScores,
    wanted: Mapping[str, int],
    *,
    direction: str = "high",
    min_keep: int = 1,
) -> Plan:
    """Remove exactly ``wanted[layer]`` filters per layer, from the ``direction`` end.

    Parameters
    ----------
    scores : mapping of str to array-like, or FilterScores
    wanted : mapping of str to int
        Filters to remove per layer; layers not listed lose none.
    direction : {"high", "low"}, default="high"
    min_keep : int, default=1

    Raises
    ------
    ValueError
        A count is negative, names an unknown layer, or would leave fewer than ``min_keep``.
    """
    caller = "select_count"
    values = _as_scores(scores, caller)
    check_param("direction", direction, Options(DIRECTIONS), caller=caller)
    _check_min_keep(min_keep, caller)
    unknown = sorted(set(wanted) - set(values))
    if unknown:
        raise ValueError(
            f"{caller}: counts name unknown layer(s) {unknown}; known: {list(values)}."
        )
    plan: Plan = {}
    for layer, layer_scores in values.items():
        count = wanted.get(layer, 0)
        if isinstance(count, bool) or not float(count).is_integer():
            raise ValueError(
                f"{caller}: the count for layer {layer!r} must be an integer; got {count!r}."
            )
        n = int(count)
        if min_keep > len(layer_scores):
            raise ValueError(
                f"{caller}: min_keep={min_keep} is more than the {len(layer_scores)} filters of "
                f"layer {layer!r}; lower min_keep."
            )
        if n < 0 or n > len(layer_scores) - min_keep:
            raise ValueError(
                f"{caller}: cannot remove {n} of the {len(layer_scores)} filters of layer "
                f"{layer!r} and keep at least {min_keep}."
            )
        plan[layer] = np.sort(_order(layer_scores, direction)[:n])
    return plan


def uniform_counts(widths: Mapping[str, int], total: int, *, min_keep: int = 1) -> dict[str, int]:
    """Spread ``total`` removals over layers in proportion to their widths.

    Largest-remainder rounding, so the counts add up to ``total`` exactly (capped so every
    layer keeps ``min_keep``; the cap may leave the sum short only if ``total`` is too large
    to fit at all). This is the uniform per-layer budget of Li et al.'s L1 pruning, matched to
    another rule's total.

    Parameters
    ----------
    widths : mapping of str to int
        Filters per layer, each a positive int, e.g. ``{"conv1": 16, "conv2": 32}``.
    total : int
        Filters to remove in all, >= 0.
    min_keep : int, default=1
        Filters that always stay per layer.

    Returns
    -------
    dict of str to int
        Filters to remove per layer, in the order of ``widths``.

    Raises
    ------
    ValueError
        ``widths`` is not a mapping of layer names to positive ints, or ``total`` /
        ``min_keep`` is out of range.
    """
    caller = "uniform_counts"
    _check_min_keep(min_keep, caller)
    check_param("total", total, Interval(int, 0, None), caller=caller)
    if not isinstance(widths, Mapping):
        raise ValueError(
            f"{caller}: widths must be a mapping {{layer: number of filters}}, e.g. "
            f"{{'conv1': 16, 'conv2': 32}}; got {type(widths).__name__} {widths!r}."
        )
    for layer, width in widths.items():
        if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 1:
            raise ValueError(
                f"{caller}: the width of layer {layer!r} must be a positive int (its number "
                f"of filters); got {width!r}."
            )
    layers = list(widths)
    room = np.array([max(int(widths[name]) - min_keep, 0) for name in layers])
    total = min(total, int(room.sum()))
    sizes = np.array([int(widths[name]) for name in layers], dtype=float)
    share = total * sizes / sizes.sum() if sizes.sum() else np.zeros(len(layers))
    base = np.minimum(np.floor(share).astype(int), room)
    remainder = share - np.floor(share)
    for position in np.lexsort((np.arange(len(layers)), -remainder)):
        if base.sum() >= total:
            break
        if base[position] < room[position]:
            base[position] += 1
    while base.sum() < total:  # caps pushed some share elsewhere: fill layers with room
        position = int(np.argmax(room - base))
        base[position] += 1
    return {name: int(n) for name, n in zip(layers, base, strict=True)}
