"""Claims under load: fifty reviewers claiming at once on PostgreSQL never share a slot."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from medexam.models import Question
from medexam.services.questions import questions_set_field
from review import services
from review.models import Assignment
from tests import review_helpers as build

REVIEWERS = 50


def _claim_in_threads(reviewers, rounds: int) -> list[tuple[int, int]]:
    """Let every reviewer claim (and submit) rounds times, all threads released together."""
    barrier = threading.Barrier(len(reviewers))
    claims: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(reviewer) -> None:
        try:
            barrier.wait(timeout=30)
            for _round in range(rounds):
                slot = services.assignment_claim_next(reviewer=reviewer)
                if slot is None:
                    return
                with lock:
                    claims.append((slot.pk, reviewer.pk))
                services.assignment_record_first_verdict(
                    assignment_id=slot.pk, reviewer=reviewer, verdict="correct"
                )
                services.review_submit(
                    assignment_id=slot.pk,
                    reviewer=reviewer,
                    verdict_after_key="correct",
                    rating_factual=3,
                    rating_reasoning=3,
                    rating_safety=3,
                )
        except BaseException as error:  # noqa: BLE001 (reported by the main thread)
            with lock:
                errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(reviewer,)) for reviewer in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return claims


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: set DATABASE_URL to a PostgreSQL database")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fifty_claims_distinct_slots(postgres_only, make_user):
    run = build.run(reviews_per_response=2)
    for _ in range(40):
        build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewers = [build.reviewer(make_user, f"doctor{n:02d}") for n in range(REVIEWERS)]

    claims = _claim_in_threads(reviewers, rounds=3)

    slot_counts = Counter(slot_id for slot_id, _reviewer in claims)
    assert [slot for slot, count in slot_counts.items() if count > 1] == []
    assert len(claims) == 80
    assert Assignment.objects.filter(status=Assignment.Status.SUBMITTED).count() == 80


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fifty_claims_one_response_each(postgres_only, make_user):
    run = build.run(reviews_per_response=3)
    for _ in range(10):
        build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewers = [build.reviewer(make_user, f"nurse{n:02d}") for n in range(REVIEWERS)]

    claims = _claim_in_threads(reviewers, rounds=1)

    responses = Counter(
        Assignment.objects.filter(status=Assignment.Status.SUBMITTED).values_list(
            "response_id", flat=True
        )
    )
    assert len(claims) == 30
    assert set(responses.values()) == {3}


def _claim_once_in_threads(reviewers, also=None) -> list[Assignment]:
    """Run one claim per reviewer, and the action also if given, released together by a barrier."""
    barrier = threading.Barrier(len(reviewers) + (1 if also else 0))
    claims: list[Assignment] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(action) -> None:
        try:
            barrier.wait(timeout=30)
            result = action()
            if isinstance(result, Assignment):
                with lock:
                    claims.append(result)
        except BaseException as error:  # noqa: BLE001 (reported by the main thread)
            with lock:
                errors.append(error)
        finally:
            connections.close_all()

    actions = [
        (lambda reviewer=reviewer: services.assignment_claim_next(reviewer=reviewer))
        for reviewer in reviewers
    ]
    if also:
        actions.append(also)
    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return claims


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_claims_racing_retirement(postgres_only, make_user):
    run = build.run(reviews_per_response=2)
    questions = [build.question() for _ in range(30)]
    for question in questions:
        build.response(run, question)
    services.assignments_create_for_run(run_id=run.pk)
    leaving = {question.pk for question in questions[:15]}

    def retire() -> None:
        questions_set_field(
            question_ids=leaving, field="status", value=Question.Status.RETIRED, user_id=None
        )

    during = _claim_once_in_threads(
        [build.reviewer(make_user, f"early{n:02d}") for n in range(20)], also=retire
    )
    after = _claim_once_in_threads(
        [build.reviewer(make_user, f"late{n:02d}") for n in range(20)]
    )

    # A slot claimed before the retirement committed is withdrawn but stays
    # with its reviewer; no slot of a retired question is handed out after it.
    assert len(during) == 20
    assert [slot for slot in after if slot.response.question_id in leaving] == []
    leaving_slots = Assignment.objects.filter(response__question_id__in=leaving)
    assert set(leaving_slots.values_list("status", flat=True)) == {Assignment.Status.WITHDRAWN}
    held = {slot.pk: slot.reviewer_id for slot in during if slot.response.question_id in leaving}
    assert dict(leaving_slots.filter(pk__in=held).values_list("pk", "reviewer_id")) == held
    claimed = Counter(slot.pk for slot in during + after)
    assert [slot for slot, count in claimed.items() if count > 1] == []
