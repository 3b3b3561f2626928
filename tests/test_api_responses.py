import pytest

from medexam.roles import COORDINATOR, REVIEWER
from review.models import Assignment, Reviewer
from tests.api_personas import client_for, make_question, make_response

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(make_user):
    """A reviewer with one assigned response, and one response not assigned to them."""
    client = client_for(make_user, "rev", REVIEWER)
    reviewer = Reviewer.objects.create(user=client.user)
    mine = make_response(make_question("我的题"))
    make_response(make_question("别人的题"), model_name="OtherModel")
    Assignment.objects.create(response=mine, slot=0, reviewer=reviewer)
    return client, mine


def test_reviewer_sees_only_assigned(assigned):
    client, mine = assigned
    body = client.get("/api/responses/").json()
    assert [item["id"] for item in body["results"]] == [mine.pk]


def test_reviewer_gets_no_model_identity(assigned):
    client, mine = assigned
    text = client.get(f"/api/responses/{mine.pk}/").content.decode()
    assert "SecretModel" not in text
    assert '"run"' not in text


def test_reviewer_filter_by_run_ignored(assigned):
    client, mine = assigned
    body = client.get("/api/responses/", {"run": mine.run_id + 1000}).json()
    assert body["count"] == 1


def test_coordinator_sees_run(make_user):
    response = make_response(make_question())
    client = client_for(make_user, "coord", COORDINATOR)
    body = client.get("/api/responses/", {"run": response.run_id}).json()
    assert body["results"][0]["served_model"] == "SecretModel-70B"
