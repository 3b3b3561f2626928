"""The review progress API: slot counts with withdrawn slots apart, coordinators only."""

from __future__ import annotations

import pytest

from medexam.models import Question
from medexam.roles import ADJUDICATOR, COORDINATOR, CURATOR, REVIEWER
from medexam.services.questions import questions_set_field
from review import services
from tests import review_helpers as build
from tests.api_personas import client_for, https_client

pytestmark = pytest.mark.django_db

URL = "/api/review-progress/"


@pytest.fixture
def retired_half(make_user):
    """Two questions with three slots each; one slot claimed, then one question retired."""
    run = build.run(reviews_per_response=3)
    retired = build.question()
    build.response(run, retired)
    build.response(run, build.question())
    services.assignments_create_for_run(run_id=run.pk)
    reviewer = build.reviewer(make_user, "holder")
    held = services.assignment_claim_next(reviewer=reviewer)
    questions_set_field(
        question_ids=[held.response.question_id],
        field="status",
        value=Question.Status.RETIRED,
        user_id=None,
    )
    return {"run": run, "reviewer": reviewer}


def test_progress_counts_withdrawn(make_user, retired_half):
    client = client_for(make_user, "coord", COORDINATOR)

    body = client.get(URL).json()

    (specialty,) = body["by_specialty"]
    (run,) = body["by_run"]
    assert specialty["specialty"] == "cardiology"
    assert run["run"] == retired_half["run"].pk
    for row in (specialty, run):
        assert row["total"] == 6
        assert row["withdrawn"] == 3
        assert row["pending"] == 3
        assert row["open"] == 3
        assert row["claimed"] == 0
        assert row["submitted"] == 0


def test_progress_names_reviewers_by_pseudonym(make_user, retired_half):
    client = client_for(make_user, "coord", COORDINATOR)

    body = client.get(URL).json()

    (row,) = body["by_reviewer"]
    assert row["reviewer"] == retired_half["reviewer"].pseudonym
    assert row["withdrawn"] == 1
    assert row["claimed"] == 0
    assert "holder" not in str(body)


@pytest.mark.parametrize("role", [REVIEWER, ADJUDICATOR, CURATOR])
def test_progress_forbidden_for_other_roles(make_user, role):
    client = client_for(make_user, f"user-{role}", role)

    assert client.get(URL).status_code == 403


def test_progress_rejects_anonymous():
    assert https_client().get(URL).status_code == 401
