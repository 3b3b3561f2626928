"""Everything a curator reads in the admin is in Simplified Chinese by default."""

import re

import pytest
from django.contrib import admin
from django.contrib.admin import SimpleListFilter
from django.core.exceptions import FieldDoesNotExist
from django.test import RequestFactory
from django.utils import translation

CJK = re.compile(r"[\u4e00-\u9fff]")
APPS = ("medexam", "review")


def registered():
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in APPS
    ]


def untranslated(label) -> bool:
    return not CJK.search(str(label))


def test_model_and_field_names_translated():
    missing = []
    with translation.override("zh-hans"):
        for model, _model_admin in registered():
            meta = model._meta
            for label in (meta.verbose_name, meta.verbose_name_plural):
                if untranslated(label):
                    missing.append(f"{meta.label}: {label}")
            for field in meta.get_fields():
                if field.auto_created or not hasattr(field, "verbose_name"):
                    continue
                if field.name == "id":
                    continue
                if untranslated(field.verbose_name):
                    missing.append(f"{meta.label}.{field.name}: {field.verbose_name}")
                for _value, choice_label in getattr(field, "flatchoices", None) or []:
                    if untranslated(choice_label):
                        missing.append(f"{meta.label}.{field.name} choice: {choice_label}")
    assert missing == [], "\n".join(missing)


@pytest.mark.django_db
def test_columns_filters_actions_translated(make_user):
    request = RequestFactory().get("/admin/")
    request.user = make_user("admin", is_superuser=True, is_staff=True)
    missing = []
    with translation.override("zh-hans"):
        for model, model_admin in registered():
            for column in model_admin.list_display:
                if column in ("__str__", "id", "pk"):
                    continue
                try:
                    label = model._meta.get_field(column).verbose_name
                except FieldDoesNotExist:
                    label = getattr(getattr(model_admin, column), "short_description", column)
                if untranslated(label):
                    missing.append(f"{model.__name__} column {column}: {label}")
            for list_filter in model_admin.list_filter:
                if isinstance(list_filter, type) and issubclass(list_filter, SimpleListFilter):
                    if untranslated(list_filter.title):
                        missing.append(f"{model.__name__} filter {list_filter.title}")
            for name, (_func, _name, description) in model_admin.get_actions(request).items():
                if untranslated(description % {"verbose_name_plural": "x"}):
                    missing.append(f"{model.__name__} action {name}: {description}")
    assert missing == [], "\n".join(missing)


@pytest.mark.django_db
def test_assignment_list_names_response_in_chinese(client, make_user):
    from tests.review_data import make_question, make_response, make_review, make_reviewers
    from tests.review_data import make_run as make_review_run

    response = make_response(make_review_run("model-a"), make_question(), "A")
    make_review(response, make_reviewers(1)[0], "correct")
    client.force_login(make_user("admin", is_superuser=True, is_staff=True))

    page = client.get("/admin/review/assignment/").content.decode()

    expected = f"模型回答 {response.pk}（评测任务 {response.run_id}，题目 {response.question_id}）"
    assert expected in page
    assert f"response {response.pk} (run" not in page
