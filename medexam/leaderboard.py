"""Leaderboard selectors: accuracy tables computed from stored model responses.

Which responses count:

- A response that failed because the endpoint was misconfigured (an attempt
  answered HTTP 400/401/403/404, or the run was stopped for that reason
  before the response was sent) is left out and counted as "configuration".
  So is a response never sent to the model (a cancelled run, "not_sent") and
  one still pending or in flight ("unfinished"). Every other failure (no
  answer, ambiguous, invalid, truncated, extraction error, retries used up)
  stays in the denominator as a wrong answer.
- When a model answered a question in several runs, only the latest run
  (by creation time, then id) with a counted response for that question is
  used; the older runs' responses are "superseded". Several samples of that
  run are combined by majority vote.
- A run with option rotation (shuffle_options) is chosen the same way among
  the model's rotation runs. It adds the "all rotations right" accuracy, and
  its sample 0 stands for the question when the model has no counted
  response from a run without rotation.
- By default (scope "common") every table is computed on the questions that
  every model in the table answered, so models are compared on the same
  items. Each row also carries the model's accuracy on all the questions it
  answered (full_set). Scope "all" computes the tables on each model's own
  questions. Models with no counted response are listed in excluded_models.

Pass items= to recompute the same tables on a subset, such as the validated
questions.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy

from medexam.models import (
    Attempt,
    LanguageModel,
    Level,
    ModelResponse,
    Question,
    Specialty,
)
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

# Shown by the report command, the page and the API when validated questions
# are asked for and none exists, which is the case until the rules are applied.
NO_VALIDATED_QUESTIONS = gettext_lazy(
    "No question is validated yet, so there is nothing to count on validated questions. "
    "Have more responses reviewed, then apply the validity rules: run export_dataset "
    "with --rule-set, or build a dataset version on the datasets page (/datasets/)."
)

# Column key for questions that have no confirmed specialty or level yet.
UNASSIGNED = "unassigned"

# Scopes: compare models on the questions all of them answered, or each on its own.
COMMON = "common"
ALL = "all"
SCOPES = (COMMON, ALL)

# HTTP statuses that mean the endpoint, not the model, is at fault. The
# workers stop an endpoint on the same statuses (workers.client).
CONFIGURATION_HTTP_STATUSES = (400, 401, 403, 404)

# Reasons a response is left out of every denominator, in the order reports list them.
CONFIGURATION = "configuration"
NOT_SENT = "not_sent"
UNFINISHED = "unfinished"
EXCLUSION_REASONS = (CONFIGURATION, NOT_SENT, UNFINISHED)


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
    """One model's line of the leaderboard; baselines are rows marked is_baseline.

    overall and the per-group cells cover the board's scope; full_set covers
    every question the model answered. excluded counts responses left out
    per reason, and superseded those replaced by a later run.
    """

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
    full_set: Cell
    excluded: dict[str, int] = field(default_factory=dict)
    superseded: int = 0
    by_specialty: dict[str, Cell] = field(default_factory=dict)
    by_level: dict[str, Cell] = field(default_factory=dict)
    by_specialty_level: dict[str, Cell] = field(default_factory=dict)
    all_rotations: Cell | None = None


@dataclass(frozen=True)
class Column:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class ExcludedModel:
    """A model left off the table because none of its responses counted."""

    model_id: int
    name: str
    excluded: dict[str, int]


@dataclass
class Leaderboard:
    rows: list[Row]
    specialties: list[Column]
    levels: list[Column]
    # Questions the tables are computed on: the common items in scope "common".
    item_count: int
    # model id -> question id -> outcome within the scope, kept for paired comparisons.
    outcomes: dict[int, dict[int, Outcome]]
    question_groups: dict[int, tuple[str, str]]
    scope: str = COMMON
    # Questions that every row's model answered, and that any of them answered.
    common_item_count: int = 0
    answered_item_count: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    excluded_models: list[ExcludedModel] = field(default_factory=list)
    # model id -> question id -> outcome on every question the model answered, in scope or not.
    answered: dict[int, dict[int, Outcome]] = field(default_factory=dict)
    # model id -> question id -> reason, for questions whose every response was left out.
    excluded_items: dict[int, dict[int, str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Return the tables as plain data, as the API and the page both show them."""
        return {
            "scope": self.scope,
            "item_count": self.item_count,
            "common_item_count": self.common_item_count,
            "answered_item_count": self.answered_item_count,
            "excluded_responses": dict(self.excluded),
            "excluded_models": [asdict(model) for model in self.excluded_models],
            "specialties": [asdict(column) for column in self.specialties],
            "levels": [asdict(column) for column in self.levels],
            "rows": [asdict(row) for row in self.rows],
        }


