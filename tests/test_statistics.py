"""Paired speed-up statistics with known answers, and their text forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wilcoxon

from bettiscope.statistics import (
    censored,
    format_interval,
    format_percent,
    format_value,
    interval_bound,
    interval_tone,
    paired_wilcoxon,
    probability_of_improvement,
    speedup_interval,
    speedup_text,
)


def test_speedup_known_answers() -> None:
    relu = [100, 120, 80, 100, 110]
    fast = [50, 60, 40, 50, 55]
    result = speedup_interval(relu, fast, resamples=2000)
    assert result["speedup"] == pytest.approx(2.0)
    assert 1.5 < result["low"] <= 2.0 <= result["high"] < 2.6
    same = speedup_interval(relu, relu, resamples=2000)
    assert same["speedup"] == 1.0 and same["low"] == same["high"] == 1.0
    # misses count as infinity: an activation that always misses has speed-up 0
    missed = speedup_interval(relu, [math.inf] * 5, resamples=500)
    assert missed["speedup"] == 0.0
    both = speedup_interval([math.inf] * 3, [math.inf] * 3, resamples=200)
    assert math.isnan(both["speedup"]) and both["undefined_fraction"] == 1.0
    with pytest.raises(ValueError, match="paired 1-D samples"):
        speedup_interval([1, 2], [1])


def test_probability_of_improvement() -> None:
    assert probability_of_improvement([10, 10], [5, 5]) == 1.0
    assert probability_of_improvement([5, 5], [10, 10]) == 0.0
    assert probability_of_improvement([5, math.inf], [5, math.inf]) == 0.5


def test_speedup_interval_with_baseline_misses_is_open_ended() -> None:
    relu = [100, math.inf, 120, math.inf, 90, math.inf, 110, 95]
    other = [50, 60, 70, 55, 65, 52, 58, 61]
    result = speedup_interval(relu, other, resamples=2000)
    assert result["speedup"] == pytest.approx(np.median(relu) / np.median(other))
    assert result["high"] == math.inf and result["low"] > 1.0


def test_interval_text_and_tone_read_json_and_float_bounds_alike() -> None:
    # an interval that excludes 1 from above is "good" even when its bounds are infinite
    everywhere = {"speedup": "inf", "low": "inf", "high": "inf"}
    assert interval_tone(everywhere) == "good"
    assert interval_tone({"speedup": 2.0, "low": 1.2, "high": math.inf}) == "good"
    assert interval_tone({"speedup": 0.5, "low": 0.3, "high": 0.8}) == "bad"
    assert interval_tone({"speedup": 1.0, "low": 0.7, "high": 1.4}) == ""
    undefined = {"speedup": None, "low": None, "high": None}
    assert interval_tone(undefined) == "" and format_interval(undefined) is None
    assert interval_tone({"speedup": math.nan, "low": math.nan, "high": math.nan}) == ""
    assert format_interval({"speedup": 2.0, "low": 1.5, "high": 3.0}, str) == "2.0 [1.5, 3.0]"


def test_summary_numbers_keep_epoch_counts_whole() -> None:
    assert (
        format_value(3206.0) == "3206"
        and format_value(1460.5) == "1460.5"
        and format_value(92.0) == "92"
    )
    assert (
        format_value(0.1234) == "0.123"
        and format_value(2.5e-05) == "2.5e-05"
        and format_value(3e12) == "3e+12"
    )
    assert format_value(float("inf")) == "inf" and format_value(None) == "-"
    # a median of two epoch counts keeps its half; other numbers keep 3 significant figures
    assert format_value(122.5) == "122.5" and format_value(961.5) == "961.5"
    assert format_value(122.25) == "122" and format_value(2.5) == "2.5"


def test_wilcoxon_ranks_a_miss_as_one_epoch_past_the_budget() -> None:
    relu = np.array([100.0, math.inf, 120.0, math.inf, 90.0, 130.0])
    other = np.array([50.0, 60.0, 70.0, 55.0, 65.0, 140.0])
    result = paired_wilcoxon(relu, other, budget=1000)
    expected = wilcoxon([100, 1001, 120, 1001, 90, 130], other, alternative="two-sided")
    assert result["p_value"] == pytest.approx(expected.pvalue)
    assert result["statistic"] == pytest.approx(expected.statistic) and result["n"] == 6
    # every pair tied (both missed everywhere): no evidence either way
    tied = paired_wilcoxon(np.full(4, math.inf), np.full(4, math.inf), budget=10)
    assert tied["p_value"] == 1.0 and tied["statistic"] is None


@settings(max_examples=40, deadline=None)
@given(
    epochs=st.lists(st.integers(1, 5000), min_size=2, max_size=12),
    factor=st.sampled_from([0.5, 2.0, 4.0]),
)
def test_speedup_is_the_ratio_of_medians_and_inverts_when_the_arms_swap(epochs, factor) -> None:
    baseline = np.array(epochs, float)
    faster = baseline / factor
    result = speedup_interval(baseline, faster, resamples=200)
    # every bootstrap draw scales both medians alike: the interval collapses onto the factor
    assert result["speedup"] == pytest.approx(factor)
    assert result["low"] == pytest.approx(factor) and result["high"] == pytest.approx(factor)
    other = np.roll(baseline, 1) + 1.0
    forward = speedup_interval(baseline, other, resamples=200)["speedup"]
    backward = speedup_interval(other, baseline, resamples=200)["speedup"]
    assert forward == pytest.approx(np.median(baseline) / np.median(other))
    assert forward * backward == pytest.approx(1.0)


def test_a_miss_recorded_as_none_counts_as_infinity() -> None:
    # TrainHistory records a missed target as None: it must not turn into NaN (undefined)
    relu, other = [None, 12, 30, None], [5, 6, 7, 8]
    as_inf = [math.inf if v is None else v for v in relu]
    result = speedup_interval(relu, other, resamples=500)
    assert result == speedup_interval(as_inf, other, resamples=500)
    assert result["speedup"] == math.inf and result["undefined_fraction"] < 0.2
    assert speedup_interval([None, 12], [5, 6], resamples=500)["speedup"] == math.inf
    assert paired_wilcoxon(relu, other, budget=40) == paired_wilcoxon(as_inf, other, budget=40)
    assert probability_of_improvement(relu, other) == probability_of_improvement(as_inf, other)
    assert censored(None) == math.inf and censored(7) == 7.0


@pytest.mark.parametrize(
    ("baseline", "other", "message"),
    [
        ([-2, 12], [1, 6], r"baseline holds -2 at position 0; epochs to target must be >= 0"),
        ([2, 12], [1, math.nan], r"other holds nan at position 1"),
        ([2, -math.inf], [1, 6], r"baseline holds -inf at position 1"),
        (["3", 12], [1, 6], r"baseline must hold epochs to target .* got '3' at position 0"),
        ([True, 12], [1, 6], r"got True at position 0"),
        ([[1, 2]], [[1, 2]], r"baseline must be a 1-D sequence .* shape \(1, 2\)"),
        ([1, 2, 3], [1, 2], r"paired 1-D samples of equal length .* \(3,\) and \(2,\)"),
        ([], [], r"at least one entry"),
    ],
)
def test_speedup_interval_refuses_what_is_not_epochs(baseline, other, message) -> None:
    with pytest.raises(ValueError, match=message):
        speedup_interval(baseline, other, resamples=100)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"resamples": 0}, r"'resamples' parameter of speedup_interval must be an int"),
        ({"resamples": -1}, r"'resamples' parameter of speedup_interval .* Got -1"),
        ({"resamples": 100.0}, r"'resamples' parameter of speedup_interval"),
        ({"confidence": 95}, r"'confidence' parameter .* \(0, 1\). Got 95 .* e.g. 0.95"),
        ({"confidence": 1.0}, r"'confidence' parameter of speedup_interval"),
        ({"seed": -1}, r"'seed' parameter of speedup_interval"),
        ({"resamples": 10**13}, r"speedup_interval with 10000000000000 resamples .* would need"),
    ],
)
def test_speedup_interval_refuses_bad_parameters(options, message) -> None:
    with pytest.raises(ValueError, match=message):
        speedup_interval([2, 12], [1, 6], **options)


def test_speedup_interval_takes_numpy_numbers_as_python_ones() -> None:
    relu, fast = [100, 120, 80, 100, 110], [50, 60, 40, 50, 55]
    plain = speedup_interval(relu, fast, resamples=300, confidence=0.9, seed=3)
    numpy = speedup_interval(
        np.array(relu, np.int64),
        np.array(fast, np.float32),
        resamples=np.int64(300),
        confidence=np.float64(0.9),
        seed=np.int32(3),
    )
    assert numpy == plain and type(numpy["confidence"]) is float


def test_wilcoxon_and_win_rate_refuse_bad_input() -> None:
    relu, other = np.array([100.0, 120.0, 90.0]), np.array([50.0, 60.0, 70.0])
    with pytest.raises(ValueError, match=r"paired_wilcoxon: need two paired .* \(3,\) and \(2,\)"):
        paired_wilcoxon(relu, other[:2], budget=200)
    for budget in (None, 0, 2.5, "200"):
        with pytest.raises(ValueError, match="'budget' parameter of paired_wilcoxon"):
            paired_wilcoxon(relu, other, budget=budget)
    # a run past the budget would rank better than a miss (budget + 1): a wrong budget
    with pytest.raises(ValueError, match=r"baseline holds 120 epochs at position 1, past the"):
        paired_wilcoxon(relu, other, budget=100)
    with pytest.raises(ValueError, match="other holds -5"):
        paired_wilcoxon(relu, [50, -5, 70], budget=200)
    with pytest.raises(ValueError, match=r"probability_of_improvement: need at least one run"):
        probability_of_improvement([], [1, 2])
    with pytest.raises(ValueError, match="probability_of_improvement: baseline holds nan"):
        probability_of_improvement([math.nan], [1, 2])
    # unpaired samples of different sizes are fine for the win rate
    assert probability_of_improvement([10, 20, 30], [5]) == 1.0


@pytest.mark.parametrize("epochs", [-1, math.nan, "3", True, [3]])
def test_censored_refuses_what_is_not_epochs(epochs) -> None:
    with pytest.raises(ValueError, match="censored: epochs must be None"):
        censored(epochs)


def test_text_helpers_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="format_percent: fraction must be a number; got 'a'"):
        format_percent("a")
    with pytest.raises(ValueError, match="'digits' parameter of format_value"):
        format_value(1.0, 0)
    with pytest.raises(ValueError, match="format_interval: speed must be a dict .* got list"):
        format_interval([1.0, 0.5, 2.0])
    with pytest.raises(ValueError, match="format_interval: number must be a function"):
        format_interval({"speedup": 2.0, "low": 1.0, "high": 3.0}, number="%.2f")
    with pytest.raises(ValueError, match="interval_bound: value must be a number.* got 'abc'"):
        interval_bound("abc")
    with pytest.raises(ValueError, match="interval_tone: speed must be a dict .* got NoneType"):
        interval_tone(None)
    with pytest.raises(ValueError, match="interval_bound: value must be .* got 'wide'"):
        interval_tone({"low": "wide", "high": 2.0})
    with pytest.raises(ValueError, match="speedup_text: cell must be a dict"):
        speedup_text(None, "tanh")
    with pytest.raises(ValueError, match="speedup_text: activation must be a name"):
        speedup_text({}, 3)
    assert interval_bound("inf") == math.inf and format_percent(0.95) == "95%"
