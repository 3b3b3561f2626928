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
        "option_A": "甲",
        "option_B": "乙",
        "option_C": "丙",
        "option_D": "",
        "option_E": "",
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


def test_form_has_one_field_per_option(admin_client_https):
    question = make_question()
    page = admin_client_https.get(f"/admin/medexam/question/{question.pk}/change/")
    html = page.content.decode()
    for letter in "ABCDE":
        assert f'name="option_{letter}"' in html
    assert 'name="options"' not in html
    assert "选项 C" in html


def test_option_edit_recorded_in_history(admin_client_https):
    question = make_question()
    url = f"/admin/medexam/question/{question.pk}/change/"
    data = change_form(question, option_B="乙（修订）", option_D="丁")
    reply = admin_client_https.post(url, data)
    assert reply.status_code == 302
    question.refresh_from_db()
    assert question.options == {"A": "甲", "B": "乙（修订）", "C": "丙", "D": "丁"}
    change = QuestionChange.objects.get(question=question, field="options")
    assert "乙（修订）" in change.new_value
    assert "乙（修订）" not in change.old_value


def test_option_gap_names_option_and_fix(admin_client_https):
    question = make_question()
    url = f"/admin/medexam/question/{question.pk}/change/"
    page = admin_client_https.post(url, change_form(question, option_C="", option_D="丁"))
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert "选项 C 为空，但选项 D 已填写" in errors["option_C"][0]
    question.refresh_from_db()
    assert question.options == {"A": "甲", "B": "乙", "C": "丙"}


def test_answer_outside_options_named(admin_client_https):
    question = make_question()
    url = f"/admin/medexam/question/{question.pk}/change/"
    page = admin_client_https.post(url, change_form(question, answer_key="E", change_reason="更正"))
    assert page.status_code == 200
    message = page.context["adminform"].form.errors["answer_key"][0]
    assert "标准答案 E 含有选项 E，但该选项为空" in message
    assert "ABC" in message


def test_single_answer_with_two_letters_named(admin_client_https):
    question = make_question()
    url = f"/admin/medexam/question/{question.pk}/change/"
    page = admin_client_https.post(
        url, change_form(question, answer_key="AB", change_reason="更正")
    )
    assert "本题是单选题" in page.context["adminform"].form.errors["answer_key"][0]


def test_lower_case_key_is_not_a_change(admin_client_https):
    question = make_question()
    url = f"/admin/medexam/question/{question.pk}/change/"
    reply = admin_client_https.post(url, change_form(question, answer_key="b"))
    assert reply.status_code == 302
    assert not QuestionChange.objects.filter(question=question, field="answer_key").exists()


def test_sixth_option_kept(admin_client_https):
    options = {"A": "甲", "B": "乙", "C": "丙", "D": "丁", "E": "戊", "F": "己"}
    question = Question.objects.create(
        stem="六个选项的题", options=options, answer_key="F", content_hash="f" * 64
    )
    url = f"/admin/medexam/question/{question.pk}/change/"
    assert 'name="option_F"' in admin_client_https.get(url).content.decode()
    data = change_form(question, option_D="丁", option_E="戊", option_F="己", source="book")
    assert admin_client_https.post(url, data).status_code == 302
    question.refresh_from_db()
    assert question.options == options
    assert question.source == "book"


def test_history_headers_in_chinese(admin_client_https):
    question = make_question()
    url = f"/admin/medexam/question/{question.pk}/change/"
    admin_client_https.post(url, change_form(question, answer_key="C", change_reason="指南更新"))
    html = admin_client_https.get(url).content.decode()
    for header in ("修改时间", "修改人", "字段", "原值", "新值", "原因"):
        assert header in html
    assert "标准答案" in html


def test_add_question_sets_hash_and_signature(admin_client_https):
    data = change_form(
        Question(stem="新增题：房颤卒中风险评分", answer_key="A", question_type="single"),
        option_A="CHA2DS2-VASc",
        option_B="HAS-BLED",
        option_C="GRACE",
    )
    data["status"] = "active"
    reply = admin_client_https.post("/admin/medexam/question/add/", data)
    assert reply.status_code == 302
    question = Question.objects.get(stem="新增题：房颤卒中风险评分")
    assert question.options == {"A": "CHA2DS2-VASc", "B": "HAS-BLED", "C": "GRACE"}
    assert len(question.content_hash) == 64
    assert question.stem_signature
