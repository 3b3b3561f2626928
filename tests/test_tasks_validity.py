"""Validity refresh after each review: the task queued on commit and its rule-set choice."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medexam.models import Question, ValidityRuleSet
from medexam.services.datasets import validity_refresh_questions
from review import services
from tests import review_helpers as build
from tests.review_helpers import web_settings  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db

V = Question.Validity


@pytest.fixture
def split_question(make_user, eager, django_capture_on_commit_callbacks):
    """A question whose three blind verdicts split one to two, reviewed through the services."""
    run = build.run(reviews_per_response=3)
    question = build.question()
    build.response(run, question)
    services.assignments_create_for_run(run_id=run.pk)
    for name, verdict in (("v1", "correct"), ("v2", "incorrect"), ("v3", "incorrect")):
        reviewer = build.reviewer(make_user, name)
        with django_capture_on_commit_callbacks(execute=True):
            slot = services.assignment_claim_next(reviewer=reviewer)
            services.assignment_record_first_verdict(
                assignment_id=slot.pk, reviewer=reviewer, verdict=verdict
            )
            services.review_submit(
                assignment_id=slot.pk,
                reviewer=reviewer,
                verdict_after_key="correct",
                rating_factual=3,
                rating_reasoning=3,
                rating_safety=3,
            )
    question.refresh_from_db()
    return question


def test_review_submit_refreshes_validity(split_question):
    assert split_question.validity == V.DISPUTED
    assert [reason["code"] for reason in split_question.validity_reasons] == ["low_agreement"]
    assert split_question.validity_reasons[0]["rule_set"] == "standard"


def test_queue_shows_dispute_after_review(client, make_user, split_question):
    client.force_login(build.user_with_roles(make_user, "judge", "adjudicator"))

    page = client.get(reverse("review:adjudicate")).content.decode()

    assert "是：首次判定一致性 0.33，低于 0.67" in page
    assert "0.3333" not in page


def test_refresh_skipped_without_rule_set():
    question = build.question()
    ValidityRuleSet.objects.all().delete()

    assert validity_refresh_questions(question_ids=[question.pk]) is None

    question.refresh_from_db()
    assert question.validity == V.NOT_REVIEWED


def test_refresh_skipped_with_several_rule_sets():
    question = build.question()
    Question.objects.filter(pk=question.pk).update(validity=V.VALIDATED)
    ValidityRuleSet.objects.create(name="strict", min_reviews=5)

    assert validity_refresh_questions(question_ids=[question.pk]) is None

    question.refresh_from_db()
    assert question.validity == V.VALIDATED


def test_refresh_touches_only_named_questions():
    named = build.question()
    other = build.question()
    Question.objects.update(validity=V.VALIDATED)

    counts = validity_refresh_questions(question_ids=[named.pk])

    named.refresh_from_db()
    other.refresh_from_db()
    assert counts == {V.NOT_REVIEWED: 1}
    assert named.validity == V.NOT_REVIEWED
    assert other.validity == V.VALIDATED
