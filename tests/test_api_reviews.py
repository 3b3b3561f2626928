import pytest

from medexam.roles import COORDINATOR, REVIEWER
from review.models import Assignment, Review, Reviewer
from tests.api_personas import client_for, make_question, make_response

pytestmark = pytest.mark.django_db


def add_review(make_user, username, response, slot):
    client = client_for(make_user, username, REVIEWER)
    reviewer = Reviewer.objects.create(user=client.user)
    assignment = Assignment.objects.create(response=response, slot=slot, reviewer=reviewer)
    Review.objects.create(
        assignment=assignment, response=response, reviewer=reviewer, verdict="correct"
    )
    return client, reviewer


def test_reviewer_sees_only_own(make_user):
    response = make_response(make_question())
    client, reviewer = add_review(make_user, "rev1", response, 0)
    add_review(make_user, "rev2", response, 1)
    body = client.get("/api/reviews/").json()
    assert [item["reviewer"] for item in body["results"]] == [reviewer.pseudonym]


def test_coordinator_sees_pseudonyms_only(make_user):
    response = make_response(make_question())
    add_review(make_user, "dr-wang", response, 0)
    add_review(make_user, "dr-li", response, 1)
    client = client_for(make_user, "coord", COORDINATOR)
    reply = client.get("/api/reviews/")
    assert reply.json()["count"] == 2
    assert "dr-wang" not in reply.content.decode()