def exclusion_reason(*, state: str, attempts: int, configuration: bool) -> str | None:
    """Return why a response is left out of the scores, or None when it counts.

    configuration is true when an attempt got a configuration HTTP status or
    the run was stopped for its endpoint with this response's error.
    """
    if configuration:
        return CONFIGURATION
    if state in (ModelResponse.State.PENDING, ModelResponse.State.IN_PROGRESS):
        return UNFINISHED
    if state == ModelResponse.State.FAILED and attempts == 0:
        return NOT_SENT
    return None


@dataclass
class _Collected:
    """Counted outcomes per model, kind (rotated or not), question and run."""

    # (model id, rotated) -> question id -> run key -> sample index -> outcome
    outcomes: dict = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    )
    excluded: dict[int, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(EXCLUSION_REASONS, 0))
    )
    # model id -> question id -> reason of the first response left out on it
    excluded_items: dict[int, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))


def leaderboard_compute(
    *,
    items: QuerySet[Question] | Iterable[int] | None = None,
    scope: str = COMMON,
) -> Leaderboard:
    """Compute the leaderboard from the stored responses, or only those on `items`.

    scope "common" (the default) restricts every table to the questions all
    listed models answered; "all" uses each model's own questions.
    """
    if scope not in SCOPES:
        raise ValueError(f"invalid scope {scope!r}; expected one of {', '.join(SCOPES)}")
    started = time.monotonic()
    responses = ModelResponse.objects.all()
    if items is not None:
        responses = responses.filter(question_id__in=_item_ids(items))

    keys = _answer_keys(responses)
    collected = _collect(responses, keys)
    plain, rotated, superseded = _select_latest_runs(collected)
    full = _combine_outcomes(plain, rotated, keys)
    answered = set().union(*full.values()) if full else set()
    common = set.intersection(*(set(per) for per in full.values())) if full else set()
    in_scope = common if scope == COMMON else answered
    outcomes = {
        model_id: {qid: outcome for qid, outcome in per.items() if qid in in_scope}
        for model_id, per in full.items()
    }
    rotations = {
        model_id: {qid: samples for qid, samples in per.items() if qid in in_scope}
        for model_id, per in rotated.items()
    }

    groups = _question_groups(in_scope)
    specialties, levels = _columns(groups)
    models = LanguageModel.objects.in_bulk(list(full) + list(collected.excluded))
    board_rows = [
        _build_row(
            models[model_id],
            outcomes[model_id],
            rotations.get(model_id, {}),
            groups,
            full_set=full[model_id],
            excluded=collected.excluded.get(model_id, {}),
            superseded=superseded.get(model_id, 0),
        )
        for model_id in full
    ]
    board_rows.sort(key=lambda row: (-(row.overall.accuracy or 0.0), row.name))
    excluded_models = [
        ExcludedModel(model_id, models[model_id].name, dict(counts))
        for model_id, counts in sorted(collected.excluded.items())
        if model_id not in full
    ]
    totals = dict.fromkeys(EXCLUSION_REASONS, 0)
    for counts in collected.excluded.values():
        for reason, count in counts.items():
            totals[reason] += count

    logger.info(
        "leaderboard computed models=%d scope=%s items=%d common=%d answered=%d "
        "excluded=%s elapsed_ms=%d",
        len(board_rows),
        scope,
        len(in_scope),
        len(common),
        len(answered),
        totals,
        (time.monotonic() - started) * 1000,
    )
    return Leaderboard(
        rows=board_rows,
        specialties=specialties,
        levels=levels,
        item_count=len(in_scope),
        outcomes=outcomes,
        question_groups=groups,
        scope=scope,
        common_item_count=len(common),
        answered_item_count=len(answered),
        excluded=totals,
        excluded_models=excluded_models,
        answered=full,
        excluded_items={
            model_id: {
                qid: reason for qid, reason in per.items() if qid not in full.get(model_id, {})
            }
            for model_id, per in collected.excluded_items.items()
        },
    )


