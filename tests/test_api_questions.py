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


def test_page_size_honoured_up_to_maximum(make_user):
    for number in range(3):
        make_question(f"题干 {number}")
    client = client_for(make_user, "coord", COORDINATOR)

    small = client.get("/api/questions/", {"page_size": 1}).json()
    capped = client.get("/api/questions/", {"page_size": 100000}).json()

    assert len(small["results"]) == 1
    assert "page_size=1" in small["next"]
    assert small["count"] == 3
    assert len(capped["results"]) == 3


def test_unknown_specialty_code_rejected(make_user):
    client = client_for(make_user, "coord", COORDINATOR)

    response = client.get("/api/questions/", {"specialty": "nope"})
    level = client.get("/api/questions/", {"level": "nope"})

    assert response.status_code == 400
    assert "nope" in response.json()["specialty"][0]
    assert "oncology" in response.json()["specialty"][0]
    assert level.status_code == 400
    assert "level" in level.json()


def test_api_root_lists_every_collection(make_user):
    client = client_for(make_user, "coord", COORDINATOR)

    body = client.get("/api/").json()

    for name in ("questions", "leaderboard", "review-progress", "agreement", "datasets"):
        assert name in body, name
    assert body["leaderboard"].endswith("/api/leaderboard/")
    assert body["datasets"].endswith("/api/datasets/")
