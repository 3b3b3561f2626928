"""Intervals and tests for leaderboard figures.

All intervals are two-sided 95%. Bootstrap intervals use the percentile method
with a fixed seed (BOOTSTRAP_SEED) so a report computed twice prints the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
BOOTSTRAP_SEED = 20261204
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_METHOD = "percentile"

# Why Spearman's rho is undefined: fewer than 3 pairs, or one variable constant.
TOO_FEW_VALUES = "too_few_values"
CONSTANT_X = "constant_x"
CONSTANT_Y = "constant_y"


@dataclass(frozen=True)
class Interval:
    low: float | None
    high: float | None


@dataclass(frozen=True)
class PairedTest:
    """McNemar's exact test of two models on the same items."""

    first: str
    second: str
    only_first_correct: int
    only_second_correct: int
    p_value: float
    p_holm: float | None = None


@dataclass(frozen=True)
class Correlation:
    """Spearman's rho with its interval; undefined names the cause when rho is None."""

    rho: float | None
    p_value: float | None
    interval: Interval
    n: int
    undefined: str | None = None


@dataclass(frozen=True)
class Difference:
    """A difference of two accuracies (first minus second) with its bootstrap interval."""

    estimate: float | None
    interval: Interval
    p_value: float | None = None


def wilson_interval(correct: int, total: int) -> Interval:
    """Wilson score interval for a proportion of correct answers out of total."""
    if total <= 0:
        return Interval(None, None)
    ci = stats.binomtest(correct, total).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return Interval(float(ci.low), float(ci.high))


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], float] = np.mean,
    *,
    seed: int = BOOTSTRAP_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Interval:
    """Percentile bootstrap interval of statistic(values), resampling values with replacement."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Interval(None, None)
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, data.size, size=(resamples, data.size))
    estimates = np.array([statistic(data[row]) for row in indices], dtype=float)
    return _percentiles(estimates)


def _percentiles(estimates: np.ndarray) -> Interval:
    estimates = estimates[~np.isnan(estimates)]
    if estimates.size == 0:
        return Interval(None, None)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return Interval(float(low), float(high))


def mcnemar_exact(
    first_correct: Sequence[bool], second_correct: Sequence[bool]
) -> tuple[int, int, float]:
    """McNemar's exact test on paired correctness of two models over the same items.

    Returns (items only the first got right, items only the second got right,
    two-sided p). The p-value is the binomial test of the discordant pairs
    against one half; with no discordant pairs it is 1.
    """
    if len(first_correct) != len(second_correct):
        raise ValueError(
            f"paired outcomes differ in length ({len(first_correct)} vs {len(second_correct)}); "
            "pass both models' results on the same items in the same order"
        )
    only_first = sum(1 for a, b in zip(first_correct, second_correct, strict=True) if a and not b)
    only_second = sum(1 for a, b in zip(first_correct, second_correct, strict=True) if b and not a)
    discordant = only_first + only_second
    if discordant == 0:
        return only_first, only_second, 1.0
    p_value = stats.binomtest(min(only_first, only_second), discordant, 0.5).pvalue
    return only_first, only_second, float(min(1.0, p_value))


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of p-values for multiple comparisons, in input order."""
    count = len(p_values)
    order = sorted(range(count), key=lambda index: p_values[index])
    adjusted = [0.0] * count
    running_max = 0.0
    for rank, index in enumerate(order):
        running_max = max(running_max, (count - rank) * p_values[index])
        adjusted[index] = min(1.0, running_max)
    return adjusted


def paired_tests(correct_by_model: Mapping[str, Sequence[bool]]) -> list[PairedTest]:
    """McNemar's exact test for every pair of models, Holm-adjusted across the pairs.

    Each model's sequence must cover the same items in the same order.
    """
    names = list(correct_by_model)
    raw: list[PairedTest] = []
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            only_first, only_second, p_value = mcnemar_exact(
                correct_by_model[first], correct_by_model[second]
            )
            raw.append(PairedTest(first, second, only_first, only_second, p_value))

    adjusted = holm_adjust([test.p_value for test in raw])
    return [
        PairedTest(t.first, t.second, t.only_first_correct, t.only_second_correct, t.p_value, p)
        for t, p in zip(raw, adjusted, strict=True)
    ]


