import pytest
from django.test import Client

from medexam.models import Question, QuestionChange, Specialty
from tests.api_personas import make_question, plain_static_storage  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plain_static_storage")]


@pytest.fixture
def admin_client_https(make_user):
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.force_login(make_user("admin", is_superuser=True, is_staff=True))
    return client


def change_form(question, **changes):
    data = {
        "stem": question.stem,
        "options": '{"A": "甲", "B": "乙", "C": "丙"}',
        "answer_key": question.answer_key,
        "question_type": question.question_type,
        "explanation": "",
        "specialty": "",
        "level": "",
        "status": question.status,
        "source": "",
        "source_id": "",
        "change_reason": "",
        "changes-TOTAL_FORMS": "0",
        "changes-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_search_finds_chinese_substring(admin_client_https):
    make_question("急性心肌梗死的首选治疗")
    make_question("糖尿病酮症")
    page = admin_client_https.get("/admin/medexam/question/", {"q": "心肌梗"})
    assert "急性心肌梗死" in page.content.decode()
    assert "糖尿病酮症" not in page.content.decode()


def test_key_change_without_reason_refused(admin_client_https):
    question = make_question()
    url = f"/admin/medexam/question/{question.pk}/change/"
    page = admin_client_https.post(url, change_form(question, answer_key="C"))
    assert page.status_code == 200
    question.refresh_from_db()
    assert question.answer_key == "B"


def test_key_change_recorded_with_reason(admin_client_https):
    question = make_question()
    url = f"/admin/medexam/question/{question.pk}/change/"
    reply = admin_client_https.post(
        url, change_form(question, answer_key="C", change_reason="2024 指南更新")
    )
    assert reply.status_code == 302
    change = QuestionChange.objects.get(question=question, field="answer_key")
    assert change.old_value == "B"
    assert change.new_value == "C"
    assert change.reason == "2024 指南更新"


def test_bulk_set_specialty_records_history(admin_client_https):
    question = make_question()
    oncology = Specialty.objects.get(code="oncology")
    admin_client_https.post(
        "/admin/medexam/question/",
        {"action": f"set_specialty_{oncology.pk}", "_selected_action": [question.pk]},
    )
    question.refresh_from_db()
    assert question.specialty == oncology
    assert QuestionChange.objects.filter(question=question, field="specialty").count() == 1


def test_confirm_suggestion(admin_client_https):
    question = make_question()
    cardio = Specialty.objects.get(code="cardiovascular")
    Question.objects.filter(pk=question.pk).update(suggested_specialty=cardio)
    admin_client_https.post(
        "/admin/medexam/question/",
        {"action": "confirm_suggestion", "_selected_action": [question.pk]},
    )
    question.refresh_from_db()
    assert question.specialty == cardio


def test_suggestion_filter_lists_unconfirmed(admin_client_https):
    question = make_question("房颤抗凝")
    Question.objects.filter(pk=question.pk).update(
        suggested_specialty=Specialty.objects.get(code="cardiovascular")
    )
    make_question("另一题")
    page = admin_client_https.get("/admin/medexam/question/", {"suggestion": "pending"})
    assert "房颤抗凝" in page.content.decode()
    assert "另一题" not in page.content.decode()
