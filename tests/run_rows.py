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
    if architecture_is_baseline(model):
        endpoint = Endpoint.objects.create(
            model=model, name=f"{model.name} endpoint", kind="baseline", baseline="always_A"
        )
    else:
        endpoint = Endpoint.objects.create(
            model=model,
            name=f"{model.name} endpoint",
            base_url="http://127.0.0.1:9/v1",
            served_model_id=model.name,
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
) -> ModelResponse:
    """Store a response whose stored extraction says `letters` with `status`."""
    is_correct = status == "ok" and set(letters) == set(question.answer_key)
    return ModelResponse.objects.create(
        run=run,
        question=question,
        sample_index=sample_index,
        option_order=option_order,
        state=state,
        raw_text=raw_text if raw_text is not None else f"答案：{letters}",
        extracted_letters=letters if status == "ok" else "",
        extraction_status=status if state == "done" else "",
        extraction_version="2.0",
        extraction_rule="answer_cue",
        is_correct=is_correct,
        partial_score=1.0 if is_correct else 0.0,
    )
