import pytest

from medexam.models import Specialty
from medexam.roles import COORDINATOR, CURATOR, REVIEWER
from tests.api_personas import client_for, https_client, make_question

pytestmark = pytest.mark.django_db


def test_curator_lists_questions(make_user):
    make_question()
    client = client_for(make_user, "cur", CURATOR)
    body = client.get("/api/questions/").json()
    assert body["count"] == 1
    assert body["results"][0]["answer_key"] == "B"


def test_reviewer_cannot_list_questions(make_user):
    client = client_for(make_user, "rev", REVIEWER)
    assert client.get("/api/questions/").status_code == 403


def test_anonymous_rejected():
    assert https_client().get("/api/questions/").status_code == 401


def test_search_matches_chinese_substring(make_user):
    make_question("急性心肌梗死的首选治疗")
    make_question("糖尿病酮症酸中毒")
    client = client_for(make_user, "coord", COORDINATOR)
    body = client.get("/api/questions/", {"search": "心肌梗"}).json()
    assert body["count"] == 1


def test_filter_by_specialty_code(make_user):
    question = make_question()
    question.specialty = Specialty.objects.get(code="oncology")
    question.save()
    make_question("另一题")
    client = client_for(make_user, "coord", COORDINATOR)
    assert client.get("/api/questions/", {"specialty": "oncology"}).json()["count"] == 1
