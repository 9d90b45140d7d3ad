"""Topological filter pruning and the standard baselines, in three layers (as Torch-Pruning).

1. **Scoring** (:mod:`~bettiscope.pruning.scoring`): one score per filter -- ``betti`` (the
   paper's criterion: Betti number of the point cloud of the filter's output maps), ``l1``,
   ``hrank``, ``random``.
2. **Selection** (:mod:`~bettiscope.pruning.selection`): plain functions from scores to a plan
   ``{layer: indices}`` -- threshold, ratio (per layer or global), matched count.
3. **Removal** (:mod:`~bettiscope.pruning.removal`): Torch-Pruning's dependency graph with
   explicit indices; the model really gets smaller.

:mod:`~bettiscope.pruning.flow` runs the whole comparison behind ``bettiscope prune``.

Names are imported lazily, so worker processes that only need the torch-free kernel
(:mod:`~bettiscope.pruning._kernel`) start fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SCORERS": "scoring",
    "BettiConfig": "scoring",
    "BettiScorer": "scoring",
    "FilterScorer": "scoring",
    "FilterScores": "scoring",
    "HRankScorer": "scoring",
    "L1Scorer": "scoring",
    "RandomScorer": "scoring",
    "capture_maps": "scoring",
    "conv_layers": "scoring",
    "get_scorer": "scoring",
    "counts": "selection",
    "select_count": "selection",
    "select_ratio": "selection",
    "select_threshold": "selection",
    "uniform_counts": "selection",
    "PruneStep": "removal",
    "count_macs": "removal",
    "count_params": "removal",
    "describe_plan": "removal",
    "prune_filters": "removal",
    "pruned_copy": "removal",
    "PruneConfig": "flow",
    "run_pruning": "flow",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"bettiscope.pruning.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'bettiscope.pruning' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
