"""Builders for reviewed responses, written straight to the database.

Tests of agreement, validity and datasets need reviews without the review
forms, so these helpers create the rows a submitted review leaves behind.
"""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model

from medexam.models import (
    Endpoint,
    EvaluationRun,
    LanguageModel,
    Level,
    ModelResponse,
    PromptTemplate,
    Question,
    Specialty,
)
from medexam.models.questions import compute_content_hash
from review.models import Assignment, Review, Reviewer

_counter = itertools.count(1)


def make_question(
    *,
    specialty: str | None = "cardiovascular",
    level: str | None = "attending",
    answer_key: str = "A",
    **extra: Any,
) -> Question:
    n = next(_counter)
    stem = extra.pop("stem", f"题干 {n}: 下列哪项正确?")
    options = extra.pop(
        "options", {"A": f"选项甲 {n}", "B": "选项乙", "C": "选项丙", "D": "选项丁"}
    )
    return Question.objects.create(
        stem=stem,
        options=options,
        answer_key=answer_key,
        specialty=Specialty.objects.get(code=specialty) if specialty else None,
        level=Level.objects.get(code=level) if level else None,
        content_hash=compute_content_hash(stem, options),
        source="tests",
        source_id=str(n),
        **extra,
    )


def make_run(model_name: str) -> EvaluationRun:
    model, _ = LanguageModel.objects.get_or_create(name=model_name)
    endpoint, _ = Endpoint.objects.get_or_create(
        name=f"{model_name}-endpoint",
        defaults={"model": model, "kind": Endpoint.Kind.BASELINE, "baseline": "always_A"},
    )
    template, _ = PromptTemplate.objects.get_or_create(
        name="tests", version=1, defaults={"user_template": "{stem}\n{options}"}
    )
    return EvaluationRun.objects.create(model=model, endpoint=endpoint, prompt_template=template)


def make_response(run: EvaluationRun, question: Question, letters: str | None) -> ModelResponse:
    """A finished response; letters=None makes a failed one."""
    if letters is None:
        return ModelResponse.objects.create(
            run=run, question=question, state=ModelResponse.State.FAILED, error="timed out"
        )
    return ModelResponse.objects.create(
        run=run,
        question=question,
        state=ModelResponse.State.DONE,
        raw_text=f"答案：{letters}",
        extracted_letters=letters,
        extraction_status="ok",
        is_correct=set(letters) == set(question.answer_key),
    )


def make_reviewers(count: int) -> list[Reviewer]:
    user_model = get_user_model()
    reviewers = []
    for _ in range(count):
        user = user_model.objects.create(username=f"physician{next(_counter)}")
        reviewers.append(Reviewer.objects.create(user=user))
    return reviewers


def make_review(
    response: ModelResponse,
    reviewer: Reviewer,
    verdict: str,
    *,
    flags: list[str] | None = None,
    ratings: tuple[int | None, ...] = (None,) * 3,
) -> Review:
    slot = Assignment.objects.filter(response=response).count()
    assignment = Assignment.objects.create(
        response=response, slot=slot, reviewer=reviewer, status=Assignment.Status.SUBMITTED
    )
    return Review.objects.create(
        assignment=assignment,
        response=response,
        reviewer=reviewer,
        verdict=verdict,
        flags=flags or [],
        rating_factual=ratings[0],
        rating_reasoning=ratings[1],
        rating_safety=ratings[2],
    )
