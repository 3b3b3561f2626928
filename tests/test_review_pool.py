"""review.pool: slots of retired or excluded questions are withdrawn and return with them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from medexam.models import Question
from medexam.roles import COORDINATOR, CURATOR
from medexam.services.questions import question_save, questions_set_field
from review import pool, selectors, services
from review.models import Adjudication, Assignment
from tests import review_helpers as build
from tests.api_personas import client_for, plain_static_storage  # noqa: F401

pytestmark = pytest.mark.django_db

Status = Assignment.Status


@pytest.fixture
def two_questions():
    """A run with two questions, one response each, three slots per response."""
    run = build.run(reviews_per_response=3)
    leaving = build.question()
    staying = build.question()
    build.response(run, leaving)
    build.response(run, staying)
    services.assignments_create_for_run(run_id=run.pk)
    return {"run": run, "leaving": leaving, "staying": staying}


def _statuses(question) -> list[str]:
    return sorted(
        Assignment.objects.filter(response__question=question).values_list("status", flat=True)
    )


def _retire(question, *, user_id=None) -> None:
    questions_set_field(
        question_ids=[question.pk], field="status", value=Question.Status.RETIRED, user_id=user_id
    )


def _claim_all(reviewers, *, now=None) -> list[Assignment]:
    """Let each reviewer claim until nothing is left, and return every slot claimed."""
    claimed = []
    for reviewer in reviewers:
        while True:
            slot = services.assignment_claim_next(reviewer=reviewer, now=now)
            if slot is None or slot in claimed:
                break
            claimed.append(slot)
            # Close the slot without a review, so the reviewer's next claim
            # returns a new slot instead of this unexpired one.
            Assignment.objects.filter(pk=slot.pk).update(status=Status.SUBMITTED)
    return claimed


def _adjudicate(make_user, question, decision, name="judge"):
    judge = build.user_with_roles(make_user, f"{name}-{decision}", "adjudicator")
    return services.adjudication_record(
        adjudicator=judge,
        question_id=question.pk,
        response_id=None,
        decision=decision,
        reason="理由",
        corrected_key="B" if decision == Adjudication.Decision.KEY_CORRECTED else "",
    )


def test_retire_withdraws_open_slots(two_questions):
    _retire(two_questions["leaving"])

    assert _statuses(two_questions["leaving"]) == [Status.WITHDRAWN] * 3
    assert _statuses(two_questions["staying"]) == [Status.OPEN] * 3


def test_claim_never_returns_withdrawn(make_user, two_questions):
    _retire(two_questions["leaving"])
    reviewers = [build.reviewer(make_user, f"doctor{n}") for n in range(4)]

    claimed = _claim_all(reviewers)

    questions = {slot.response.question_id for slot in claimed}
    assert questions == {two_questions["staying"].pk}
    assert len(claimed) == 3


def test_claim_without_row_locks_skips_withdrawn(make_user, monkeypatch, two_questions):
    # The SQLite path (conditional UPDATE), exercised on whatever database runs the tests.
    monkeypatch.setattr(connection.features, "has_select_for_update_skip_locked", False)
    _retire(two_questions["leaving"])
    reviewers = [build.reviewer(make_user, f"doctor{n}") for n in range(4)]

    claimed = _claim_all(reviewers)

    assert {slot.response.question_id for slot in claimed} == {two_questions["staying"].pk}


def test_expired_claim_withdrawn_without_reviewer(make_user, two_questions):
    reviewer = build.reviewer(make_user, "absent")
    past = timezone.now() - timedelta(days=1)
    slot = Assignment.objects.filter(response__question=two_questions["leaving"]).first()
    Assignment.objects.filter(pk=slot.pk).update(
        status=Status.CLAIMED, reviewer=reviewer, claimed_at=past, lease_expires_at=past
    )

    _retire(two_questions["leaving"])

    slot.refresh_from_db()
    assert slot.status == Status.WITHDRAWN
    assert slot.reviewer is None
    assert slot.lease_expires_at is None
    later = [build.reviewer(make_user, f"doctor{n}") for n in range(4)]
    claimed = _claim_all(later)
    assert slot.pk not in {taken.pk for taken in claimed}


def test_held_claim_finished_after_retire(make_user, two_questions):
    reviewer = build.reviewer(make_user, "busy")
    slot = services.assignment_claim_next(reviewer=reviewer)
    _retire(slot.response.question)

    slot.refresh_from_db()
    assert slot.status == Status.WITHDRAWN
    assert slot.reviewer == reviewer
    assert services.assignment_claim_next(reviewer=reviewer).pk == slot.pk
    services.assignment_record_first_verdict(
        assignment_id=slot.pk, reviewer=reviewer, verdict="correct"
    )
    review = services.review_submit(
        assignment_id=slot.pk, reviewer=reviewer, verdict_after_key="correct",
        rating_factual=4, rating_reasoning=4, rating_safety=4,
    )
    assert review.assignment_id == slot.pk
    slot.refresh_from_db()
    assert slot.status == Status.SUBMITTED


def test_held_claim_lost_when_lease_ends(make_user, two_questions):
    reviewer = build.reviewer(make_user, "slow")
    slot = services.assignment_claim_next(reviewer=reviewer)
    _retire(slot.response.question)
    after_lease = timezone.now() + timedelta(days=1)

    others = [build.reviewer(make_user, f"doctor{n}") for n in range(4)]
    claimed = _claim_all(others, now=after_lease)

    assert slot.pk not in {taken.pk for taken in claimed}
    again = services.assignment_claim_next(reviewer=reviewer, now=after_lease)
    assert again is None or again.pk != slot.pk
    slot.refresh_from_db()
    assert slot.status == Status.WITHDRAWN


def test_held_claim_skipped_stays_withdrawn(make_user, two_questions):
    reviewer = build.reviewer(make_user, "skipper")
    slot = services.assignment_claim_next(reviewer=reviewer)
    _retire(slot.response.question)

    services.assignment_release(assignment_id=slot.pk, reviewer=reviewer)

    slot.refresh_from_db()
    assert slot.status == Status.WITHDRAWN
    assert slot.reviewer is None


def test_reactivate_restores_slots(make_user, two_questions):
    leaving = two_questions["leaving"]
    reviewer = build.reviewer(make_user, "holder")
    held = services.assignment_claim_next(reviewer=reviewer)
    while held.response.question_id != leaving.pk:
        services.assignment_release(assignment_id=held.pk, reviewer=reviewer)
        held = services.assignment_claim_next(reviewer=reviewer)
    _retire(leaving)
    assert _statuses(leaving) == [Status.WITHDRAWN] * 3

    questions_set_field(
        question_ids=[leaving.pk], field="status", value=Question.Status.ACTIVE, user_id=None
    )

    assert _statuses(leaving) == [Status.CLAIMED, Status.OPEN, Status.OPEN]
    held.refresh_from_db()
    assert held.reviewer == reviewer
    others = [build.reviewer(make_user, f"doctor{n}") for n in range(3)]
    claimed = _claim_all(others)
    assert sum(slot.response.question_id == leaving.pk for slot in claimed) == 2


def test_question_save_retires_and_restores(two_questions):
    leaving = Question.objects.get(pk=two_questions["leaving"].pk)
    leaving.status = Question.Status.RETIRED
    question_save(question=leaving, user_id=None, reason="过时")
    assert _statuses(leaving) == [Status.WITHDRAWN] * 3

    leaving.status = Question.Status.ACTIVE
    question_save(question=leaving, user_id=None, reason="恢复")
    assert _statuses(leaving) == [Status.OPEN] * 3


def test_exclusion_withdraws_and_kept_restores(make_user, two_questions):
    leaving = two_questions["leaving"]

    _adjudicate(make_user, leaving, Adjudication.Decision.QUESTION_EXCLUDED)
    assert _statuses(leaving) == [Status.WITHDRAWN] * 3

    _adjudicate(make_user, leaving, Adjudication.Decision.QUESTION_KEPT)
    assert _statuses(leaving) == [Status.OPEN] * 3


def test_key_correction_after_exclusion_restores(make_user, two_questions):
    leaving = two_questions["leaving"]
    _adjudicate(make_user, leaving, Adjudication.Decision.QUESTION_EXCLUDED)

    _adjudicate(make_user, leaving, Adjudication.Decision.KEY_CORRECTED)

    assert _statuses(leaving) == [Status.OPEN] * 3


def test_response_decision_leaves_pool_alone(make_user, two_questions):
    leaving = two_questions["leaving"]

    _adjudicate(make_user, leaving, Adjudication.Decision.MODEL_CORRECT)

    assert _statuses(leaving) == [Status.OPEN] * 3


def test_excluded_question_stays_out_when_reactivated(make_user, two_questions):
    leaving = two_questions["leaving"]
    _adjudicate(make_user, leaving, Adjudication.Decision.QUESTION_EXCLUDED)
    _retire(leaving)

    questions_set_field(
        question_ids=[leaving.pk], field="status", value=Question.Status.ACTIVE, user_id=None
    )

    assert _statuses(leaving) == [Status.WITHDRAWN] * 3


def test_retired_question_stays_out_when_kept(make_user, two_questions):
    leaving = two_questions["leaving"]
    _retire(leaving)

    _adjudicate(make_user, leaving, Adjudication.Decision.QUESTION_KEPT)

    assert _statuses(leaving) == [Status.WITHDRAWN] * 3


def test_sync_twice_changes_nothing(two_questions):
    leaving = two_questions["leaving"]
    _retire(leaving)

    again = pool.review_pool_sync(question_ids=[leaving.pk, two_questions["staying"].pk])

    assert again == pool.PoolChange(withdrawn=0, restored=0)
    assert _statuses(leaving) == [Status.WITHDRAWN] * 3


def test_submitted_slots_not_withdrawn(make_user, two_questions):
    leaving = two_questions["leaving"]
    slot = Assignment.objects.filter(response__question=leaving).first()
    Assignment.objects.filter(pk=slot.pk).update(status=Status.SUBMITTED)

    _retire(leaving)

    assert _statuses(leaving) == [Status.SUBMITTED, Status.WITHDRAWN, Status.WITHDRAWN]


def test_new_slots_of_retired_question_withdrawn(two_questions):
    run = two_questions["run"]
    late = build.question()
    build.response(run, late)
    _retire(late)

    created = services.assignments_create_for_run(run_id=run.pk)

    assert created == 3
    assert _statuses(late) == [Status.WITHDRAWN] * 3


def test_admin_bulk_retire_withdraws(make_user, plain_static_storage, two_questions):  # noqa: F811
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.force_login(make_user("admin", is_superuser=True, is_staff=True))
    leaving = two_questions["leaving"]

    reply = client.post(
        "/admin/medexam/question/",
        {"action": "set_status_retired", "_selected_action": [leaving.pk]},
    )

    assert reply.status_code == 302
    assert _statuses(leaving) == [Status.WITHDRAWN] * 3


def test_api_retire_and_restore(make_user, two_questions):
    client = client_for(make_user, "cur", CURATOR)
    leaving = two_questions["leaving"]
    url = f"/api/questions/{leaving.pk}/"

    assert client.patch(url, {"status": "retired"}, format="json").status_code == 200
    assert _statuses(leaving) == [Status.WITHDRAWN] * 3

    assert client.patch(url, {"status": "active"}, format="json").status_code == 200
    assert _statuses(leaving) == [Status.OPEN] * 3


def test_progress_counts_withdrawn(make_user, two_questions):
    reviewer = build.reviewer(make_user, "counter")
    held = services.assignment_claim_next(reviewer=reviewer)
    _retire(held.response.question)

    (by_specialty,) = selectors.progress_by_specialty()
    (by_run,) = selectors.progress_by_run()
    stats = {row.pseudonym: row for row in selectors.reviewer_statistics()}

    for row in (by_specialty, by_run):
        assert row["total"] == 6
        assert row["withdrawn"] == 3
        assert row["claimed"] == 0
        assert row["open"] == 3
        assert row["pending"] == 3
        assert row["submitted"] == 0
    assert stats[reviewer.pseudonym].withdrawn == 1
    assert stats[reviewer.pseudonym].claimed == 0


def test_coordinate_page_shows_withdrawn(make_user, two_questions):
    _retire(two_questions["leaving"])
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.force_login(build.user_with_roles(make_user, "coord", COORDINATOR))
    client.cookies["django_language"] = "en"

    page = client.get("/review/coordinate/").content.decode()

    assert "Withdrawn" in page
    assert '<td class="num">6</td><td class="num">0</td><td class="num">0</td>' in page
    assert '<td class="num">3</td><td class="num">3</td>' in page
