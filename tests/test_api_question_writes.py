"""Writes to /api/questions/: curators only, validated, with history and reasons."""

import pytest
from django.conf import settings

from medexam.models import Question, QuestionChange
from medexam.roles import ADJUDICATOR, COORDINATOR, CURATOR, REVIEWER
from tests.api_personas import client_for, https_client, make_question

pytestmark = pytest.mark.django_db


def curator_client(make_user):
    client = client_for(make_user, "cur", CURATOR)
    # Validation messages follow the request's language; these checks read the English.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


NEW_QUESTION = {
    "stem": "急性心肌梗死溶栓治疗的时间窗是",
    "options": {"A": "3小时内", "B": "12小时内", "C": "24小时内", "D": "48小时内"},
    "answer_key": "b",
    "question_type": "single",
    "specialty": "cardiovascular",
    "level": "attending",
}


@pytest.mark.parametrize("role", [REVIEWER, ADJUDICATOR, COORDINATOR])
def test_create_forbidden_for_other_roles(make_user, role):
    client = client_for(make_user, f"user-{role}", role)
    assert client.post("/api/questions/", NEW_QUESTION, format="json").status_code == 403
    assert Question.objects.count() == 0


def test_create_rejects_anonymous():
    assert https_client().post("/api/questions/", NEW_QUESTION, format="json").status_code == 401


def test_curator_creates_question(make_user):
    client = curator_client(make_user)
    reply = client.post("/api/questions/", NEW_QUESTION, format="json")
    assert reply.status_code == 201, reply.json()
    question = Question.objects.get()
    assert question.answer_key == "B"
    assert question.specialty.code == "cardiovascular"
    assert question.content_hash
    assert question.stem_signature
    assert reply.json()["id"] == question.pk
    assert "change_reason" not in reply.json()


def test_create_names_bad_option_gap(make_user):
    client = curator_client(make_user)
    payload = {**NEW_QUESTION, "options": {"A": "甲", "B": "乙", "D": "丁"}, "answer_key": "A"}
    reply = client.post("/api/questions/", payload, format="json")
    assert reply.status_code == 400
    message = reply.json()["options"][0]
    assert "Option C is empty" in message
    assert "option D" in message


def test_create_names_answer_outside_options(make_user):
    client = curator_client(make_user)
    reply = client.post("/api/questions/", {**NEW_QUESTION, "answer_key": "E"}, format="json")
    assert reply.status_code == 400
    assert "names option E" in reply.json()["answer_key"][0]


def test_create_rejects_existing_content(make_user):
    client = curator_client(make_user)
    assert client.post("/api/questions/", NEW_QUESTION, format="json").status_code == 201
    reply = client.post("/api/questions/", NEW_QUESTION, format="json")
    assert reply.status_code == 400
    assert "already has this stem" in reply.json()["stem"][0]


def test_key_change_needs_reason(make_user):
    question = make_question()
    client = curator_client(make_user)
    reply = client.patch(f"/api/questions/{question.pk}/", {"answer_key": "C"}, format="json")
    assert reply.status_code == 400
    assert "change_reason" in reply.json()
    question.refresh_from_db()
    assert question.answer_key == "B"
    assert not QuestionChange.objects.exists()


def test_key_change_recorded_with_reason(make_user):
    question = make_question()
    client = curator_client(make_user)
    reply = client.patch(
        f"/api/questions/{question.pk}/",
        {"answer_key": "C", "change_reason": "教材第9版更正"},
        format="json",
    )
    assert reply.status_code == 200, reply.json()
    change = QuestionChange.objects.get(question=question)
    assert change.field == "answer_key"
    assert (change.old_value, change.new_value) == ("B", "C")
    assert change.reason == "教材第9版更正"
    assert change.user == client.user


def test_stem_edit_updates_hash_and_history(make_user):
    question = make_question("高血压首选")
    old_hash = question.content_hash
    client = curator_client(make_user)
    reply = client.patch(
        f"/api/questions/{question.pk}/", {"stem": "原发性高血压首选"}, format="json"
    )
    assert reply.status_code == 200
    question.refresh_from_db()
    assert question.content_hash != old_hash
    assert QuestionChange.objects.get(question=question).field == "stem"


def test_coordinator_cannot_update(make_user):
    question = make_question()
    client = client_for(make_user, "coord", COORDINATOR)
    reply = client.patch(f"/api/questions/{question.pk}/", {"status": "retired"}, format="json")
    assert reply.status_code == 403


def test_delete_not_allowed(make_user):
    question = make_question()
    client = curator_client(make_user)
    assert client.delete(f"/api/questions/{question.pk}/").status_code == 405
    assert Question.objects.filter(pk=question.pk).exists()
