"""Agreement coefficients reproduce published worked examples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from review import agreement

N = np.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders
# (rows) by 12 units (columns) with missing values. Published alphas: nominal
# 0.743, ordinal 0.815, interval 0.849, ratio 0.797.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
        [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
    ]
)

# Fleiss (1971): 30 patients, each diagnosed by 6 of 43 psychiatrists into
# 5 categories (depression, personality disorder, schizophrenia, neurosis,
# other). One row per patient here; published kappa 0.430.
FLEISS_1971 = np.array(
    [
        [4, 4, 4, 4, 4, 4],
        [2, 2, 2, 5, 5, 5],
        [2, 3, 3, 3, 3, 5],
        [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4],
        [1, 1, 3, 3, 3, 3],
        [3, 3, 3, 3, 5, 5],
        [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4],
        [5, 5, 5, 5, 5, 5],
        [1, 4, 4, 4, 4, 4],
        [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3],
        [1, 4, 4, 4, 4, 4],
        [2, 2, 4, 4, 4, 5],
        [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5],
        [1, 1, 1, 1, 1, 2],
        [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5],
        [2, 4, 4, 4, 4, 4],
        [2, 2, 4, 5, 5, 5],
        [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5],
        [2, 2, 2, 2, 2, 4],
        [1, 1, 1, 1, 5, 5],
        [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3],
        [5, 5, 5, 5, 5, 5],
    ],
    dtype=float,
)


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_alpha_krippendorff_example(level, published):
    result = agreement.krippendorff_alpha(KRIPPENDORFF_2011, level)
    assert round(result.value, 3) == published


def test_alpha_transposed_matrix_differs():
    # Guards the orientation: units as rows would silently give another number.
    result = agreement.krippendorff_alpha(KRIPPENDORFF_2011.T, "nominal")
    assert result.value is None or round(result.value, 3) != 0.743


def test_fleiss_kappa_fleiss_1971():
    # Columns of the matrix are patients, so transpose: coders are rows.
    result = agreement.fleiss_kappa(FLEISS_1971.T)
    assert round(result.value, 3) == 0.430


def test_fleiss_kappa_category_totals():
    totals = [int(np.sum(FLEISS_1971 == c)) for c in range(1, 6)]
    assert totals == [26, 26, 30, 55, 43]


def test_cohen_kappa_hand_example():
    # 50 units: both yes 20, A yes B no 5, A no B yes 10, both no 15.
    # p_o = 0.70; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.50; kappa = 0.2 / 0.5 = 0.40.
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert round(agreement.cohen_kappa(a, b).value, 3) == 0.400


def test_cohen_kappa_skips_missing():
    a = [1, 0, 1, N]
    b = [1, 0, N, 0]
    assert agreement.cohen_kappa(a, b).value == 1.0


def test_gwet_ac1_two_coder_hand_example():
    # Same table as the kappa example: p_a = 0.70, pi_yes = (0.5 + 0.6) / 2 = 0.55,
    # p_e = 2 * 0.55 * 0.45 / (2 - 1) = 0.495, AC1 = 0.205 / 0.505 = 0.406.
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    result = agreement.gwet_ac1(np.array([a, b], dtype=float))
    assert round(result.value, 3) == 0.406


def test_gwet_ac1_krippendorff_data():
    # By hand from Gwet's formulas on the 4 x 12 matrix above: p_a = 9 / 11
    # over the 11 pairable units; category shares over all 12 units are
    # 0.25, 0.2708, 0.2917, 0.1042, 0.0833, so p_e = 0.1904 and AC1 = 0.775.
    result = agreement.gwet_ac1(KRIPPENDORFF_2011)
    assert round(result.value, 3) == 0.775


def test_percent_agreement_krippendorff_data():
    result = agreement.percent_agreement(KRIPPENDORFF_2011)
    assert round(result.value, 4) == round(9 / 11, 4)


def test_alpha_all_equal_is_undefined():
    result = agreement.krippendorff_alpha(np.array([[1.0, 1.0], [1.0, 1.0]]), "nominal")
    assert result.value is None
    assert result.undefined == agreement.UNDEFINED_ONE_VALUE


def test_alpha_single_coder_is_undefined():
    result = agreement.krippendorff_alpha(np.array([[1.0, 0.0, 1.0]]), "nominal")
    assert result.undefined == agreement.UNDEFINED_ONE_CODER


def test_alpha_no_pairable_unit_is_undefined():
    result = agreement.krippendorff_alpha(np.array([[1.0, N], [N, 0.0]]), "nominal")
    assert result.undefined == agreement.UNDEFINED_NO_PAIRS


def test_alpha_negative_is_reported():
    # Systematic disagreement gives alpha below zero, a legitimate value.
    result = agreement.krippendorff_alpha(np.array([[0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0]]))
    assert result.value < 0


def test_undefined_serialises_without_nan():
    result = agreement.krippendorff_alpha(np.array([[1.0, 1.0], [1.0, 1.0]]), "nominal")
    text = json.dumps(result.as_dict(), allow_nan=False)
    assert '"value": null' in text


def test_bootstrap_interval_contains_point():
    result = agreement.krippendorff_alpha(KRIPPENDORFF_2011, "nominal", bootstrap_samples=300)
    assert result.ci_low <= result.value <= result.ci_high


def test_bootstrap_is_reproducible():
    first = agreement.krippendorff_alpha(KRIPPENDORFF_2011, "interval", bootstrap_samples=200)
    second = agreement.krippendorff_alpha(KRIPPENDORFF_2011, "interval", bootstrap_samples=200)
    assert (first.ci_low, first.ci_high) == (second.ci_low, second.ci_high)


def test_item_agreement_modal_share():
    result = agreement.item_agreement(["correct", "correct", "incorrect", None])
    assert result["modal"] == "correct"
    assert result["modal_share"] == pytest.approx(2 / 3)
    assert result["percent_agreement"] == pytest.approx(1 / 3)


def test_coder_agreement_leave_one_out():
    result = agreement.coder_agreement(KRIPPENDORFF_2011, 2, "nominal")
    without_c = agreement.krippendorff_alpha(np.delete(KRIPPENDORFF_2011, 2, axis=0))
    assert result["alpha_without"]["value"] == round(without_c.value, 4)


def test_encode_matrix_maps_labels():
    matrix, labels = agreement.encode_matrix([["b", None], ["a", "b"]])
    assert labels == ["a", "b"]
    assert np.isnan(matrix[0, 1])
    assert matrix[1, 0] == 0.0


@pytest.mark.parametrize("level", agreement.LEVELS)
def test_coincidences_give_package_alpha(level):
    # The pairs bootstrap rebuilds alpha from the coincidence matrix; it must
    # agree with the package before its resamples can mean anything.
    domain = np.unique(KRIPPENDORFF_2011[~np.isnan(KRIPPENDORFF_2011)])
    counts = agreement._value_counts(KRIPPENDORFF_2011, domain)
    coincidence = agreement.coincidences(counts)
    totals = coincidence.sum(axis=1)
    differences = agreement._squared_differences(domain, totals, level)
    n = coincidence.sum()
    observed = float((coincidence * differences).sum()) / n
    expected = float(totals @ differences @ totals) / (n * (n - 1))
    assert n == 40
    assert 1 - observed / expected == pytest.approx(
        agreement.krippendorff_alpha(KRIPPENDORFF_2011, level).value
    )


@pytest.mark.parametrize("level", agreement.LEVELS)
def test_pairs_bootstrap_centred_on_alpha(level):
    domain = np.unique(KRIPPENDORFF_2011[~np.isnan(KRIPPENDORFF_2011)])
    counts = agreement._value_counts(KRIPPENDORFF_2011, domain)
    estimates = agreement.pairs_bootstrap(counts, domain, level, 4000, agreement.BOOTSTRAP_SEED)
    point = agreement.krippendorff_alpha(KRIPPENDORFF_2011, level).value
    assert estimates.shape == (4000,)
    assert abs(float(np.mean(estimates)) - point) < 0.01
    assert float(np.std(estimates)) > 0.01


@pytest.mark.parametrize("level", agreement.LEVELS)
def test_pairs_interval_contains_alpha(level):
    result = agreement.krippendorff_alpha(
        KRIPPENDORFF_2011, level, bootstrap_samples=1000, resampling="pairs"
    )
    assert result.ci_low < result.value < result.ci_high
    assert result.ci_high <= 1.0


def test_pairs_interval_narrower_than_units():
    # Resampling 40 pairable values keeps every unit's weight, while resampling
    # 11 units can drop whole units, so the units interval is the wider one here.
    units = agreement.krippendorff_alpha(KRIPPENDORFF_2011, "nominal", bootstrap_samples=1000)
    pairs = agreement.krippendorff_alpha(
        KRIPPENDORFF_2011, "nominal", bootstrap_samples=1000, resampling="pairs"
    )
    assert pairs.ci_high - pairs.ci_low < units.ci_high - units.ci_low


def test_pairs_bootstrap_same_seed_same_interval():
    first = agreement.krippendorff_alpha(
        KRIPPENDORFF_2011, "ordinal", bootstrap_samples=500, resampling="pairs"
    )
    second = agreement.krippendorff_alpha(
        KRIPPENDORFF_2011, "ordinal", bootstrap_samples=500, resampling="pairs"
    )
    other_seed = agreement.krippendorff_alpha(
        KRIPPENDORFF_2011, "ordinal", bootstrap_samples=500, resampling="pairs", seed=7
    )
    assert (first.ci_low, first.ci_high) == (second.ci_low, second.ci_high)
    assert (first.ci_low, first.ci_high) != (other_seed.ci_low, other_seed.ci_high)


def test_pairs_bootstrap_undefined_has_no_interval():
    same = np.array([[1.0, 2.0, np.nan], [1.0, 2.0, 3.0]])
    single = agreement.krippendorff_alpha(
        np.array([[1.0, 1.0, 1.0], [1.0, 1.0, np.nan]]),
        "nominal",
        bootstrap_samples=200,
        resampling="pairs",
    )
    data = single.as_dict()
    assert data["value"] is None
    assert data["undefined"] == agreement.UNDEFINED_ONE_VALUE
    assert "ci" not in data
    assert "NaN" not in json.dumps(data)
    perfect = agreement.krippendorff_alpha(
        same, "nominal", bootstrap_samples=200, resampling="pairs"
    )
    assert perfect.value == 1.0
    assert perfect.ci_low == perfect.ci_high == 1.0


def test_pairs_bootstrap_empty_without_expected_disagreement():
    counts = np.array([[2, 0], [3, 0]])
    estimates = agreement.pairs_bootstrap(counts, np.array([0.0, 1.0]), "nominal", 50, 1)
    assert estimates.size == 0


def test_summary_states_resampling():
    summary = agreement.summarise_matrix(
        KRIPPENDORFF_2011, "nominal", bootstrap_samples=100, resampling="pairs"
    )
    assert summary["bootstrap"]["resampling"] == "pairs"
    assert summary["bootstrap"]["seed"] == agreement.BOOTSTRAP_SEED
    assert len(summary["alpha"]["ci"]) == 2


def test_unknown_resampling_rejected():
    with pytest.raises(ValueError, match="Unknown resampling"):
        agreement.krippendorff_alpha(KRIPPENDORFF_2011, "nominal", resampling="coders")
