"""Validity rules: reviews, flags and adjudications decide an item's status."""

from __future__ import annotations

import pytest

from medexam.models import Question, ValidityRuleSet
from review.models import Adjudication
from review.validity import Rules, decide_validity, validity_apply
from tests.review_data import make_question, make_response, make_review, make_reviewers, make_run

V = Question.Validity
RULES = Rules(min_reviews=3, min_item_agreement=0.67, min_flag_share=0.5)


def summary(reviewers=3, agreement=1.0, flags=None):
    return {"reviewers": reviewers, "verdict_agreement": agreement, "flags": flags or {}}


@pytest.mark.parametrize(
    ("item", "decision", "expected", "code"),
    [
        (None, None, V.NOT_REVIEWED, "no_reviews"),
        (summary(reviewers=2), None, V.NOT_REVIEWED, "too_few_reviews"),
        (summary(), None, V.VALIDATED, "rules_met"),
        (summary(agreement=0.5), None, V.DISPUTED, "low_agreement"),
        (summary(flags={"ambiguous": 2}), None, V.EXCLUDED, "flag_excludes"),
        (summary(flags={"ambiguous": 1}), None, V.VALIDATED, "rules_met"),
        (summary(flags={"wrong_key": 2}), None, V.DISPUTED, "flag_needs_adjudication"),
        (summary(flags={"wrong_specialty": 3}), None, V.VALIDATED, "rules_met"),
        (
            summary(flags={"wrong_key": 3}),
            "key_corrected",
            V.VALIDATED,
            "key_corrected_by_adjudication",
        ),
        (
            summary(flags={"wrong_key": 3}),
            "question_excluded",
            V.EXCLUDED,
            "excluded_by_adjudication",
        ),
        (summary(agreement=0.2), "question_kept", V.VALIDATED, "kept_by_adjudication"),
        (None, "question_excluded", V.EXCLUDED, "excluded_by_adjudication"),
    ],
)
def test_decide_validity_table(item, decision, expected, code):
    status, reasons = decide_validity(item, decision, RULES)
    assert status == expected
    assert reasons[0]["code"] == code


def test_decide_exclude_wins_over_dispute():
    status, _ = decide_validity(summary(flags={"wrong_key": 3, "ambiguous": 3}), None, RULES)
    assert status == V.EXCLUDED


def test_decide_agreement_zero_is_low():
    status, reasons = decide_validity(summary(agreement=0.0), None, RULES)
    assert status == V.DISPUTED
    assert reasons[-1]["agreement"] == 0.0


def test_rules_reject_unknown_action():
    rule_set = ValidityRuleSet(name="bad", flag_actions={"wrong_key": "delete"})
    with pytest.raises(ValueError, match="invalid action"):
        Rules.from_rule_set(rule_set)


@pytest.mark.django_db
def test_validity_apply_writes_status(make_user):
    reviewers = make_reviewers(3)
    run = make_run("model-a")
    agreed, flagged, unreviewed, adjudicated = (make_question() for _ in range(4))
    for question, flags in ((agreed, []), (flagged, ["ambiguous"]), (adjudicated, ["wrong_key"])):
        response = make_response(run, question, "A")
        for reviewer in reviewers:
            make_review(response, reviewer, "correct", flags=flags)
    Adjudication.objects.create(
        question=adjudicated,
        adjudicator=make_user("adjudicator"),
        decision=Adjudication.Decision.KEY_CORRECTED,
        corrected_key="B",
        reason="指南已更新",
    )
    rule_set = ValidityRuleSet.objects.create(name="default")

    counts = validity_apply(rule_set_id=rule_set.id)

    assert counts == {"validated": 2, "excluded": 1, "not_reviewed": 1}
    statuses = dict(Question.objects.values_list("id", "validity"))
    assert statuses[agreed.id] == V.VALIDATED
    assert statuses[flagged.id] == V.EXCLUDED
    assert statuses[unreviewed.id] == V.NOT_REVIEWED
    assert statuses[adjudicated.id] == V.VALIDATED
    agreed.refresh_from_db()
    assert agreed.validity_reasons[0]["rule_set"] == "default"
