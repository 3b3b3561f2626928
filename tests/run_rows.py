"""Builders for models, runs and responses written straight to the database.

Tests of scoring, re-extraction and the leaderboard need stored responses;
they create rows directly instead of running the workers.
"""

from __future__ import annotations

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

OPTIONS = {"A": "高血压", "B": "心房颤动", "C": "室性早搏", "D": "心包炎", "E": "心肌梗死"}


def make_question(
    number: int,
    *,
    answer_key: str = "A",
    specialty: str | None = "cardiovascular",
    level: str | None = "attending",
    question_type: str = "single",
) -> Question:
    stem = f"测试题干 {number}"
    return Question.objects.create(
        stem=stem,
        options=OPTIONS,
        answer_key=answer_key,
        question_type=question_type,
        specialty=Specialty.objects.get(code=specialty) if specialty else None,
        level=Level.objects.get(code=level) if level else None,
        content_hash=compute_content_hash(stem, OPTIONS),
    )


def make_model(
    name: str,
    *,
    architecture: str = "dense",
    total: float | None = None,
    active: float | None = None,
) -> LanguageModel:
    return LanguageModel.objects.create(
        name=name, architecture=architecture, total_params_b=total, active_params_b=active
    )


def make_run(model: LanguageModel, *, shuffle_options: bool = False) -> EvaluationRun:
    # A second run of the same model reuses its endpoint.
    if architecture_is_baseline(model):
        endpoint, _ = Endpoint.objects.get_or_create(
            name=f"{model.name} endpoint",
            defaults={"model": model, "kind": "baseline", "baseline": "always_A"},
        )
    else:
        endpoint, _ = Endpoint.objects.get_or_create(
            name=f"{model.name} endpoint",
            defaults={
                "model": model,
                "base_url": "http://127.0.0.1:9/v1",
                "served_model_id": model.name,
            },
        )
    template, _ = PromptTemplate.objects.get_or_create(
        name="plain", version=1, defaults={"user_template": "{stem}\n{options}"}
    )
    return EvaluationRun.objects.create(
        model=model,
        endpoint=endpoint,
        prompt_template=template,
        shuffle_options=shuffle_options,
        status="completed",
    )


def architecture_is_baseline(model: LanguageModel) -> bool:
    return model.architecture == LanguageModel.Architecture.BASELINE


def make_response(
    run: EvaluationRun,
    question: Question,
    letters: str,
    *,
    status: str = "ok",
    sample_index: int = 0,
    option_order: str = "",
    state: str = "done",
    raw_text: str | None = None,
    attempts: int | None = None,
    error: str = "",
) -> ModelResponse:
    """Store a response whose extraction fields hold `letters` and `status`."""
    response = response_row(
        run,
        question,
        letters,
        status=status,
        sample_index=sample_index,
        option_order=option_order,
        state=state,
        raw_text=raw_text,
        attempts=attempts,
        error=error,
    )
    response.save()
    return response


def response_row(
    run: EvaluationRun,
    question: Question,
    letters: str,
    *,
    status: str = "ok",
    sample_index: int = 0,
    option_order: str = "",
    state: str = "done",
    raw_text: str | None = None,
    attempts: int | None = None,
    error: str = "",
) -> ModelResponse:
    """Build an unsaved response, as make_response stores it.

    A finished response defaults to one attempt, as the workers store it once
    the model was asked. One still pending or in progress defaults to none.
    """
    if attempts is None:
        attempts = 1 if state in ("done", "failed") else 0
    is_correct = status == "ok" and set(letters) == set(question.answer_key)
    return ModelResponse(
        run=run,
        question=question,
        sample_index=sample_index,
        option_order=option_order,
        state=state,
        attempts=attempts,
        error=error,
        raw_text=raw_text if raw_text is not None else f"答案：{letters}",
        extracted_letters=letters if status == "ok" else "",
        extraction_status=status if state == "done" else "",
        extraction_version="2.0",
        extraction_rule="answer_cue",
        is_correct=is_correct,
        partial_score=1.0 if is_correct else 0.0,
    )


# name, architecture, total and active parameters (billions), chance of a right answer.
DEMO_MODELS = [
    ("DeepSeek-V3", "moe", 671.0, 37.0, 0.72),
    ("Mixtral-8x7B", "moe", 46.7, 12.9, 0.55),
    ("Qwen2.5-72B", "dense", 72.0, 72.0, 0.66),
    ("Qwen2.5-7B", "dense", 7.0, 7.0, 0.48),
    ("chance", "baseline", None, None, 0.2),
]
DEMO_SPECIALTIES = [
    "cardiovascular",
    "dermatology",
    "endocrinology",
    "gastroenterology",
    "neurology",
    "nephrology",
    "oncology",
]


def make_demo_board(*, per_cell: int = 6, seed: int = 7) -> list[Question]:
    """Store five models' answers to per_cell questions in each specialty and level.

    Models are right with the fixed chance in DEMO_MODELS; a wrong reply is
    a wrong letter, except that every tenth one is a no_answer failure.
    """
    import random

    rng = random.Random(seed)
    questions = []
    number = 1000
    for specialty in DEMO_SPECIALTIES:
        for level in ("attending", "senior"):
            for _ in range(per_cell):
                number += 1
                questions.append(
                    make_question(
                        number, answer_key=rng.choice("ABCDE"), specialty=specialty, level=level
                    )
                )
    responses = []
    for name, architecture, total, active, skill in DEMO_MODELS:
        run = make_run(make_model(name, architecture=architecture, total=total, active=active))
        for question in questions:
            if rng.random() < skill:
                letters, status = question.answer_key, "ok"
            elif rng.random() < 0.1:
                letters, status = "", "no_answer"
            else:
                letters = rng.choice([c for c in "ABCDE" if c != question.answer_key])
                status = "ok"
            responses.append(response_row(run, question, letters, status=status))
    ModelResponse.objects.bulk_create(responses)
    return questions
