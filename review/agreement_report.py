"""Reads over stored reviews: reliability tables and agreement reports.

The unit of agreement is a reviewed model response, and the coders are
reviewers, named by pseudonym only.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet

from review import agreement
from review.models import Review

logger = logging.getLogger(__name__)

RATING_FIELDS = ("rating_factual", "rating_reasoning", "rating_safety")
FLAG_CODES = tuple(Review.Flag.values)
GROUPINGS = ("specialty", "level", "run", "item", "reviewer")


@dataclass(frozen=True)
class ReviewRow:
    """One submitted review, flattened to what agreement needs."""

    response_id: int
    question_id: int
    run_id: int
    specialty: str | None
    level: str | None
    reviewer: str
    verdict: str
    ratings: tuple[int | None, ...]
    flags: frozenset[str]


def review_rows(
    *, run_id: int | None = None, question_ids: Iterable[int] | None = None
) -> list[ReviewRow]:
    """Load submitted reviews, optionally for one run or a set of questions."""
    queryset = Review.objects.all()
    if run_id is not None:
        queryset = queryset.filter(response__run_id=run_id)
    if question_ids is not None:
        # A query stays a subquery; any other iterable is read into a list.
        ids = question_ids if isinstance(question_ids, QuerySet) else list(question_ids)
        queryset = queryset.filter(response__question_id__in=ids)
    fields = (
        "response_id",
        "response__question_id",
        "response__run_id",
        "response__question__specialty__code",
        "response__question__level__code",
        "reviewer__pseudonym",
        "verdict",
        *RATING_FIELDS,
        "flags",
    )
    rows = []
    for values in queryset.order_by("id").values_list(*fields).iterator(chunk_size=5000):
        rows.append(
            ReviewRow(
                response_id=values[0],
                question_id=values[1],
                run_id=values[2],
                specialty=values[3],
                level=values[4],
                reviewer=values[5],
                verdict=values[6],
                ratings=tuple(values[7:10]),
                flags=frozenset(values[10] or ()),
            )
        )
    return rows


def _dimension_value(row: ReviewRow, dimension: str) -> Any:
    if dimension == "verdict":
        return row.verdict
    if dimension in RATING_FIELDS:
        return row.ratings[RATING_FIELDS.index(dimension)]
    return int(dimension.removeprefix("flag:") in row.flags)


def dimensions(rating_level: agreement.Level = "ordinal") -> list[tuple[str, agreement.Level]]:
    """List the rubric dimensions with their level of measurement."""
    result: list[tuple[str, agreement.Level]] = [("verdict", "nominal")]
    result += [(field, rating_level) for field in RATING_FIELDS]
    result += [(f"flag:{code}", "nominal") for code in FLAG_CODES]
    return result


def reliability_matrix(
    rows: list[ReviewRow], dimension: str, level: agreement.Level = "nominal"
) -> tuple[np.ndarray, list[str], list[int]]:
    """Build the coders x units matrix for one dimension, with coders and unit ids in order.

    Nominal values are coded 0..k-1. Ratings keep their 1-5 values, which are
    already a small integer scale.
    """
    coders = sorted({row.reviewer for row in rows})
    units = sorted({row.response_id for row in rows})
    coder_index = {name: i for i, name in enumerate(coders)}
    unit_index = {unit: j for j, unit in enumerate(units)}
    values = [_dimension_value(row, dimension) for row in rows]

    codes: dict[Any, float] = {}
    if level == "nominal":
        labels = sorted({v for v in values if v is not None}, key=str)
        codes = {label: float(index) for index, label in enumerate(labels)}
    matrix = np.full((len(coders), len(units)), np.nan)
    for row, value in zip(rows, values, strict=True):
        if value is None:
            continue
        cell = codes[value] if level == "nominal" else float(value)
        matrix[coder_index[row.reviewer], unit_index[row.response_id]] = cell
    return matrix, coders, units


def _summarise_rows(
    rows: list[ReviewRow],
    rating_level: agreement.Level,
    bootstrap_samples: int,
    resampling: agreement.Resampling = agreement.BOOTSTRAP_METHOD,
) -> dict[str, Any]:
    result: dict[str, Any] = {"reviews": len(rows), "dimensions": {}}
    for dimension, level in dimensions(rating_level):
        matrix, _, _ = reliability_matrix(rows, dimension, level)
        result["dimensions"][dimension] = agreement.summarise_matrix(
            matrix, level, bootstrap_samples=bootstrap_samples, resampling=resampling
        )
    return result


def _group_key(row: ReviewRow, by: str) -> str:
    if by == "specialty":
        return row.specialty or "(none)"
    if by == "level":
        return row.level or "(none)"
    if by == "run":
        return str(row.run_id)
    return str(row.question_id)


def item_summaries(rows: list[ReviewRow]) -> dict[int, dict[str, Any]]:
    """Summarise the reviews of each question: verdict agreement, modal share, flag counts.

    Verdict agreement is the mean, over the question's reviewed responses, of
    the share of reviewer pairs that agree. The modal share is averaged the same way.
    """
    by_question: dict[int, list[ReviewRow]] = defaultdict(list)
    for row in rows:
        by_question[row.question_id].append(row)

    summaries = {}
    for question_id, question_rows in by_question.items():
        by_response: dict[int, list[str]] = defaultdict(list)
        flag_counts: dict[str, int] = defaultdict(int)
        for row in question_rows:
            by_response[row.response_id].append(row.verdict)
            for flag in row.flags:
                flag_counts[flag] += 1
        per_response = [agreement.item_agreement(v) for v in by_response.values()]
        pair_values = [
            p["percent_agreement"] for p in per_response if p["percent_agreement"] is not None
        ]
        modal_shares = [p["modal_share"] for p in per_response]
        summaries[question_id] = {
            "reviews": len(question_rows),
            "reviewers": len({row.reviewer for row in question_rows}),
            "responses": len(by_response),
            "verdict_agreement": round(float(np.mean(pair_values)), 4) if pair_values else None,
            "modal_verdict_share": round(float(np.mean(modal_shares)), 4),
            "verdicts": _tally(row.verdict for row in question_rows),
            "flags": dict(sorted(flag_counts.items())),
        }
    return summaries


def _tally(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for value in values:
        counts[value] += 1
    return dict(sorted(counts.items()))


def _reviewer_report(
    rows: list[ReviewRow], rating_level: agreement.Level
) -> dict[str, dict[str, Any]]:
    report: dict[str, dict[str, Any]] = defaultdict(dict)
    for dimension, level in [("verdict", "nominal"), *[(f, rating_level) for f in RATING_FIELDS]]:
        matrix, coders, _ = reliability_matrix(rows, dimension, level)
        for index, coder in enumerate(coders):
            report[coder][dimension] = agreement.coder_agreement(matrix, index, level)
    return dict(sorted(report.items()))


def agreement_report(
    *,
    by: str | None = None,
    run_id: int | None = None,
    rating_level: agreement.Level = "ordinal",
    bootstrap_samples: int = agreement.BOOTSTRAP_SAMPLES,
    resampling: agreement.Resampling = agreement.BOOTSTRAP_METHOD,
    question_ids: Iterable[int] | None = None,
) -> dict[str, Any]:
    """Compute agreement over stored reviews, overall and optionally per group.

    by is one of GROUPINGS. Reviewers appear by pseudonym only. run_id and
    question_ids limit the reviews to one run and to those questions.
    """
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"Unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}.")
    started = time.monotonic()
    rows = review_rows(run_id=run_id, question_ids=question_ids)
    report: dict[str, Any] = {
        "run": run_id,
        "overall": _summarise_rows(rows, rating_level, bootstrap_samples, resampling),
    }
    verdict_matrix, coders, _ = reliability_matrix(rows, "verdict")
    report["pairwise_verdict_kappa"] = agreement.pairwise_kappas(verdict_matrix, coders)

    if by == "item":
        report["by"] = "item"
        report["groups"] = {str(k): v for k, v in sorted(item_summaries(rows).items())}
    elif by == "reviewer":
        report["by"] = "reviewer"
        report["groups"] = _reviewer_report(rows, rating_level)
    elif by is not None:
        grouped: dict[str, list[ReviewRow]] = defaultdict(list)
        for row in rows:
            grouped[_group_key(row, by)].append(row)
        report["by"] = by
        report["groups"] = {
            key: _summarise_rows(group, rating_level, bootstrap_samples, resampling)
            for key, group in sorted(grouped.items())
        }
    logger.info(
        "agreement report by=%s run=%s reviews=%d took %.0f ms",
        by,
        run_id,
        len(rows),
        (time.monotonic() - started) * 1000,
    )
    return report
