"""Leaderboard impact of validation: accuracy on all items against accuracy on validated items."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict
from typing import Any

from medexam.leaderboard import Cell, Leaderboard, leaderboard_compute
from medexam.models import Question

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


def _figures(cell: Cell | None) -> dict[str, Any]:
    if cell is None:
        return {"correct": 0, "total": 0, "accuracy": None}
    accuracy = round(cell.accuracy, 4) if cell.accuracy is not None else None
    return {"correct": cell.correct, "total": cell.total, "accuracy": accuracy}


def _overall_by_model(board: Leaderboard) -> dict[str, Cell]:
    return {row.name: row.overall for row in board.rows}


def validity_impact() -> dict[str, Any]:
    """Compare the leaderboard on all items with the leaderboard on validated items.

    Both sides are medexam.leaderboard.leaderboard_compute in its default
    scope, so they count responses exactly as /leaderboard/ and
    /leaderboard/?validated=1 do. Configuration failures, unsent and
    unfinished responses are left out, and a model with none counted is not
    ranked (excluded_models). Every other failure counts as wrong. An answer
    key corrected by adjudication is the question's key, so both sides
    score against it.
    """
    board_all = leaderboard_compute()
    board_validated = leaderboard_compute(
        items=Question.objects.filter(validity=Question.Validity.VALIDATED)
    )
    before = _overall_by_model(board_all)
    after = _overall_by_model(board_validated)
    baselines = {row.name for row in board_all.rows if row.is_baseline}

    accuracy_before = {name: cell.accuracy for name, cell in before.items()}
    accuracy_after = {name: after[name].accuracy if name in after else None for name in before}
    rank_before = _ranks(accuracy_before)
    rank_after = _ranks(accuracy_after)
    models = []
    for model in sorted(before, key=lambda m: (rank_before[m] or 10**9, m)):
        old, new = _figures(before[model]), _figures(after.get(model))
        change = None
        if old["accuracy"] is not None and new["accuracy"] is not None:
            change = round(new["accuracy"] - old["accuracy"], 4)
        old_rank, new_rank = rank_before[model], rank_after[model]
        rank_change = None
        if old_rank is not None and new_rank is not None:
            rank_change = old_rank - new_rank
        models.append(
            {
                "model": model,
                "is_baseline": model in baselines,
                "before": old,
                "after": new,
                "accuracy_change": change,
                "rank_before": old_rank,
                "rank_after": new_rank,
                "rank_change": rank_change,
            }
        )

    # The questions the all-items board compares models on, with their status.
    question_status = Question.objects.filter(pk__in=list(board_all.question_groups)).values_list(
        "validity", "specialty__code"
    )
    removed: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    validated = 0
    for validity, specialty in question_status:
        if validity == Question.Validity.VALIDATED:
            validated += 1
            continue
        key = specialty or "(none)"
        removed[key][validity] += 1
        removed[key]["total"] += 1
    logger.info(
        "validity impact models=%d questions=%d removed=%d",
        len(models),
        board_all.item_count,
        sum(v["total"] for v in removed.values()),
    )
    return {
        "models": models,
        "excluded_models": [asdict(model) for model in board_all.excluded_models],
        "questions": board_all.item_count,
        "validated": validated,
        "removed_by_specialty": {k: dict(v) for k, v in sorted(removed.items())},
    }