def spearman_with_interval(
    x: Sequence[float], y: Sequence[float], *, seed: int = BOOTSTRAP_SEED
) -> Correlation:
    """Spearman's rho of x and y, with a bootstrap interval that resamples (x, y) pairs."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = int(xs.size)
    undefined = None
    if n < 3:
        undefined = TOO_FEW_VALUES
    elif np.unique(xs).size < 2:
        undefined = CONSTANT_X
    elif np.unique(ys).size < 2:
        undefined = CONSTANT_Y
    if undefined is not None:
        return Correlation(None, None, Interval(None, None), n, undefined)
    result = stats.spearmanr(xs, ys)

    # Rank every resample at once and correlate the ranks row by row: Spearman's
    # rho is Pearson's r of the ranks. Resamples with a constant column are dropped.
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))
    x_ranks = stats.rankdata(xs[rows], axis=1)
    y_ranks = stats.rankdata(ys[rows], axis=1)
    x_centred = x_ranks - x_ranks.mean(axis=1, keepdims=True)
    y_centred = y_ranks - y_ranks.mean(axis=1, keepdims=True)
    spread = np.sqrt((x_centred**2).sum(axis=1) * (y_centred**2).sum(axis=1))
    usable = spread > 0
    estimates = (x_centred * y_centred).sum(axis=1)[usable] / spread[usable]
    interval = _percentiles(np.asarray(estimates, dtype=float))
    return Correlation(float(result.statistic), float(result.pvalue), interval, n)


def group_difference(
    first: Sequence[float], second: Sequence[float], *, seed: int = BOOTSTRAP_SEED
) -> Difference:
    """Mean of first minus mean of second, resampling each group on its own.

    The p-value is the two-sided Mann-Whitney U test, used for the dense
    versus mixture-of-experts comparison of model accuracies.
    """
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if a.size == 0 or b.size == 0:
        return Difference(None, Interval(None, None))
    rng = np.random.default_rng(seed)
    first_means = a[rng.integers(0, a.size, size=(BOOTSTRAP_RESAMPLES, a.size))].mean(axis=1)
    second_means = b[rng.integers(0, b.size, size=(BOOTSTRAP_RESAMPLES, b.size))].mean(axis=1)
    estimates = first_means - second_means
    p_value = None
    if a.size >= 2 and b.size >= 2:
        p_value = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    return Difference(float(a.mean() - b.mean()), _percentiles(estimates), p_value)


def proportion_gap(
    first_correct: Sequence[bool], second_correct: Sequence[bool], *, seed: int = BOOTSTRAP_SEED
) -> Difference:
    """Accuracy on the first item set minus accuracy on the second, with a bootstrap interval.

    Used for the attending-minus-senior gap of one model: the two item sets are
    different questions, so each is resampled on its own. The p-value is
    Fisher's exact test on the 2x2 table of correct and wrong answers.
    """
    gap = group_difference(
        [float(value) for value in first_correct],
        [float(value) for value in second_correct],
        seed=seed,
    )
    if gap.estimate is None:
        return gap
    first_right, second_right = sum(map(bool, first_correct)), sum(map(bool, second_correct))
    table = [
        [first_right, len(first_correct) - first_right],
        [second_right, len(second_correct) - second_right],
    ]
    p_value = float(stats.fisher_exact(table).pvalue)
    return Difference(gap.estimate, gap.interval, p_value)


def bootstrap_settings() -> dict[str, object]:
    """Describe the bootstrap behind every interval here, for reports to record beside them."""
    return {
        "samples": BOOTSTRAP_RESAMPLES,
        "seed": BOOTSTRAP_SEED,
        "method": BOOTSTRAP_METHOD,
        "confidence": CONFIDENCE,
    }


def finite_or_none(value: float | None) -> float | None:
    """Return value unless it is None or NaN; JSON and templates have no NaN."""
    if value is None or math.isnan(value):
        return None
    return value
