"""Users with one role each, and data shared by the API tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from medexam.models import (
    Endpoint,
    EvaluationRun,
    LanguageModel,
    ModelResponse,
    PromptTemplate,
    Question,
)
from medexam.models.questions import compute_content_hash


def https_client() -> APIClient:
    """A client whose requests count as HTTPS (through the trusted proxy header)."""
    return APIClient(HTTP_X_FORWARDED_PROTO="https")


def client_for(make_user, username: str, *roles: str, **extra) -> APIClient:
    user = make_user(username, **extra)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    client = https_client()
    client.force_authenticate(user)
    client.user = user
    return client


def make_question(stem: str = "高血压首选", answer: str = "B") -> Question:
    options = {"A": "甲", "B": "乙", "C": "丙"}
    return Question.objects.create(
        stem=stem,
        options=options,
        answer_key=answer,
        content_hash=compute_content_hash(stem, options),
    )


def make_response(question: Question, *, model_name: str = "SecretModel-70B") -> ModelResponse:
    model = LanguageModel.objects.create(name=model_name)
    endpoint = Endpoint.objects.create(
        model=model,
        name=f"{model_name}-ep",
        base_url="http://127.0.0.1:9/v1",
        served_model_id=model_name,
        api_key_env="MEDEXAM_TEST_KEY",
    )
    template = PromptTemplate.objects.create(name=f"t-{model_name}", user_template="{stem}")
    run = EvaluationRun.objects.create(model=model, endpoint=endpoint, prompt_template=template)
    return ModelResponse.objects.create(
        run=run,
        question=question,
        raw_text="答案：B",
        served_model=model_name,
        extracted_letters="B",
    )


@pytest.fixture
def plain_static_storage(settings):
    """Serve static files from the apps: production's manifest needs collectstatic first."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
