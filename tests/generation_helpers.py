"""Builders shared by the generation tests: questions, models, endpoints, runs."""

from __future__ import annotations

from medexam.models import Endpoint, LanguageModel, Question
from medexam.models.questions import compute_content_hash
from medexam.services.runs import prompt_template_get_default, run_create

OPTIONS = {"A": "高血压", "B": "糖尿病", "C": "冠心病", "D": "心力衰竭", "E": "房颤"}


def make_questions(count: int, *, answer: str = "A", stem_suffix: str = "") -> list[Question]:
    """Create count active single-answer questions whose stems carry a forced answer marker."""
    questions = []
    for index in range(count):
        stem = f"第{index}题：患者最可能的诊断是？[answer:{answer}]{stem_suffix}"
        questions.append(
            Question.objects.create(
                stem=stem,
                options=OPTIONS,
                answer_key="A",
                question_type=Question.Type.SINGLE,
                content_hash=compute_content_hash(stem, OPTIONS),
            )
        )
    return questions


def make_endpoint(base_url: str, *, name: str = "mock", **fields) -> Endpoint:
    """Register a model and its endpoint on the loopback server at base_url."""
    model, _ = LanguageModel.objects.get_or_create(
        name=f"{name}-model", defaults={"family": "mock"}
    )
    values = {
        "kind": Endpoint.Kind.OPENAI,
        "base_url": base_url,
        "served_model_id": "mock-medexam-1",
        "max_concurrency": 8,
        "timeout_s": 5.0,
        "decoding": {"temperature": 0.0, "max_tokens": 64},
    }
    values.update(fields)
    return Endpoint.objects.create(model=model, name=name, **values)


def make_run(endpoint: Endpoint, questions: list[Question], **fields):
    """Create a pending run of endpoint over exactly these questions."""
    return run_create(
        model=endpoint.model,
        endpoint=endpoint,
        prompt_template=prompt_template_get_default(),
        question_filter={"question_ids": [question.pk for question in questions]},
        **fields,
    )
