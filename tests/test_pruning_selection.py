"""Selection rules: known plans, the min-keep guard, ties, and messages."""

from __future__ import annotations

import numpy as np
import pytest

from bettiscope.pruning import (
    FilterScores,
    counts,
    select_count,
    select_ratio,
    select_threshold,
    uniform_counts,
)


def as_lists(plan):
    return {layer: indices.tolist() for layer, indices in plan.items()}


class TestThreshold:
    def test_strictly_above(self):
        plan = select_threshold({"a": [10, 400, 301, 300], "b": [5, 6]}, 300)
        assert as_lists(plan) == {"a": [1, 2], "b": []}

    def test_below_for_low_direction(self):
        plan = select_threshold({"a": [1.0, 5.0, 0.5]}, 2.0, direction="low")
        assert as_lists(plan) == {"a": [0, 2]}

    def test_never_empties_a_layer(self):
        # all above: the lowest-scoring filter is spared
        plan = select_threshold({"a": [900, 400, 700]}, 300)
        assert as_lists(plan) == {"a": [0, 2]}
        plan = select_threshold({"a": [900, 400, 700]}, 300, min_keep=2)
        assert as_lists(plan) == {"a": [0]}

    def test_accepts_filter_scores(self):
        scores = FilterScores("betti", {"a": np.array([1.0, 500.0])}, "high")
        assert as_lists(select_threshold(scores, 300)) == {"a": [1]}

    @pytest.mark.parametrize(
        ("args", "kwargs", "message"),
        [
            (({"a": [1.0]}, float("nan")), {}, "'threshold' parameter"),
            (({"a": [1.0]}, 3), {"min_keep": 0}, "'min_keep' parameter"),
            (({"a": [1.0]}, 3), {"direction": "up"}, "'direction' parameter"),
            (({"a": []}, 3), {}, "non-empty 1-D"),
            (({"a": [1.0, np.inf]}, 3), {}, "NaN or infinity"),
            (({}, 3), {}, "non-empty mapping"),
        ],
    )
    def test_bad_input(self, args, kwargs, message):
        with pytest.raises(ValueError, match=message):
            select_threshold(*args, **kwargs)


class TestRatio:
    def test_per_layer_rounding_and_direction(self):
        scores = {"a": [3, 1, 2, 5], "b": [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]}
        high = select_ratio(scores, 0.25)
        assert as_lists(high) == {"a": [3], "b": [0, 1, 2]}  # 1 of 4 (0.25*4), 3 of 10 (2.5 up)
        low = select_ratio(scores, 0.25, direction="low")
        assert as_lists(low) == {"a": [1], "b": [7, 8, 9]}

    def test_ties_break_by_index(self):
        plan = select_ratio({"a": [1.0, 1.0, 1.0, 1.0]}, 0.5)
        assert as_lists(plan) == {"a": [0, 1]}

    def test_global_takes_highest_anywhere_but_keeps_min(self):
        scores = {"a": [100, 90], "b": [1, 2, 3, 95]}
        plan = select_ratio(scores, 0.5, scope="global")
        # top 3 overall: 100 (a0), 95 (b3), 90 (a1) -- a must keep one, so b2 (3) comes next
        assert as_lists(plan) == {"a": [0], "b": [2, 3]}
        assert sum(counts(plan).values()) == 3

    def test_ratio_range(self):
        with pytest.raises(ValueError, match=r"'ratio' parameter of select_ratio.*\[0, 1\)"):
            select_ratio({"a": [1.0]}, 1.0)


class TestCount:
    def test_matched_counts_and_direction_check(self):
        scores = {"a": [5, 1, 9, 3], "b": [2, 8]}
        assert as_lists(select_count(scores, {"a": 2, "b": 1})) == {"a": [0, 2], "b": [1]}
        assert as_lists(select_count(scores, {"a": 2}, direction="low")) == {"a": [1, 3], "b": []}

    def test_errors(self):
        with pytest.raises(ValueError, match="unknown layer"):
            select_count({"a": [1.0, 2.0]}, {"c": 1})
        with pytest.raises(ValueError, match="cannot remove 2 of the 2 filters"):
            select_count({"a": [1.0, 2.0]}, {"a": 2})

    def test_uniform_counts_add_up(self):
        widths = {"a": 16, "b": 32, "c": 32, "d": 64}
        result = uniform_counts(widths, 30)
        assert sum(result.values()) == 30
        # shares 3.33, 6.67, 6.67, 13.33: floors 3, 6, 6, 13; the two largest remainders get +1
        assert result == {"a": 3, "b": 7, "c": 7, "d": 13}
        assert all(result[k] <= widths[k] - 1 for k in widths)
        # proportional: each within one of its exact share
        for layer, width in widths.items():
            assert abs(result[layer] - 30 * width / 144) < 1

    def test_uniform_counts_respect_min_keep(self):
        result = uniform_counts({"a": 2, "b": 100}, 60, min_keep=1)
        assert result["a"] <= 1 and sum(result.values()) == 60
        assert uniform_counts({"a": 2, "b": 2}, 10) == {"a": 1, "b": 1}
