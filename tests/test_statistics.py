"""Statistics checked against values worked out by hand from their formulas."""

from __future__ import annotations

import math

import pytest

from medexam.statistics import (
    CONSTANT_X,
    CONSTANT_Y,
    TOO_FEW_VALUES,
    bootstrap_interval,
    group_difference,
    holm_adjust,
    mcnemar_exact,
    paired_tests,
    proportion_gap,
    spearman_with_interval,
    wilson_interval,
)


def test_wilson_half_of_ten():
    # p = 0.5, n = 10: centre 0.5, half-width z*sqrt(pq/n + z^2/4n^2)/(1 + z^2/n) = 0.2634.
    interval = wilson_interval(5, 10)
    assert interval.low == pytest.approx(0.2366, abs=1e-4)
    assert interval.high == pytest.approx(0.7634, abs=1e-4)


def test_wilson_zero_of_ten():
    # With k = 0 the upper bound is (z^2/n) / (1 + z^2/n) = 0.2775.
    interval = wilson_interval(0, 10)
    assert interval.low == pytest.approx(0.0, abs=1e-12)
    assert interval.high == pytest.approx(0.2775, abs=1e-4)


def test_wilson_empty_sample():
    interval = wilson_interval(0, 0)
    assert interval.low is None


def test_mcnemar_exact_from_binomial():
    first = [True] * 9 + [False] * 1 + [True] * 5
    second = [False] * 9 + [True] * 1 + [True] * 5
    only_first, only_second, p_value = mcnemar_exact(first, second)
    assert only_first == 9
    assert only_second == 1
    # Two-sided: 2 * P(X <= 1) for X ~ Binomial(10, 1/2) = 2 * 11 / 1024.
    assert p_value == pytest.approx(22 / 1024)


def test_mcnemar_no_discordant_pairs():
    _, _, p_value = mcnemar_exact([True, False], [True, False])
    assert p_value == 1.0


def test_mcnemar_rejects_unpaired():
    with pytest.raises(ValueError, match="same items"):
        mcnemar_exact([True], [True, False])


def test_holm_by_hand():
    # Sorted 0.01, 0.03, 0.04 times 3, 2, 1 gives 0.03, 0.06, 0.04 -> monotone 0.06.
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_holm_caps_at_one():
    assert holm_adjust([0.6, 0.7]) == pytest.approx([1.0, 1.0])


def test_paired_tests_adjusts_pairs():
    correct = {
        "m1": [True] * 10 + [False] * 10,
        "m2": [False] * 10 + [True] * 10,
        "m3": [True] * 20,
    }
    tests = paired_tests(correct)
    assert [(t.first, t.second) for t in tests] == [("m1", "m2"), ("m1", "m3"), ("m2", "m3")]
    assert tests[0].p_holm == pytest.approx(min(1.0, 3 * tests[0].p_value))
    assert tests[1].p_holm >= tests[1].p_value


def test_spearman_hand_example():
    # Rank differences -1, 1, -1, 1, 0: rho = 1 - 6 * 4 / (5 * 24) = 0.8.
    result = spearman_with_interval([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    assert result.rho == pytest.approx(0.8)
    assert result.interval.low <= result.rho <= result.interval.high


def test_spearman_too_few_points():
    result = spearman_with_interval([1, 2], [3, 4])
    assert result.rho is None
    assert result.undefined == TOO_FEW_VALUES


@pytest.mark.parametrize(
    ("x", "y", "reason"),
    [([7, 14, 72], [0.5, 0.5, 0.5], CONSTANT_Y), ([7, 7, 7], [0.4, 0.5, 0.6], CONSTANT_X)],
)
def test_spearman_names_constant_variable(x, y, reason):
    result = spearman_with_interval(x, y)
    assert result.rho is None
    assert result.undefined == reason


def test_bootstrap_interval_repeatable():
    values = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    assert bootstrap_interval(values) == bootstrap_interval(values)


def test_bootstrap_interval_covers_mean():
    interval = bootstrap_interval([0, 1, 1, 0, 1, 1, 1, 0, 1, 1])
    assert interval.low < 0.7 < interval.high


def test_group_difference_estimate():
    result = group_difference([0.8, 0.7, 0.9], [0.5, 0.6, 0.4])
    assert result.estimate == pytest.approx(0.3)
    assert result.interval.low > 0


def test_proportion_gap_fisher():
    result = proportion_gap([True] * 8 + [False] * 2, [True] * 2 + [False] * 8)
    assert result.estimate == pytest.approx(0.6)
    # Fisher's exact two-sided p for [[8, 2], [2, 8]] is 0.02301 (hypergeometric sum).
    assert result.p_value == pytest.approx(0.0230, abs=1e-4)
    assert not math.isnan(result.interval.low)
