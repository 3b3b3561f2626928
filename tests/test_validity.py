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


def _exclude(question, adjudicator, reason):
    return Adjudication.objects.create(
        question=question,
        adjudicator=adjudicator,
        decision=Adjudication.Decision.QUESTION_EXCLUDED,
        reason=reason,
    )


@pytest.mark.django_db
def test_validity_apply_excludes_with_adjudicator_reason(make_user):
    reviewers = make_reviewers(3)
    run = make_run("model-a")
    question = make_question()
    response = make_response(run, question, "A")
    # The reviewers agree and flag nothing: only the adjudication excludes it.
    for reviewer in reviewers:
        make_review(response, reviewer, "correct")
    adjudication = _exclude(question, make_user("adjudicator"), "两个选项均符合 2024 年指南")
    rule_set = ValidityRuleSet.objects.create(name="default")

    counts = validity_apply(rule_set_id=rule_set.id)

    question.refresh_from_db()
    assert counts == {"excluded": 1}
    assert question.validity == V.EXCLUDED
    assert question.validity_reasons == [
        {
            "code": "excluded_by_adjudication",
            "adjudication": adjudication.id,
            "reason": "两个选项均符合 2024 年指南",
            "rule_set": "default",
        }
    ]


@pytest.mark.django_db
def test_validity_apply_reads_latest_decision(make_user):
    question = make_question()
    adjudicator = make_user("adjudicator")
    _exclude(question, adjudicator, "题干缺少关键信息")
    Adjudication.objects.create(
        question=question,
        adjudicator=adjudicator,
        decision=Adjudication.Decision.QUESTION_KEPT,
        reason="复核后题干完整",
    )
    # A later decision on the model's answer alone says nothing about the question.
    Adjudication.objects.create(
        question=question,
        adjudicator=adjudicator,
        decision=Adjudication.Decision.MODEL_CORRECT,
        reason="模型答案正确",
    )
    rule_set = ValidityRuleSet.objects.create(name="default")

    validity_apply(rule_set_id=rule_set.id)

    question.refresh_from_db()
    assert question.validity == V.VALIDATED
    assert question.validity_reasons[0]["code"] == "kept_by_adjudication"
    assert question.validity_reasons[0]["reason"] == "复核后题干完整"


@pytest.mark.django_db
def test_exclusion_decision_applies_at_once(make_user):
    from review import services

    reviewers = make_reviewers(3)
    run = make_run("model-a")
    question = make_question()
    response = make_response(run, question, "A")
    for reviewer in reviewers:
        make_review(response, reviewer, "correct", flags=["outdated"])
    adjudicator = make_user("adjudicator")

    adjudication = services.adjudication_record(
        adjudicator=adjudicator,
        question_id=question.id,
        response_id=response.id,
        decision=Adjudication.Decision.QUESTION_EXCLUDED,
        reason="  依据的指南已废止  ",
    )

    question.refresh_from_db()
    assert question.validity == V.EXCLUDED
    assert question.validity_reasons == [
        {
            "code": "excluded_by_adjudication",
            "adjudication": adjudication.id,
            "reason": "依据的指南已废止",
        }
    ]


@pytest.mark.django_db
def test_answer_decision_leaves_validity(make_user):
    from review import services

    question = make_question()
    response = make_response(make_run("model-a"), question, "A")

    services.adjudication_record(
        adjudicator=make_user("adjudicator"),
        question_id=question.id,
        response_id=response.id,
        decision=Adjudication.Decision.MODEL_INCORRECT,
        reason="推理前后矛盾",
    )

    question.refresh_from_db()
    assert question.validity == V.NOT_REVIEWED
    assert question.validity_reasons == []


@pytest.mark.django_db
def test_excluded_question_leaves_validated_leaderboard(make_user):
    from medexam.leaderboard import leaderboard_compute
    from review import services

    run = make_run("model-a")
    kept, excluded = make_question(), make_question()
    Question.objects.filter(id__in=[kept.id, excluded.id]).update(validity=V.VALIDATED)
    make_response(run, kept, "A")
    response = make_response(run, excluded, "B")

    services.adjudication_record(
        adjudicator=make_user("adjudicator"),
        question_id=excluded.id,
        response_id=response.id,
        decision=Adjudication.Decision.QUESTION_EXCLUDED,
        reason="答案有争议",
    )

    board = leaderboard_compute(items=Question.objects.filter(validity=V.VALIDATED))
    assert [row.overall.total for row in board.rows] == [1]
    assert board.rows[0].overall.accuracy == 1.0