def _collect(responses: QuerySet[ModelResponse], keys: dict[int, str]) -> _Collected:
    """Score every counted response and count the excluded ones per model."""
    configuration_attempt = Attempt.objects.filter(
        response_id=OuterRef("pk"), http_status__in=CONFIGURATION_HTTP_STATUSES
    )
    # runs_stop_for_endpoint gives the run and its unsent responses the same message.
    stopped_with_run = ExpressionWrapper(
        Q(state=ModelResponse.State.FAILED, error=F("run__error_message"))
        & ~Q(run__error_message=""),
        output_field=BooleanField(),
    )
    rows = responses.annotate(
        bad_status=Exists(configuration_attempt), stopped=stopped_with_run
    ).values_list(
        "run__model_id",
        "run__created_at",
        "run_id",
        "run__shuffle_options",
        "question_id",
        "sample_index",
        "state",
        "attempts",
        "extraction_status",
        "extracted_letters",
        "bad_status",
        "stopped",
    )

    collected = _Collected()
    for row in rows.iterator():
        model_id, created, run_id, shuffled, question_id, sample = row[:6]
        state, attempts, status, letters, bad_status, stopped = row[6:]
        reason = exclusion_reason(
            state=state, attempts=attempts, configuration=bool(bad_status or stopped)
        )
        if reason is not None:
            collected.excluded[model_id][reason] += 1
            collected.excluded_items[model_id].setdefault(question_id, reason)
            continue
        outcome = outcome_for_response(
            state=state, extraction_status=status, letters=letters, answer_key=keys[question_id]
        )
        collected.outcomes[(model_id, shuffled)][question_id][(created, run_id)][sample] = outcome
    return collected


def _select_latest_runs(
    collected: _Collected,
) -> tuple[
    dict[int, dict[int, list[Outcome]]], dict[int, dict[int, dict[int, Outcome]]], dict[int, int]
]:
    """Keep, per model, kind and question, the samples of the latest run that answered it.

    Returns the plain samples, the rotation samples and, per model, how many
    counted responses of older runs were set aside.
    """
    plain: dict[int, dict[int, list[Outcome]]] = defaultdict(dict)
    rotated: dict[int, dict[int, dict[int, Outcome]]] = defaultdict(dict)
    superseded: dict[int, int] = defaultdict(int)
    for (model_id, shuffled), questions in collected.outcomes.items():
        for question_id, runs in questions.items():
            latest = max(runs)
            superseded[model_id] += sum(len(runs[key]) for key in runs if key != latest)
            if shuffled:
                rotated[model_id][question_id] = runs[latest]
            else:
                plain[model_id][question_id] = [runs[latest][s] for s in sorted(runs[latest])]
    return plain, rotated, superseded


def _item_ids(items: QuerySet[Question] | Iterable[int]) -> list[int]:
    if isinstance(items, QuerySet):
        return list(items.values_list("pk", flat=True))
    return [int(item) for item in items]


def _answer_keys(responses: QuerySet[ModelResponse]) -> dict[int, str]:
    question_ids = responses.values("question_id").distinct()
    return dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "answer_key"))


def _question_groups(question_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Map each question id to its (specialty code, level code), UNASSIGNED when missing."""
    values = Question.objects.filter(pk__in=list(question_ids)).values_list(
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
            # Sample 0 shows the original option order, but it may have been left out.
            if question_id not in per_question:
                per_question[question_id] = rotations.get(0, rotations[min(rotations)])
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
    *,
    full_set: dict[int, Outcome],
    excluded: dict[str, int],
    superseded: int,
) -> Row:
    total = score_outcomes(outcomes.values())
    full = score_outcomes(full_set.values())
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
        active_params_b=active_params(model),
        overall=Cell.of(total.correct, total.total),
        macro_accuracy=sum(assigned) / len(assigned) if assigned else None,
        partial_mean=total.partial_mean,
        failure_rate=total.failure_rate,
        failures=dict(total.failures),
        full_set=Cell.of(full.correct, full.total),
        excluded={reason: excluded.get(reason, 0) for reason in EXCLUSION_REASONS},
        superseded=superseded,
        by_specialty=by_specialty,
        by_level=by_level,
        by_specialty_level=by_pair,
        all_rotations=_all_rotations_cell(rotations),
    )


def active_params(model: LanguageModel) -> float | None:
    """Return the parameters active per token, in billions: all of them in a dense model."""
    if model.active_params_b is None and model.architecture == LanguageModel.Architecture.DENSE:
        return model.total_params_b
    return model.active_params_b


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


def validated_questions_exist() -> bool:
    """Return whether any question has the validity status "validated"."""
    return Question.objects.filter(validity=Question.Validity.VALIDATED).exists()


def language_model_rows(board: Leaderboard) -> list[Row]:
    """Rows of real language models, without baselines."""
    return [row for row in board.rows if not row.is_baseline]


def models_without_params(board: Leaderboard) -> list[str]:
    """Names of the language models on the board that have no total parameter count."""
    return [row.name for row in language_model_rows(board) if not row.total_params_b]


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
    "ALL",
    "COMMON",
    "EXCLUSION_REASONS",
    "FAILURE_STATUSES",
    "SCOPES",
    "UNASSIGNED",
    "active_params",
    "Cell",
    "Column",
    "ExcludedModel",
    "Leaderboard",
    "Row",
    "architecture_difference",
    "leaderboard_compute",
    "level_gaps",
    "paired_comparisons",
    "exclusion_reason",
    "models_without_params",
    "size_correlations",
]
