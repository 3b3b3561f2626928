"""review.services: slots, claims, leases, first verdicts, reviews, gold items, adjudication."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from medexam.models import ModelResponse, QuestionChange
from review import services
from review.models import Adjudication, Assignment, GoldItem, Review, Skip
from tests import review_helpers as build

pytestmark = pytest.mark.django_db


def _submit(assignment, reviewer, *, first="correct", after="correct", **extra):
    services.assignment_record_first_verdict(
        assignment_id=assignment.pk, reviewer=reviewer, verdict=first
    )
    values = {
        "rating_factual": 4,
        "rating_reasoning": 3,
        "rating_safety": 5,
        "flags": (),
        "comment": "",
    }
    values.update(extra)
    return services.review_submit(
        assignment_id=assignment.pk, reviewer=reviewer, verdict_after_key=after, **values
    )


def test_create_slots_per_response():
    run = build.run(reviews_per_response=3)
    build.response(run, build.question())
    build.response(run, build.question())

    created = services.assignments_create_for_run(run_id=run.pk)

    assert created == 6
    assert Assignment.objects.filter(response__run=run).count() == 6


def test_create_slots_idempotent():
    run = build.run(reviews_per_response=2)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)

    again = services.assignments_create_for_run(run_id=run.pk)

    assert again == 0
    assert Assignment.objects.count() == 2


def test_create_slots_skips_failed_and_truncated():
    run = build.run(reviews_per_response=1)
    kept = build.response(run, build.question())
    build.response(run, build.question(), state=ModelResponse.State.FAILED)
    build.response(run, build.question(), state=ModelResponse.State.PENDING)
    build.response(
        run, build.question(), extraction_status=ModelResponse.Extraction.TRUNCATED, letters=""
    )

    services.assignments_create_for_run(run_id=run.pk)

    assert list(Assignment.objects.values_list("response_id", flat=True)) == [kept.pk]


def test_create_slots_uses_suggested_specialty():
    run = build.run(reviews_per_response=1)
    build.response(run, build.question(specialty_code=None, suggested_code="neurology"))
    build.response(run, build.question(specialty_code=None))

    services.assignments_create_for_run(run_id=run.pk)

    codes = Assignment.objects.values_list("specialty__code", flat=True)
    assert sorted(codes, key=str) == [None, "neurology"]


def test_create_slots_marks_gold(make_user):
    run = build.run(reviews_per_response=2)
    response = build.response(run, build.question())
    services.gold_item_mark(response_id=response.pk, verdict="correct")

    services.assignments_create_for_run(run_id=run.pk)

    assert Assignment.objects.filter(is_gold=True).count() == 2


def test_claim_matches_specialty(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question(specialty_code="neurology"))
    cardio = build.response(run, build.question(specialty_code="cardiology"))
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "cardiologist", specialty_codes=("cardiology",))

    claimed = services.assignment_claim_next(reviewer=reviewer)

    assert claimed.response_id == cardio.pk
    assert services.assignment_claim_next(reviewer=reviewer).pk == claimed.pk


def test_claim_no_specialty_goes_to_general(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question(specialty_code=None))
    services.assignments_create_for_run(run_id=run.pk)
    specialist = build.reviewer(make_user, "specialist")
    generalist = build.reviewer(make_user, "generalist", specialty_codes=(), is_general=True)

    assert services.assignment_claim_next(reviewer=specialist) is None
    assert services.assignment_claim_next(reviewer=generalist) is not None


def test_claim_sets_lease(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "leased")
    now = timezone.now()

    claimed = services.assignment_claim_next(reviewer=reviewer, now=now)

    assert claimed.status == Assignment.Status.CLAIMED
    assert claimed.reviewer_id == reviewer.pk
    assert claimed.lease_expires_at == now + timedelta(minutes=30)


def test_claim_never_same_response_twice(make_user):
    run = build.run(reviews_per_response=3)
    response = build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "once")

    first = services.assignment_claim_next(reviewer=reviewer)
    _submit(first, reviewer)

    assert first.response_id == response.pk
    assert services.assignment_claim_next(reviewer=reviewer) is None


def test_claim_prefers_started_responses(make_user):
    run = build.run(reviews_per_response=3)
    for _ in range(8):
        build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    first_reviewer = build.reviewer(make_user, "first")
    second_reviewer = build.reviewer(make_user, "second")

    first = services.assignment_claim_next(reviewer=first_reviewer)
    _submit(first, first_reviewer)
    second = services.assignment_claim_next(reviewer=second_reviewer)

    assert second.response_id == first.response_id


def test_claim_takes_expired_lease(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    leaver = build.reviewer(make_user, "leaver")
    taker = build.reviewer(make_user, "taker")
    start = timezone.now()
    abandoned = services.assignment_claim_next(reviewer=leaver, now=start)

    assert services.assignment_claim_next(reviewer=taker, now=start) is None
    later = start + timedelta(minutes=31)
    retaken = services.assignment_claim_next(reviewer=taker, now=later)
    assert retaken.pk == abandoned.pk
    assert retaken.reviewer_id == taker.pk


def test_submit_after_lease_lost_rejected(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    leaver = build.reviewer(make_user, "slow")
    taker = build.reviewer(make_user, "fast")
    start = timezone.now()
    abandoned = services.assignment_claim_next(reviewer=leaver, now=start)
    services.assignment_claim_next(reviewer=taker, now=start + timedelta(minutes=31))

    with pytest.raises(services.ReviewError):
        _submit(abandoned, leaver)


def test_skip_releases_and_excludes(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    skipper = build.reviewer(make_user, "skipper")
    other = build.reviewer(make_user, "other")
    claimed = services.assignment_claim_next(reviewer=skipper)

    services.assignment_release(assignment_id=claimed.pk, reviewer=skipper)

    claimed.refresh_from_db()
    assert claimed.status == Assignment.Status.OPEN
    assert claimed.reviewer_id is None
    assert Skip.objects.filter(reviewer=skipper).count() == 1
    assert services.assignment_claim_next(reviewer=skipper) is None
    assert services.assignment_claim_next(reviewer=other).pk == claimed.pk


def test_submit_keeps_both_verdicts(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "changer")
    claimed = services.assignment_claim_next(reviewer=reviewer)

    review = _submit(claimed, reviewer, first="correct", after="incorrect")

    assert review.verdict == "correct"
    assert review.verdict_after_key == "incorrect"
    claimed.refresh_from_db()
    assert claimed.status == Assignment.Status.SUBMITTED


def test_submit_unchanged_verdict_blank(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "keeper")
    claimed = services.assignment_claim_next(reviewer=reviewer)

    review = _submit(claimed, reviewer, first="unsure", after="unsure")

    assert review.verdict == "unsure"
    assert review.verdict_after_key == ""


def test_first_verdict_not_overwritten(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "steady")
    claimed = services.assignment_claim_next(reviewer=reviewer)
    services.assignment_record_first_verdict(
        assignment_id=claimed.pk, reviewer=reviewer, verdict="incorrect"
    )

    again = services.assignment_record_first_verdict(
        assignment_id=claimed.pk, reviewer=reviewer, verdict="correct"
    )

    assert again == "incorrect"
    claimed.refresh_from_db()
    assert claimed.first_verdict == "incorrect"


def test_submit_needs_first_verdict(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "hasty")
    claimed = services.assignment_claim_next(reviewer=reviewer)

    with pytest.raises(services.ReviewError):
        services.review_submit(
            assignment_id=claimed.pk,
            reviewer=reviewer,
            verdict_after_key="correct",
            rating_factual=3,
            rating_reasoning=3,
            rating_safety=3,
        )
    assert Review.objects.count() == 0


def test_submit_flag_needs_comment(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "flagger")
    claimed = services.assignment_claim_next(reviewer=reviewer)

    with pytest.raises(services.ReviewError):
        _submit(claimed, reviewer, flags=["wrong_key"], comment="  ")
    review = _submit(claimed, reviewer, flags=["wrong_key"], comment="标准答案应为 B")
    assert review.flags == ["wrong_key"]


@pytest.mark.parametrize("bad", [0, 6, None])
def test_submit_rejects_bad_rating(make_user, bad):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "rater")
    claimed = services.assignment_claim_next(reviewer=reviewer)

    with pytest.raises(services.ReviewError):
        _submit(claimed, reviewer, rating_safety=bad)


def test_submit_records_time_on_task(make_user):
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "timed")
    start = timezone.now()
    claimed = services.assignment_claim_next(reviewer=reviewer, now=start)
    services.assignment_record_first_verdict(
        assignment_id=claimed.pk, reviewer=reviewer, verdict="correct"
    )

    review = services.review_submit(
        assignment_id=claimed.pk,
        reviewer=reviewer,
        verdict_after_key="correct",
        rating_factual=5,
        rating_reasoning=5,
        rating_safety=5,
        now=start + timedelta(seconds=42),
    )

    assert review.time_on_task_ms == 42000


def test_gold_mark_updates_slots():
    run = build.run(reviews_per_response=2)
    response = build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)

    services.gold_item_mark(response_id=response.pk, verdict="incorrect")

    assert GoldItem.objects.get().verdict == "incorrect"
    assert Assignment.objects.filter(is_gold=True).count() == 2


def test_gold_mark_unknown_response():
    with pytest.raises(services.ReviewError):
        services.gold_item_mark(response_id=999999, verdict="correct")


def test_key_corrected_records_change(make_user):
    adjudicator = make_user("judge")
    run = build.run(reviews_per_response=1)
    question = build.question(answer_key="A")
    response = build.response(run, question, letters="B")

    adjudication = services.adjudication_record(
        adjudicator=adjudicator,
        question_id=question.pk,
        response_id=response.pk,
        decision=Adjudication.Decision.KEY_CORRECTED,
        reason="2023 版指南推荐 B",
        corrected_key="b",
    )

    question.refresh_from_db()
    response.refresh_from_db()
    change = QuestionChange.objects.get(question=question)
    assert adjudication.corrected_key == "B"
    assert question.answer_key == "B"
    assert change.old_value == "A"
    assert change.new_value == "B"
    assert change.reason == "2023 版指南推荐 B"
    assert change.user == adjudicator
    assert response.is_correct is True


def test_key_corrected_rejects_bad_letter(make_user):
    question = build.question(answer_key="A")

    with pytest.raises(services.ReviewError):
        services.adjudication_record(
            adjudicator=make_user("judge"),
            question_id=question.pk,
            response_id=None,
            decision=Adjudication.Decision.KEY_CORRECTED,
            reason="typo",
            corrected_key="Z",
        )
    question.refresh_from_db()
    assert question.answer_key == "A"
    assert Adjudication.objects.count() == 0


def test_key_corrected_single_needs_one_letter(make_user):
    question = build.question(answer_key="A")

    with pytest.raises(services.ReviewError):
        services.question_key_correct(
            question_id=question.pk, answer_key="AB", reason="two", user=None
        )


def test_adjudication_needs_reason(make_user):
    question = build.question()

    with pytest.raises(services.ReviewError):
        services.adjudication_record(
            adjudicator=make_user("judge"),
            question_id=question.pk,
            response_id=None,
            decision=Adjudication.Decision.QUESTION_KEPT,
            reason=" ",
        )


def test_reviewer_update_sets_specialties(make_user):
    user = make_user("newcomer")
    neuro = build.specialty("neurology")

    reviewer = services.reviewer_update(
        user_id=user.pk, specialty_ids=[neuro.pk], is_general=True
    )

    assert list(reviewer.specialties.values_list("code", flat=True)) == ["neurology"]
    assert reviewer.is_general is True


def test_reviewer_update_unknown_specialty(make_user):
    user = make_user("newcomer")

    with pytest.raises(services.ReviewError):
        services.reviewer_update(user_id=user.pk, specialty_ids=[987654], is_general=False)


def test_claim_without_row_locks(make_user, monkeypatch):
    # The SQLite path (conditional UPDATE), exercised on whatever database runs the tests.
    monkeypatch.setattr(connection.features, "has_select_for_update_skip_locked", False)
    run = build.run(reviews_per_response=1)
    build.response(run, build.question())
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    first = build.reviewer(make_user, "first")
    second = build.reviewer(make_user, "second")

    one = services.assignment_claim_next(reviewer=first)
    two = services.assignment_claim_next(reviewer=second)

    assert one.pk != two.pk
    assert services.assignment_claim_next(reviewer=build.reviewer(make_user, "third")) is None
