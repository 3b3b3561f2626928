"""Builders for review tests: questions, runs and responses written straight to the database."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import Group

from medexam import roles
from medexam.models import (
    Endpoint,
    EvaluationRun,
    LanguageModel,
    ModelResponse,
    PromptTemplate,
    Question,
    Specialty,
)
from medexam.models.questions import compute_content_hash
from review.models import Reviewer

_counter = itertools.count(1)

DEFAULT_OPTIONS = {"A": "阿司匹林", "B": "氯吡格雷", "C": "华法林", "D": "肝素", "E": "替格瑞洛"}


def specialty(code: str = "cardiology") -> Specialty:
    # get_or_create: transactional tests flush the rows the migrations seeded.
    found, _created = Specialty.objects.get_or_create(
        code=code, defaults={"name_zh": code, "name_en": code}
    )
    return found


def question(
    *,
    stem: str | None = None,
    options: dict[str, str] | None = None,
    answer_key: str = "A",
    specialty_code: str | None = "cardiology",
    suggested_code: str | None = None,
    question_type: str = Question.Type.SINGLE,
) -> Question:
    stem = stem or f"题干 {next(_counter)}：急性心肌梗死首选哪种药物？"
    options = options or DEFAULT_OPTIONS
    return Question.objects.create(
        stem=stem,
        options=options,
        answer_key=answer_key,
        question_type=question_type,
        specialty=specialty(specialty_code) if specialty_code else None,
        suggested_specialty=specialty(suggested_code) if suggested_code else None,
        content_hash=compute_content_hash(stem, options),
    )


def run(*, reviews_per_response: int = 3, model_name: str | None = None) -> EvaluationRun:
    number = next(_counter)
    model = LanguageModel.objects.create(name=model_name or f"SecretModel-{number}")
    endpoint = Endpoint.objects.create(
        model=model,
        name=f"endpoint-{number}",
        kind=Endpoint.Kind.BASELINE,
        baseline=Endpoint.Baseline.CHANCE,
    )
    template = PromptTemplate.objects.create(name=f"prompt-{number}", user_template="{stem}")
    return EvaluationRun.objects.create(
        name=f"run-name-{number}",
        model=model,
        endpoint=endpoint,
        prompt_template=template,
        reviews_per_response=reviews_per_response,
    )


def response(
    evaluation_run: EvaluationRun,
    on_question: Question,
    *,
    raw_text: str = "答案是 A",
    reasoning_text: str = "",
    letters: str = "A",
    state: str = ModelResponse.State.DONE,
    extraction_status: str = ModelResponse.Extraction.OK,
    sample_index: int = 0,
) -> ModelResponse:
    return ModelResponse.objects.create(
        run=evaluation_run,
        question=on_question,
        sample_index=sample_index,
        state=state,
        raw_text=raw_text,
        reasoning_text=reasoning_text,
        extracted_letters=letters,
        extraction_status=extraction_status,
        is_correct=letters == on_question.answer_key,
    )


def user_with_roles(make_user, username: str, *role_names: str, **extra):
    user = make_user(username, **extra)
    for name in role_names:
        group, _created = Group.objects.get_or_create(name=name)
        user.groups.add(group)
    return user


def reviewer(
    make_user, username: str, *, specialty_codes: tuple[str, ...] = ("cardiology",),
    is_general: bool = False,
) -> Reviewer:
    user = user_with_roles(make_user, username, roles.REVIEWER)
    profile = Reviewer.objects.create(user=user, is_general=is_general)
    profile.specialties.set([specialty(code) for code in specialty_codes])
    return profile


@pytest.fixture(autouse=True)
def web_settings(settings):
    """Serve pages as the development setup does, for tests that render or browse them.

    With DATABASE_URL set the settings are production-like: plain HTTP is
    redirected to HTTPS and static files need a collectstatic manifest.
    """
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
