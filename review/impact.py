"""Leaderboard impact of validation: accuracy on all items against accuracy on validated items."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from medexam.models import ModelResponse, Question
from review.models import Adjudication
from review.validity import rescore

logger = logging.getLogger(__name__)


def _ranks(accuracy: dict[str, float | None]) -> dict[str, int | None]:
    # Competition ranking: equal accuracy shares a rank, the next rank skips.
    ordered = sorted((v, k) for k, v in accuracy.items() if v is not None)
    ordered.sort(key=lambda pair: -pair[0])
    ranks: dict[str, int | None] = {name: None for name in accuracy}
    previous: float | None = None
    rank = 0
    for position, (value, name) in enumerate(ordered, start=1):
        if value != previous:
            rank = position
            previous = value
        ranks[name] = rank
    return ranks


def _accuracy(correct: int, total: int) -> float | None:
    return round(correct / total, 4) if total else None


def validity_impact() -> dict[str, Any]:
    """Compare each model's accuracy on all answered items with its accuracy on validated items.

    Failed responses and extraction failures stay in the denominator. On
    validated items whose key an adjudicator corrected, responses are scored
    against the corrected key.
    """
    corrected: dict[int, str] = {}
    adjudications = (
        Adjudication.objects.filter(decision=Adjudication.Decision.KEY_CORRECTED)
        .exclude(corrected_key="")
        .order_by("question_id", "decided_at", "id")
        .values_list("question_id", "corrected_key")
    )
    for question_id, key in adjudications:
        corrected[question_id] = key  # the latest correction wins

    before: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    after: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    question_status: dict[int, tuple[str, str | None]] = {}
    validity: str
    specialty: str | None
    responses = (
        ModelResponse.objects.filter(
            state__in=[ModelResponse.State.DONE, ModelResponse.State.FAILED]
        )
        .values_list(
            "run__model__name",
            "question_id",
            "question__validity",
            "question__specialty__code",
            "extracted_letters",
            "is_correct",
        )
        .iterator(chunk_size=5000)
    )
    for model, question_id, validity, specialty, letters, is_correct in responses:
        question_status[question_id] = (validity, specialty)
        before[model][0] += int(bool(is_correct))
        before[model][1] += 1
        if validity == Question.Validity.VALIDATED:
            after[model][0] += int(rescore(letters, is_correct, corrected.get(question_id)))
            after[model][1] += 1

    accuracy_before = {m: _accuracy(*before[m]) for m in before}
    accuracy_after = {m: _accuracy(*after[m]) for m in before}
    rank_before = _ranks(accuracy_before)
    rank_after = _ranks(accuracy_after)
    models = []
    for model in sorted(before, key=lambda m: (rank_before[m] or 10**9, m)):
        old_accuracy, new_accuracy = accuracy_before[model], accuracy_after[model]
        change = None
        if old_accuracy is not None and new_accuracy is not None:
            change = round(new_accuracy - old_accuracy, 4)
        old_rank, new_rank = rank_before[model], rank_after[model]
        rank_change = None
        if old_rank is not None and new_rank is not None:
            rank_change = old_rank - new_rank
        models.append(
            {
                "model": model,
                "before": {
                    "correct": before[model][0],
                    "total": before[model][1],
                    "accuracy": accuracy_before[model],
                },
                "after": {
                    "correct": after[model][0],
                    "total": after[model][1],
                    "accuracy": accuracy_after[model],
                },
                "accuracy_change": change,
                "rank_before": rank_before[model],
                "rank_after": rank_after[model],
                "rank_change": rank_change,
            }
        )

    removed: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for validity, specialty in question_status.values():
        if validity != Question.Validity.VALIDATED:
            key = specialty or "(none)"
            removed[key][validity] += 1
            removed[key]["total"] += 1
    logger.info(
        "validity impact models=%d questions=%d removed=%d",
        len(models),
        len(question_status),
        sum(v["total"] for v in removed.values()),
    )
    return {
        "models": models,
        "questions": len(question_status),
        "validated": sum(
            1 for v, _ in question_status.values() if v == Question.Validity.VALIDATED
        ),
        "removed_by_specialty": {k: dict(v) for k, v in sorted(removed.items())},
    }
