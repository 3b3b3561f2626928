"""Writes on model responses: extraction and scoring from the stored raw text."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction

from medexam.extraction import EXTRACTION_VERSION, Extraction, extract_answer
from medexam.models import ModelResponse, Question
from medexam.scoring import score_letters

logger = logging.getLogger(__name__)

SCORED_FIELDS = [
    "extracted_letters",
    "extraction_status",
    "extraction_rule",
    "extraction_version",
    "is_correct",
    "partial_score",
]


@dataclass(frozen=True)
class ReextractResult:
    total: int
    changed: int
    version: str


def extraction_for_response(
    *, raw_text: str, finish_reason: str, question: Question, option_order: str
) -> tuple[Extraction, str]:
    """Extract a response's answer and return it with the letters in original lettering.

    option_order lists, for each letter shown to the model, the original letter
    it stands for ("CDEAB": the model's A is the question's C); empty means
    the options were shown in their original order.
    """
    original = question.letters
    shown_order = option_order or original
    shown_letters = original[: len(shown_order)]
    shown_options = {
        shown: question.options.get(source, "")
        for shown, source in zip(shown_letters, shown_order, strict=True)
    }
    extraction = extract_answer(
        raw_text,
        question_type=question.question_type,
        letters=shown_letters,
        finish_reason=finish_reason,
        options=shown_options,
    )
    to_original = dict(zip(shown_letters, shown_order, strict=True))
    letters = "".join(sorted(to_original.get(letter, letter) for letter in extraction.letters))
    return extraction, letters


def response_apply_extraction(*, response: ModelResponse) -> bool:
    """Set a finished response's extraction and score fields in memory; True when they changed."""
    before = tuple(getattr(response, name) for name in SCORED_FIELDS)
    extraction, letters = extraction_for_response(
        raw_text=response.raw_text,
        finish_reason=response.finish_reason,
        question=response.question,
        option_order=response.option_order,
    )
    response.extracted_letters = letters
    response.extraction_status = extraction.status
    response.extraction_rule = extraction.rule
    response.extraction_version = extraction.version
    if extraction.status == "ok":
        score = score_letters(letters, response.question.answer_key)
        response.is_correct, response.partial_score = score.is_correct, score.partial
    else:
        response.is_correct, response.partial_score = False, 0.0
    return tuple(getattr(response, name) for name in SCORED_FIELDS) != before


def responses_reextract(*, run_id: int | None = None, batch_size: int = 2000) -> ReextractResult:
    """Re-extract and re-score every finished response (of one run, if given) in bulk.

    Only rows whose letters, status, rule, version or score changed are written.
    """
    started = time.monotonic()
    responses = (
        ModelResponse.objects.filter(state=ModelResponse.State.DONE)
        .select_related("question")
        .only(
            "id",
            "raw_text",
            "finish_reason",
            "option_order",
            *SCORED_FIELDS,
            "question__options",
            "question__answer_key",
            "question__question_type",
        )
        .order_by("id")
    )
    if run_id is not None:
        responses = responses.filter(run_id=run_id)
    logger.info("re-extraction started run=%s version=%s", run_id, EXTRACTION_VERSION)

    # Rows with the same new values are written by one UPDATE ... WHERE id IN (...).
    # There are few distinct combinations (letters x status x rule x score), and
    # this is far faster than bulk_update, whose CASE expressions grow with the batch.
    total = changed = 0
    groups: dict[tuple, list[int]] = defaultdict(list)
    for response in responses.iterator(chunk_size=batch_size):
        total += 1
        if response_apply_extraction(response=response):
            values = tuple(getattr(response, name) for name in SCORED_FIELDS)
            groups[values].append(response.pk)

    with transaction.atomic():
        for values, ids in groups.items():
            for offset in range(0, len(ids), batch_size):
                chunk = ids[offset : offset + batch_size]
                ModelResponse.objects.filter(pk__in=chunk).update(
                    **dict(zip(SCORED_FIELDS, values, strict=True))
                )
            changed += len(ids)

    logger.info(
        "re-extraction finished run=%s total=%d changed=%d elapsed_ms=%d",
        run_id,
        total,
        changed,
        (time.monotonic() - started) * 1000,
    )
    return ReextractResult(total, changed, EXTRACTION_VERSION)
