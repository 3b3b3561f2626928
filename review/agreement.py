"""Agreement coefficients between reviewers, computed on a reliability matrix.

A reliability matrix has one row per coder (reviewer) and one column per unit
(a reviewed response), with np.nan where a coder did not rate a unit. This is
the orientation the `krippendorff` package expects: a transposed matrix gives a
wrong value without any error.

Every coefficient comes back as a Coefficient. When a value cannot be computed
(every rating the same, a single coder, no unit rated twice) it carries
value=None and the reason in `undefined`, so JSON output never contains NaN.
Negative and zero values are legitimate results and are reported as such.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import krippendorff
import numpy as np
from django.utils.translation import gettext_noop

logger = logging.getLogger(__name__)

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
Resampling = Literal["units", "pairs"]
# "units" resamples units (columns) with replacement and recomputes alpha on each
# resample. "pairs" resamples pairs of values within units as Hayes and
# Krippendorff (2007) describe, keeping the expected disagreement fixed.
RESAMPLINGS: tuple[Resampling, ...] = ("units", "pairs")

# A fixed seed makes every bootstrap interval reproducible from the same data.
BOOTSTRAP_SEED = 20261204
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_METHOD: Resampling = "units"

# JSON output keeps these reasons in English. Screens and commands pass them
# through gettext, which finds them in the catalogue because of gettext_noop.
UNDEFINED_ONE_CODER = gettext_noop("fewer than two reviewers")
UNDEFINED_NO_PAIRS = gettext_noop("no unit was rated by two or more reviewers")
UNDEFINED_ONE_VALUE = gettext_noop(
    "every rating has the same value, so disagreement expected by chance is zero"
)


@dataclass(frozen=True)
class Coefficient:
    """An agreement figure, or the reason it is undefined, with an optional interval."""

    value: float | None
    undefined: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @classmethod
    def of(cls, value: float) -> Coefficient:
        if math.isnan(value):
            return cls(None, UNDEFINED_ONE_VALUE)
        return cls(float(value))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": _rounded(self.value)}
        if self.undefined:
            data["undefined"] = self.undefined
        if self.ci_low is not None and self.ci_high is not None:
            data["ci"] = [_rounded(self.ci_low), _rounded(self.ci_high)]
        return data


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def encode_matrix(rows: Sequence[Sequence[Hashable | None]]) -> tuple[np.ndarray, list[Hashable]]:
    """Map category labels to 0..k-1 and None to np.nan.

    Returns the float matrix and the labels in code order. Labels are sorted
    so the same data always gives the same codes.
    """
    labels = sorted({v for row in rows for v in row if v is not None}, key=str)
    code = {label: index for index, label in enumerate(labels)}
    matrix = np.full((len(rows), len(rows[0]) if rows else 0), np.nan)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                matrix[i, j] = code[value]
    return matrix, labels


def _check_matrix(matrix: np.ndarray) -> str | None:
    """Return why no agreement can be computed on matrix, or None if it can."""
    if matrix.ndim != 2 or matrix.shape[0] < 2:
        return UNDEFINED_ONE_CODER
    rated = np.sum(~np.isnan(matrix), axis=0)
    pairable = matrix[:, rated >= 2]
    if pairable.shape[1] == 0:
        return UNDEFINED_NO_PAIRS
    values = np.unique(pairable[~np.isnan(pairable)])
    if values.size < 2:
        return UNDEFINED_ONE_VALUE
    return None


def _value_counts(matrix: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """Count, for each unit (row of the result), how many coders gave each value."""
    counts = np.zeros((matrix.shape[1], domain.size), dtype=np.int64)
    for index, value in enumerate(domain):
        counts[:, index] = np.sum(matrix == value, axis=0)
    return counts


def _alpha_from_counts(counts: np.ndarray, domain: np.ndarray, level: Level) -> float:
    # Units with fewer than two values carry no pairable information; drop them
    # so a resample made of them is recognised as undefined instead of NaN.
    counts = counts[counts.sum(axis=1) >= 2]
    if counts.shape[0] == 0 or np.count_nonzero(counts.sum(axis=0)) < 2:
        return math.nan
    return float(
        krippendorff.alpha(value_counts=counts, value_domain=domain, level_of_measurement=level)
    )


def krippendorff_alpha(
    matrix: np.ndarray,
    level: Level = "nominal",
    *,
    bootstrap_samples: int = 0,
    resampling: Resampling = BOOTSTRAP_METHOD,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> Coefficient:
    """Compute Krippendorff's alpha with the `krippendorff` package.

    With bootstrap_samples > 0, add a percentile interval. resampling "units"
    resamples units with replacement and skips resamples on which alpha is
    undefined; "pairs" resamples pairable values (see pairs_bootstrap).
    """
    if level not in LEVELS:
        raise ValueError(f"Unknown level of measurement {level!r}; use one of {', '.join(LEVELS)}.")
    if resampling not in RESAMPLINGS:
        raise ValueError(f"Unknown resampling {resampling!r}; use one of {', '.join(RESAMPLINGS)}.")
    reason = _check_matrix(matrix)
    if reason:
        return Coefficient(None, reason)

    domain = np.unique(matrix[~np.isnan(matrix)])
    counts = _value_counts(matrix, domain)
    point = Coefficient.of(_alpha_from_counts(counts, domain, level))
    if point.value is None or bootstrap_samples <= 0:
        return point

    if resampling == "pairs":
        estimates = pairs_bootstrap(counts, domain, level, bootstrap_samples, seed)
        low, high = _percentile_interval(estimates, confidence)
    else:
        low, high = _bootstrap_interval(counts, domain, level, bootstrap_samples, seed, confidence)
    return Coefficient(point.value, None, low, high)


def _bootstrap_interval(
    counts: np.ndarray,
    domain: np.ndarray,
    level: Level,
    samples: int,
    seed: int,
    confidence: float,
) -> tuple[float | None, float | None]:
    rng = np.random.default_rng(seed)
    units = counts.shape[0]
    estimates = []
    for _ in range(samples):
        resample = counts[rng.integers(0, units, size=units)]
        value = _alpha_from_counts(resample, domain, level)
        if not math.isnan(value):
            estimates.append(value)
    return _percentile_interval(np.asarray(estimates), confidence)


def _percentile_interval(
    estimates: np.ndarray, confidence: float
) -> tuple[float | None, float | None]:
    if estimates.size == 0:
        return None, None
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(estimates, [tail, 100.0 - tail])
    return float(low), float(high)


def _squared_differences(domain: np.ndarray, totals: np.ndarray, level: Level) -> np.ndarray:
    """Krippendorff's squared difference delta^2 between every two values of the domain.

    totals contains n_c, the number of pairable values equal to each domain
    value. The ordinal metric needs them because it measures distance in ranks.
    """
    c = domain[:, None]
    k = domain[None, :]
    if level == "nominal":
        return (c != k).astype(float)
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        sums = c + k
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(sums == 0, 0.0, (c - k) / sums)
        return ratio**2
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    low = np.minimum(np.arange(domain.size)[:, None], np.arange(domain.size)[None, :])
    high = np.maximum(np.arange(domain.size)[:, None], np.arange(domain.size)[None, :])
    between = cumulative[high + 1] - cumulative[low]
    return (between - (totals[low] + totals[high]) / 2.0) ** 2


def coincidences(counts: np.ndarray) -> np.ndarray:
    """Build the observed coincidence matrix o_ck from per-unit value counts.

    Only units with two or more values contribute. Each of a unit's m_u(m_u - 1)
    ordered pairs of values weighs 1 / (m_u - 1), so the matrix sums to n, the
    number of pairable values.
    """
    counts = counts[counts.sum(axis=1) >= 2].astype(float)
    weights = 1.0 / (counts.sum(axis=1) - 1.0)
    pairs = counts[:, :, None] * counts[:, None, :]
    pairs -= np.einsum("uc,ck->uck", counts, np.eye(counts.shape[1]))
    return np.einsum("u,uck->ck", weights, pairs)


def pairs_bootstrap(
    counts: np.ndarray, domain: np.ndarray, level: Level, samples: int, seed: int
) -> np.ndarray:
    """Draw alpha estimates by resampling pairable values.

    The method is from Hayes and Krippendorff (2007), "Answering the call for a
    standard reliability measure for coding data", Communication Methods and
    Measures 1(1):77-89.

    Each resample draws M pairs of values with replacement, where M is the
    number of pairs that can be formed within units (sum of m_u(m_u - 1) / 2).
    A pair of values c and k is drawn with probability o_ck / n, its share of
    the coincidence matrix, which weights a unit's pairs by how many reviewers
    rated it. The mean squared difference of the drawn pairs is the resample's
    observed disagreement; the expected disagreement stays that of the data.
    Returns an empty array when alpha is undefined on the data.

    NOTE: no output of Hayes's KALPHA macro was at hand to compare with, so
    the tests check the centring on alpha and the interval, not published limits.
    """
    coincidence = coincidences(counts)
    n = coincidence.sum()
    totals = coincidence.sum(axis=1)
    differences = _squared_differences(domain, totals, level)
    if n < 2:
        return np.array([])
    expected = float(totals @ differences @ totals) / (n * (n - 1.0))
    if expected <= 0.0:
        return np.array([])

    rated = counts.sum(axis=1)
    draws = int(np.sum(rated * (rated - 1) // 2))
    rng = np.random.default_rng(seed)
    drawn = rng.multinomial(draws, (coincidence / n).ravel(), size=samples)
    observed = drawn @ differences.ravel() / draws
    return 1.0 - observed / expected


def _pair_agreement_per_unit(matrix: np.ndarray) -> np.ndarray:
    """Share of agreeing coder pairs in each unit rated at least twice."""
    shares = []
    for column in matrix.T:
        values = column[~np.isnan(column)]
        n = values.size
        if n < 2:
            continue
        _, counts = np.unique(values, return_counts=True)
        shares.append(float(np.sum(counts * (counts - 1))) / (n * (n - 1)))
    return np.array(shares)


def percent_agreement(matrix: np.ndarray) -> Coefficient:
    """Mean over units rated at least twice of the share of coder pairs that agree exactly."""
    if matrix.ndim != 2 or matrix.shape[0] < 2:
        return Coefficient(None, UNDEFINED_ONE_CODER)
    shares = _pair_agreement_per_unit(matrix)
    if shares.size == 0:
        return Coefficient(None, UNDEFINED_NO_PAIRS)
    return Coefficient(float(shares.mean()))


def cohen_kappa(first: Sequence[float], second: Sequence[float]) -> Coefficient:
    """Cohen's kappa for two coders over the units both rated (np.nan marks missing)."""
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both], b[both]
    if a.size == 0:
        return Coefficient(None, UNDEFINED_NO_PAIRS)

    categories = np.unique(np.concatenate([a, b]))
    observed = float(np.mean(a == b))
    expected = float(sum(np.mean(a == c) * np.mean(b == c) for c in categories))
    if expected >= 1.0:
        return Coefficient(None, UNDEFINED_ONE_VALUE)
    return Coefficient((observed - expected) / (1.0 - expected))


