"""review.selectors: progress and streaks, the adjudication queue, reviewer statistics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from medexam.models import Question, ValidityRuleSet
from review import selectors, services
from review.models import Adjudication, Review
from review.validity import validity_apply
from tests import review_data
from tests import review_helpers as build

pytestmark = pytest.mark.django_db


def _review(reviewer, *, first="correct", after="correct", flags=(), comment=""):
    slot = services.assignment_claim_next(reviewer=reviewer)
    services.assignment_record_first_verdict(
        assignment_id=slot.pk, reviewer=reviewer, verdict=first
    )
    return services.review_submit(
        assignment_id=slot.pk,
        reviewer=reviewer,
        verdict_after_key=after,
        rating_factual=3,
        rating_reasoning=3,
        rating_safety=3,
        flags=flags,
        comment=comment,
    )


@pytest.fixture
def one_response():
    run = build.run(reviews_per_response=3)
    response = build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    return response


def test_progress_counts_and_streak(make_user):
    run = build.run(reviews_per_response=1)
    for _ in range(3):
        build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "steady")
    reviews = [_review(reviewer) for _ in range(3)]
    now = timezone.now()
    Review.objects.filter(pk=reviews[0].pk).update(submitted_at=now - timedelta(days=1))
    Review.objects.filter(pk=reviews[1].pk).update(submitted_at=now - timedelta(days=3))

    progress = selectors.reviewer_progress(reviewer)

    assert progress.total == 3
    assert progress.today == 1
    assert progress.streak_days == 2


def test_queue_lists_disagreement(make_user, one_response):
    _review(build.reviewer(make_user, "yes1"), first="correct")
    _review(build.reviewer(make_user, "no1"), first="incorrect", after="incorrect")

    queue = selectors.adjudication_queue()

    assert [entry.response_id for entry in queue] == [one_response.pk]
    assert queue[0].disagreement is True
    assert queue[0].stem == one_response.question.stem


def test_queue_uses_final_verdict(make_user, one_response):
    _review(build.reviewer(make_user, "a"), first="correct", after="correct")
    _review(build.reviewer(make_user, "b"), first="incorrect", after="correct")

    assert selectors.adjudication_queue() == []


def test_queue_lists_flagged(make_user, one_response):
    _review(build.reviewer(make_user, "a"), flags=["outdated"], comment="旧指南")

    queue = selectors.adjudication_queue()

    assert queue[0].disagreement is False
    assert queue[0].flags == {"outdated"}
    assert queue[0].question_id == one_response.question_id


def test_queue_drops_decided(make_user, one_response):
    _review(build.reviewer(make_user, "a"), flags=["ambiguous"], comment="两种理解")
    services.adjudication_record(
        adjudicator=make_user("judge"),
        question_id=one_response.question_id,
        response_id=one_response.pk,
        decision=Adjudication.Decision.QUESTION_KEPT,
        reason="题意清楚",
    )

    assert selectors.adjudication_queue() == []


def _disputed_by_first_verdicts(make_user, response):
    """Review a response three times: blind verdicts split, all agree once the key is shown."""
    for name, first in (("d1", "correct"), ("d2", "incorrect"), ("d3", "incorrect")):
        _review(build.reviewer(make_user, name), first=first, after="correct")
    validity_apply(rule_set_id=ValidityRuleSet.objects.get(name="standard").pk)
    response.question.refresh_from_db()


def test_queue_lists_disputed_question(make_user, one_response):
    _disputed_by_first_verdicts(make_user, one_response)
    assert one_response.question.validity == Question.Validity.DISPUTED

    queue = selectors.adjudication_queue()

    assert [entry.response_id for entry in queue] == [one_response.pk]
    assert queue[0].disagreement is False
    assert queue[0].question_id == one_response.question_id
    assert [reason["code"] for reason in queue[0].disputed_reasons] == ["low_agreement"]


def test_disputed_question_waits_for_question_decision(make_user, one_response):
    _disputed_by_first_verdicts(make_user, one_response)
    judge = make_user("judge")
    services.adjudication_record(
        adjudicator=judge,
        question_id=one_response.question_id,
        response_id=one_response.pk,
        decision=Adjudication.Decision.MODEL_CORRECT,
        reason="模型回答正确",
    )

    assert [entry.response_id for entry in selectors.adjudication_queue()] == [one_response.pk]

    services.adjudication_record(
        adjudicator=judge,
        question_id=one_response.question_id,
        response_id=one_response.pk,
        decision=Adjudication.Decision.QUESTION_KEPT,
        reason="题目无误",
    )

    assert selectors.adjudication_queue() == []


def test_queue_adds_no_second_entry_for_question():
    question = review_data.make_question()
    split = review_data.make_response(review_data.make_run("model-a"), question, "A")
    agreed = review_data.make_response(review_data.make_run("model-b"), question, "A")
    for reviewer, verdict in zip(
        review_data.make_reviewers(3), ("correct", "incorrect", "incorrect"), strict=True
    ):
        review_data.make_review(split, reviewer, verdict)
        review_data.make_review(agreed, reviewer, "correct")
    validity_apply(rule_set_id=ValidityRuleSet.objects.get(name="standard").pk)

    queue = selectors.adjudication_queue()

    assert [entry.response_id for entry in queue] == [split.pk]
    assert queue[0].disagreement is True
    assert [reason["code"] for reason in queue[0].disputed_reasons] == ["low_agreement"]
    assert agreed.pk not in [entry.response_id for entry in queue]


def test_stats_gold_accuracy(make_user):
    run = build.run(reviews_per_response=1)
    good = build.response(run, build.question())
    bad = build.response(run, build.question())
    services.gold_item_mark(response_id=good.pk, verdict="correct")
    services.gold_item_mark(response_id=bad.pk, verdict="incorrect")
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "gullible")
    _review(reviewer, first="correct")
    _review(reviewer, first="correct")

    stats = {row.pseudonym: row for row in selectors.reviewer_statistics()}

    assert stats[reviewer.pseudonym].gold_reviews == 2
    assert stats[reviewer.pseudonym].gold_accuracy == 0.5


def test_stats_majority_agreement(make_user, one_response):
    agreeing = [build.reviewer(make_user, f"m{n}") for n in range(2)]
    outlier = build.reviewer(make_user, "outlier")
    for reviewer in agreeing:
        _review(reviewer, first="correct")
    _review(outlier, first="incorrect", after="incorrect")

    stats = {row.pseudonym: row for row in selectors.reviewer_statistics()}

    assert stats[outlier.pseudonym].majority_reviews == 1
    assert stats[outlier.pseudonym].majority_agreement == 0.0
    # Each agreeing reviewer's "others" are split one to one: no strict majority.
    assert stats[agreeing[0].pseudonym].majority_reviews == 0


def test_stats_majority_agreement_counts(make_user):
    run = build.run(reviews_per_response=4)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    majority = [build.reviewer(make_user, f"c{n}") for n in range(3)]
    outlier = build.reviewer(make_user, "dissent")
    for reviewer in majority:
        _review(reviewer, first="correct")
    _review(outlier, first="unsure", after="unsure")

    stats = {row.pseudonym: row for row in selectors.reviewer_statistics()}

    assert stats[majority[0].pseudonym].majority_reviews == 1
    assert stats[majority[0].pseudonym].majority_agreement == 1.0
    assert stats[outlier.pseudonym].majority_reviews == 1
    assert stats[outlier.pseudonym].majority_agreed == 0


def test_queue_drops_responses_of_excluded_question(make_user, one_response):
    other = build.response(
        one_response.run, one_response.question, sample_index=1, letters="B"
    )
    services.assignments_create_for_run(run_id=one_response.run_id)
    for name, verdict in (("x1", "correct"), ("x2", "incorrect")):
        reviewer = build.reviewer(make_user, name)
        _review(reviewer, first=verdict, after=verdict)
        _review(reviewer, first=verdict, after=verdict)
    assert {entry.response_id for entry in selectors.adjudication_queue()} == {
        one_response.pk, other.pk
    }

    services.adjudication_record(
        adjudicator=make_user("judge"),
        question_id=one_response.question_id,
        response_id=one_response.pk,
        decision=Adjudication.Decision.QUESTION_EXCLUDED,
        reason="题干有歧义",
    )

    assert selectors.adjudication_queue() == []


def test_question_decision_settles_earlier_flags(make_user, one_response):
    other = build.response(
        one_response.run, one_response.question, sample_index=1, letters="B"
    )
    services.assignments_create_for_run(run_id=one_response.run_id)
    reviewer = build.reviewer(make_user, "flagger")
    _review(reviewer, flags=["outdated"], comment="旧指南")
    _review(reviewer, flags=["outdated"], comment="旧指南")
    assert len(selectors.adjudication_queue()) == 2

    services.adjudication_record(
        adjudicator=make_user("judge"),
        question_id=one_response.question_id,
        response_id=one_response.pk,
        decision=Adjudication.Decision.QUESTION_KEPT,
        reason="指南未变",
    )
    settled = selectors.adjudication_queue()
    later = build.reviewer(make_user, "later")
    _review(later, flags=["wrong_key"], comment="答案应为 B")
    reopened = selectors.adjudication_queue()

    assert settled == []
    assert len(reopened) == 1
    assert reopened[0].flags == {"wrong_key"}
    assert reopened[0].response_id in {one_response.pk, other.pk}


def test_queue_entry_counts_verdicts_flags_comments(make_user, one_response):
    _review(build.reviewer(make_user, "a"), first="correct", flags=["outdated"], comment="旧")
    _review(build.reviewer(make_user, "b"), first="incorrect", after="incorrect",
            flags=["outdated"], comment="旧指南")
    _review(build.reviewer(make_user, "c"), first="incorrect", after="incorrect")

    entry = selectors.adjudication_queue()[0]

    assert entry.verdict_counts == {"correct": 1, "incorrect": 2}
    assert entry.flag_counts == {"outdated": 2}
    assert entry.comments == 2
