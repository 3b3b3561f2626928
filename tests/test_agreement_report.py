"""Agreement reports over reviews stored in the database."""

from __future__ import annotations

import json

import pytest

from review.agreement_report import agreement_report, item_summaries, review_rows
from tests.review_data import make_question, make_response, make_review, make_reviewers, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed():
    """Two questions, two models, three reviewers; reviewer 3 disagrees on one response."""
    reviewers = make_reviewers(3)
    run_a, run_b = make_run("model-a"), make_run("model-b")
    q1 = make_question(specialty="cardiovascular", level="attending")
    q2 = make_question(specialty="neurology", level="senior")
    verdicts = {
        (run_a, q1): ["correct", "correct", "correct"],
        (run_b, q1): ["incorrect", "incorrect", "incorrect"],
        (run_a, q2): ["correct", "correct", "incorrect"],
        (run_b, q2): ["incorrect", "incorrect", "incorrect"],
    }
    for (run, question), values in verdicts.items():
        response = make_response(run, question, "A")
        for reviewer, verdict in zip(reviewers, values, strict=True):
            flags = ["wrong_key"] if question == q2 and reviewer != reviewers[2] else []
            make_review(response, reviewer, verdict, flags=flags, ratings=(4, 3, 5))
    return {"reviewers": reviewers, "runs": (run_a, run_b), "questions": (q1, q2)}


def test_report_overall_verdict_alpha(reviewed):
    report = agreement_report(bootstrap_samples=0)
    verdict = report["overall"]["dimensions"]["verdict"]
    assert verdict["units"] == 4
    assert 0 < verdict["alpha"]["value"] < 1


def test_report_all_equal_ratings_undefined(reviewed):
    report = agreement_report(bootstrap_samples=0)
    factual = report["overall"]["dimensions"]["rating_factual"]
    assert factual["alpha"]["value"] is None
    assert "same value" in factual["alpha"]["undefined"]


def test_report_json_has_no_nan(reviewed):
    report = agreement_report(by="specialty", bootstrap_samples=50)
    assert "NaN" not in json.dumps(report, allow_nan=False)


def test_report_by_specialty_groups(reviewed):
    report = agreement_report(by="specialty", bootstrap_samples=0)
    assert sorted(report["groups"]) == ["cardiovascular", "neurology"]


def test_report_by_run_filters(reviewed):
    run_a = reviewed["runs"][0]
    report = agreement_report(run_id=run_a.id, bootstrap_samples=0)
    assert report["overall"]["reviews"] == 6


def test_report_by_reviewer_uses_pseudonyms(reviewed):
    report = agreement_report(by="reviewer", bootstrap_samples=0)
    pseudonyms = sorted(r.pseudonym for r in reviewed["reviewers"])
    assert sorted(report["groups"]) == pseudonyms
    usernames = [r.user.username for r in reviewed["reviewers"]]
    text = json.dumps(report)
    for username in usernames:
        assert username not in text


def test_report_by_reviewer_leave_one_out(reviewed):
    report = agreement_report(by="reviewer", bootstrap_samples=0)
    dissenter = reviewed["reviewers"][2].pseudonym
    assert report["groups"][dissenter]["verdict"]["alpha_without"]["value"] == 1.0


def test_report_unknown_grouping_raises():
    with pytest.raises(ValueError, match="Unknown grouping"):
        agreement_report(by="hospital")


def test_report_without_reviews_is_undefined():
    report = agreement_report(bootstrap_samples=0)
    assert report["overall"]["dimensions"]["verdict"]["alpha"]["value"] is None


def test_item_summary_modal_share(reviewed):
    q2 = reviewed["questions"][1]
    summary = item_summaries(review_rows())[q2.id]
    assert summary["modal_verdict_share"] == round((2 / 3 + 1) / 2, 4)
    assert summary["verdict_agreement"] == round((1 / 3 + 1) / 2, 4)
    assert summary["flags"] == {"wrong_key": 4}
