"""Leaderboard selectors: accuracy tables computed from stored model responses.

One question counts once per model. Several samples of a question in runs
without option rotation are combined by majority vote. A run with option
rotation (shuffle_options) adds the "all rotations right" accuracy, and its
sample 0 stands for the question when the model has no run without rotation.
Every failure stays in the denominator. Pass items= to recompute the same
tables on a subset, such as the validated questions.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from django.db.models import QuerySet

from medexam.models import LanguageModel, Level, ModelResponse, Question, Specialty
from medexam.scoring import (
    FAILURE_STATUSES,
    OK,
    Outcome,
    majority_vote,
    outcome_for_response,
    score_outcomes,
)
from medexam.statistics import (
    Correlation,
    Difference,
    PairedTest,
    group_difference,
    paired_tests,
    proportion_gap,
    spearman_with_interval,
    wilson_interval,
)

logger = logging.getLogger(__name__)

# Column key for questions that have no confirmed specialty or level yet.
UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Cell:
    """Accuracy of one model on one group of questions, with its Wilson 95% interval."""

    correct: int
    total: int
    accuracy: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, correct: int, total: int) -> Cell:
        interval = wilson_interval(correct, total)
        accuracy = correct / total if total else None
        return cls(correct, total, accuracy, interval.low, interval.high)


@dataclass
class Row:
    """One model's line of the leaderboard; baselines are rows marked is_baseline."""

    model_id: int
    name: str
    architecture: str
    is_baseline: bool
    total_params_b: float | None
    active_params_b: float | None
    overall: Cell
    macro_accuracy: float | None
    partial_mean: float | None
    failure_rate: float | None
    failures: dict[str, int]
    by_specialty: dict[str, Cell] = field(default_factory=dict)
    by_level: dict[str, Cell] = field(default_factory=dict)
    by_specialty_level: dict[str, Cell] = field(default_factory=dict)
    all_rotations: Cell | None = None


@dataclass(frozen=True)
class Column:
    code: str
    name_zh: str
    name_en: str


@dataclass
class Leaderboard:
    rows: list[Row]
    specialties: list[Column]
    levels: list[Column]
    item_count: int
    # model id -> question id -> outcome, kept for paired comparisons.
    outcomes: dict[int, dict[int, Outcome]]
    question_groups: dict[int, tuple[str, str]]

    def as_dict(self) -> dict:
        """Return the tables as plain data, as the API and the page both show them."""
        return {
            "item_count": self.item_count,
            "specialties": [asdict(column) for column in self.specialties],
            "levels": [asdict(column) for column in self.levels],
            "rows": [asdict(row) for row in self.rows],
        }


def leaderboard_compute(*, items: QuerySet[Question] | Iterable[int] | None = None) -> Leaderboard:
    """Compute the leaderboard from every stored response, or only those on `items`."""
    started = time.monotonic()
    responses = ModelResponse.objects.all()
    if items is not None:
        responses = responses.filter(question_id__in=_item_ids(items))
    rows = responses.values_list(
        "run__model_id",
        "run__shuffle_options",
        "question_id",
        "sample_index",
        "state",
        "extraction_status",
        "extracted_letters",
    )

    plain: dict[int, dict[int, list[Outcome]]] = defaultdict(lambda: defaultdict(list))
    rotated: dict[int, dict[int, dict[int, Outcome]]] = defaultdict(lambda: defaultdict(dict))
    keys = _answer_keys(responses)
    for model_id, shuffled, question_id, sample, state, status, letters in rows.iterator():
        outcome = outcome_for_response(
            state=state, extraction_status=status, letters=letters, answer_key=keys[question_id]
        )
        if shuffled:
            rotated[model_id][question_id][sample] = outcome
        else:
            plain[model_id][question_id].append(outcome)

    groups = _question_groups(keys)
    outcomes = _combine_outcomes(plain, rotated, keys)
    specialties, levels = _columns(groups)
    models = LanguageModel.objects.in_bulk(list(outcomes))
    board_rows = [
        _build_row(models[model_id], outcomes[model_id], rotated.get(model_id, {}), groups)
        for model_id in outcomes
    ]
    board_rows.sort(key=lambda row: (-(row.overall.accuracy or 0.0), row.name))

    logger.info(
        "leaderboard computed models=%d items=%d elapsed_ms=%d",
        len(board_rows),
        len(keys),
        (time.monotonic() - started) * 1000,
    )
    return Leaderboard(board_rows, specialties, levels, len(keys), outcomes, groups)