def _category_shares(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Count category use per unit rated at least twice: r_ik per category and the total r_i."""
    rated = np.sum(~np.isnan(matrix), axis=0)
    pairable = matrix[:, rated >= 2]
    domain = np.unique(pairable[~np.isnan(pairable)])
    counts = _value_counts(pairable, domain).astype(float)
    totals = counts.sum(axis=1)
    return counts, totals


def fleiss_kappa(matrix: np.ndarray) -> Coefficient:
    """Fleiss' kappa (Fleiss 1971), over units rated by at least two coders.

    Units may have different numbers of coders: observed agreement is then the
    mean per-unit pair agreement and category shares are averaged per unit,
    which equals Fleiss' formulas when every unit has the same number of coders.
    """
    reason = _check_matrix(matrix)
    if reason:
        return Coefficient(None, reason)
    counts, totals = _category_shares(matrix)
    observed = float(np.mean(np.sum(counts * (counts - 1), axis=1) / (totals * (totals - 1))))
    shares = np.mean(counts / totals[:, None], axis=0)
    expected = float(np.sum(shares**2))
    return Coefficient((observed - expected) / (1.0 - expected))


def gwet_ac1(matrix: np.ndarray) -> Coefficient:
    """Gwet's first-order agreement coefficient AC1 (Gwet 2008) for nominal ratings.

    Chance agreement is sum_k pi_k (1 - pi_k) / (q - 1). Here pi_k is the mean
    share of category k over every unit rated at least once, and q is the number
    of categories used. Observed agreement is taken over units rated at least twice.
    """
    reason = _check_matrix(matrix)
    if reason:
        return Coefficient(None, reason)

    rated = np.sum(~np.isnan(matrix), axis=0)
    domain = np.unique(matrix[~np.isnan(matrix)])
    all_counts = _value_counts(matrix[:, rated >= 1], domain).astype(float)
    shares = np.mean(all_counts / all_counts.sum(axis=1)[:, None], axis=0)
    expected = float(np.sum(shares * (1.0 - shares)) / (domain.size - 1))

    counts, totals = _category_shares(matrix)
    observed = float(np.mean(np.sum(counts * (counts - 1), axis=1) / (totals * (totals - 1))))
    return Coefficient((observed - expected) / (1.0 - expected))


def item_agreement(values: Sequence[Hashable | None]) -> dict[str, Any]:
    """Agreement within one unit: share of agreeing pairs, modal value and its share."""
    present = [v for v in values if v is not None]
    if not present:
        return {"ratings": 0, "percent_agreement": None, "modal": None, "modal_share": None}
    tally: dict[Hashable, int] = {}
    for value in present:
        tally[value] = tally.get(value, 0) + 1
    modal = max(sorted(tally, key=str), key=lambda v: tally[v])
    n = len(present)
    pairs = sum(c * (c - 1) for c in tally.values()) / (n * (n - 1)) if n >= 2 else None
    return {
        "ratings": n,
        "percent_agreement": pairs,
        "modal": modal,
        "modal_share": tally[modal] / n,
    }


def coder_agreement(matrix: np.ndarray, coder: int, level: Level = "nominal") -> dict[str, Any]:
    """Figures for one coder: alpha with that coder left out, and agreement with each other coder.

    Pairwise agreement is the share of co-rated units on which both coders gave
    the same value, pooled over every other coder. The kappa is Cohen's, averaged
    over the pairs on which it is defined.
    """
    others = np.delete(matrix, coder, axis=0)
    row = matrix[coder]
    agree = total = 0
    kappas = []
    for other in others:
        both = ~np.isnan(row) & ~np.isnan(other)
        agree += int(np.sum(row[both] == other[both]))
        total += int(np.sum(both))
        kappa = cohen_kappa(row, other)
        if kappa.value is not None:
            kappas.append(kappa.value)
    return {
        "ratings": int(np.sum(~np.isnan(row))),
        "alpha_without": krippendorff_alpha(others, level).as_dict(),
        "pairwise_agreement": (
            Coefficient(agree / total) if total else Coefficient(None, UNDEFINED_NO_PAIRS)
        ).as_dict(),
        "mean_cohen_kappa": (
            Coefficient(float(np.mean(kappas))) if kappas else Coefficient(None, UNDEFINED_NO_PAIRS)
        ).as_dict(),
    }


def summarise_matrix(
    matrix: np.ndarray,
    level: Level,
    *,
    bootstrap_samples: int = BOOTSTRAP_SAMPLES,
    resampling: Resampling = BOOTSTRAP_METHOD,
) -> dict[str, Any]:
    """Compute every figure for one reliability matrix and return a JSON-safe dict."""
    rated = np.sum(~np.isnan(matrix), axis=0) if matrix.size else np.array([])
    summary: dict[str, Any] = {
        "level": level,
        "coders": int(matrix.shape[0]) if matrix.ndim == 2 else 0,
        "units": int(matrix.shape[1]) if matrix.ndim == 2 else 0,
        "pairable_units": int(np.sum(rated >= 2)),
        "ratings": int(np.sum(~np.isnan(matrix))),
        "alpha": krippendorff_alpha(
            matrix, level, bootstrap_samples=bootstrap_samples, resampling=resampling
        ).as_dict(),
        "percent_agreement": percent_agreement(matrix).as_dict(),
    }
    if level == "nominal":
        summary["fleiss_kappa"] = fleiss_kappa(matrix).as_dict()
        summary["gwet_ac1"] = gwet_ac1(matrix).as_dict()
    if bootstrap_samples > 0:
        summary["bootstrap"] = {
            "samples": bootstrap_samples,
            "seed": BOOTSTRAP_SEED,
            "resampling": resampling,
            "interval": "95% percentile",
        }
    return summary


def pairwise_kappas(matrix: np.ndarray, coders: Sequence[str]) -> list[dict[str, Any]]:
    """Cohen's kappa for every pair of coders who rated at least one unit in common."""
    result = []
    for i, j in combinations(range(len(coders)), 2):
        kappa = cohen_kappa(matrix[i], matrix[j])
        if kappa.undefined == UNDEFINED_NO_PAIRS:
            continue
        result.append({"coders": [coders[i], coders[j]], "cohen_kappa": kappa.as_dict()})
    return result
