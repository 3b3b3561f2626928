"""Per-question outcomes behind a leaderboard: which questions counted for each model, and why not.

One row per model and question the model has a stored response to, so a
reader can recompute every accuracy in a report and see what was left out.
"""

from __future__ import annotations

import pandas as pd

from medexam.leaderboard import Leaderboard
from medexam.models import Question
from medexam.scoring import OK

# Reason code for a question the model answered that lies outside the board's scope.
OUT_OF_SCOPE = "not_answered_by_every_model"

OUTCOME_COLUMNS = [
    "question_id",
    "source",
    "source_id",
    "model",
    "baseline",
    "status",
    "extracted_letters",
    "answer_key",
    "correct",
    "counted",
    "reason",
]


def outcomes_frame(board: Leaderboard) -> pd.DataFrame:
    """List each model's outcome on each question it has a response to.

    counted is true when the outcome is in the board's tables. reason is
    empty then, and otherwise OUT_OF_SCOPE (scope "common" and another model
    did not answer it) or the leaderboard's exclusion reason (configuration,
    not_sent, unfinished) when none of the model's responses to it counted.
    The excluded models, which have no row on the board, are listed too.
    """
    names = {row.model_id: (row.name, row.is_baseline) for row in board.rows}
    names.update({model.model_id: (model.name, False) for model in board.excluded_models})
    question_ids = set().union(*board.answered.values(), *board.excluded_items.values())
    questions = {
        pk: (source, source_id, key)
        for pk, source, source_id, key in Question.objects.filter(
            pk__in=list(question_ids)
        ).values_list("pk", "source", "source_id", "answer_key")
    }

    records = []
    for model_id, (name, baseline) in names.items():
        in_scope = board.outcomes.get(model_id, {})
        for question_id, outcome in board.answered.get(model_id, {}).items():
            counted = question_id in in_scope
            records.append(
                _record(
                    questions[question_id],
                    question_id,
                    name,
                    baseline,
                    status=outcome.status,
                    letters=outcome.letters,
                    correct=outcome.status == OK and outcome.is_correct,
                    counted=counted,
                    reason="" if counted else OUT_OF_SCOPE,
                )
            )
        for question_id, reason in board.excluded_items.get(model_id, {}).items():
            records.append(
                _record(
                    questions[question_id],
                    question_id,
                    name,
                    baseline,
                    status="",
                    letters="",
                    correct=None,
                    counted=False,
                    reason=reason,
                )
            )
    records.sort(key=lambda record: (record["model"], record["question_id"]))
    return pd.DataFrame.from_records(records, columns=OUTCOME_COLUMNS)


def _record(
    question: tuple[str, str, str],
    question_id: int,
    model: str,
    baseline: bool,
    *,
    status: str,
    letters: str,
    correct: bool | None,
    counted: bool,
    reason: str,
) -> dict[str, object]:
    source, source_id, answer_key = question
    return {
        "question_id": question_id,
        "source": source,
        "source_id": source_id,
        "model": model,
        "baseline": baseline,
        "status": status,
        "extracted_letters": letters,
        "answer_key": answer_key,
        "correct": correct,
        "counted": counted,
        "reason": reason,
    }