def _item_ids(items: QuerySet[Question] | Iterable[int]) -> list[int]:
    if isinstance(items, QuerySet):
        return list(items.values_list("pk", flat=True))
    return [int(item) for item in items]


def _answer_keys(responses: QuerySet[ModelResponse]) -> dict[int, str]:
    question_ids = responses.values("question_id").distinct()
    return dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "answer_key"))


def _question_groups(keys: dict[int, str]) -> dict[int, tuple[str, str]]:
    """Map each question id to its (specialty code, level code), UNASSIGNED when missing."""
    values = Question.objects.filter(pk__in=list(keys)).values_list(
        "pk", "specialty__code", "level__code"
    )
    return {pk: (spec or UNASSIGNED, level or UNASSIGNED) for pk, spec, level in values}


def _combine_outcomes(
    plain: dict[int, dict[int, list[Outcome]]],
    rotated: dict[int, dict[int, dict[int, Outcome]]],
    keys: dict[int, str],
) -> dict[int, dict[int, Outcome]]:
    combined: dict[int, dict[int, Outcome]] = {}
    for model_id in set(plain) | set(rotated):
        per_question: dict[int, Outcome] = {}
        for question_id, samples in plain.get(model_id, {}).items():
            per_question[question_id] = majority_vote(samples, answer_key=keys[question_id])
        for question_id, rotations in rotated.get(model_id, {}).items():
            if question_id not in per_question:
                per_question[question_id] = rotations.get(0, Outcome("failed"))
        combined[model_id] = per_question
    return combined


def _columns(groups: dict[int, tuple[str, str]]) -> tuple[list[Column], list[Column]]:
    """List the specialties and levels present, in table order, unassigned last."""
    present_specialties = {spec for spec, _ in groups.values()}
    present_levels = {level for _, level in groups.values()}
    specialties = [
        Column(s.code, s.name_zh, s.name_en)
        for s in Specialty.objects.filter(code__in=present_specialties)
    ]
    levels = [
        Column(level.code, level.name_zh, level.name_en)
        for level in Level.objects.filter(code__in=present_levels)
    ]
    if UNASSIGNED in present_specialties:
        specialties.append(Column(UNASSIGNED, "未分专科", "No specialty"))
    if UNASSIGNED in present_levels:
        levels.append(Column(UNASSIGNED, "未分级别", "No level"))
    return specialties, levels


def _build_row(
    model: LanguageModel,
    outcomes: dict[int, Outcome],
    rotations: dict[int, dict[int, Outcome]],
    groups: dict[int, tuple[str, str]],
) -> Row:
    total = score_outcomes(outcomes.values())
    by_specialty = _cells(outcomes, lambda qid: groups[qid][0])
    by_level = _cells(outcomes, lambda qid: groups[qid][1])
    by_pair = _cells(outcomes, lambda qid: f"{groups[qid][0]}:{groups[qid][1]}")
    assigned = [
        cell.accuracy
        for code, cell in by_specialty.items()
        if code != UNASSIGNED and cell.accuracy is not None
    ]

    return Row(
        model_id=model.pk,
        name=model.name,
        architecture=model.architecture,
        is_baseline=model.is_baseline,
        total_params_b=model.total_params_b,
        active_params_b=model.active_params_b,
        overall=Cell.of(total.correct, total.total),
        macro_accuracy=sum(assigned) / len(assigned) if assigned else None,
        partial_mean=total.partial_mean,
        failure_rate=total.failure_rate,
        failures=dict(total.failures),
        by_specialty=by_specialty,
        by_level=by_level,
        by_specialty_level=by_pair,
        all_rotations=_all_rotations_cell(rotations),
    )


def _cells(outcomes: dict[int, Outcome], key) -> dict[str, Cell]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for question_id, outcome in outcomes.items():
        bucket = counts[key(question_id)]
        bucket[0] += int(outcome.status == OK and outcome.is_correct)
        bucket[1] += 1
    return {code: Cell.of(correct, total) for code, (correct, total) in sorted(counts.items())}


def _all_rotations_cell(rotations: dict[int, dict[int, Outcome]]) -> Cell | None:
    """Share of questions answered right under every rotation of their options."""
    if not rotations:
        return None
    right = sum(
        1
        for samples in rotations.values()
        if all(outcome.status == OK and outcome.is_correct for outcome in samples.values())
    )
    return Cell.of(right, len(rotations))


@dataclass(frozen=True)
class SizeCorrelations:
    total: Correlation
    active: Correlation


def language_model_rows(board: Leaderboard) -> list[Row]:
    """Rows of real language models, without baselines."""
    return [row for row in board.rows if not row.is_baseline]


def paired_comparisons(board: Leaderboard) -> list[PairedTest]:
    """McNemar's exact test for each pair of language models on the questions all answered."""
    rows = language_model_rows(board)
    if len(rows) < 2:
        return []
    shared = set.intersection(*(set(board.outcomes[row.model_id]) for row in rows))
    ordered = sorted(shared)
    correct = {
        row.name: [
            board.outcomes[row.model_id][qid].status == OK
            and board.outcomes[row.model_id][qid].is_correct
            for qid in ordered
        ]
        for row in rows
    }
    return paired_tests(correct)


def size_correlations(board: Leaderboard) -> SizeCorrelations:
    """Spearman's rho of parameter count (total and active) against overall accuracy."""

    def correlate(attribute: str) -> Correlation:
        pairs = [
            (getattr(row, attribute), row.overall.accuracy)
            for row in language_model_rows(board)
            if getattr(row, attribute) and row.overall.accuracy is not None
        ]
        return spearman_with_interval([p for p, _ in pairs], [a for _, a in pairs])

    return SizeCorrelations(correlate("total_params_b"), correlate("active_params_b"))


def architecture_difference(board: Leaderboard) -> Difference:
    """Mean accuracy of mixture-of-experts models minus that of dense models."""
    accuracies: dict[str, list[float]] = {"moe": [], "dense": []}
    for row in language_model_rows(board):
        if row.architecture in accuracies and row.overall.accuracy is not None:
            accuracies[row.architecture].append(row.overall.accuracy)
    return group_difference(accuracies["moe"], accuracies["dense"])


def level_gaps(board: Leaderboard) -> dict[str, Difference]:
    """Per model, accuracy on the lowest-ranked level minus that on the highest-ranked one.

    With the seeded levels this is the attending-minus-senior gap. Models
    without questions at both levels are left out.
    """
    ranked = [column.code for column in board.levels if column.code != UNASSIGNED]
    if len(ranked) < 2:
        return {}
    lower, upper = ranked[0], ranked[-1]
    gaps = {}
    for row in board.rows:
        outcomes = board.outcomes[row.model_id]
        first = [_right(o) for q, o in outcomes.items() if board.question_groups[q][1] == lower]
        second = [_right(o) for q, o in outcomes.items() if board.question_groups[q][1] == upper]
        if first and second:
            gaps[row.name] = proportion_gap(first, second)
    return gaps


def _right(outcome: Outcome) -> bool:
    return outcome.status == OK and outcome.is_correct


__all__ = [
    "FAILURE_STATUSES",
    "UNASSIGNED",
    "Cell",
    "Column",
    "Leaderboard",
    "Row",
    "architecture_difference",
    "leaderboard_compute",
    "level_gaps",
    "paired_comparisons",
    "size_correlations",
]
