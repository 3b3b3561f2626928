"""Curation of questions: every change is recorded as a QuestionChange with who and why."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from django.db import transaction

from medexam.models import Question, QuestionChange
from medexam.models.questions import compute_content_hash
from medexam.services.near_duplicates import (
    near_duplicates_refresh_enqueue,
    stem_signature_bytes,
)

logger = logging.getLogger(__name__)

# Fields a curator may change, and how a value is written into the history.
TRACKED_FIELDS = (
    "stem",
    "options",
    "answer_key",
    "question_type",
    "explanation",
    "specialty_id",
    "level_id",
    "status",
    "source",
    "source_id",
)


class ReasonRequired(ValueError):
    """A change to the answer key was made without a reason."""


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def question_changes_record(
    *, question: Question, before: dict[str, object], user_id: int | None, reason: str
) -> list[QuestionChange]:
    """Store one QuestionChange per field whose value differs from before.

    Raises ReasonRequired if the answer key changed and reason is blank.
    """
    changes = []
    for name in TRACKED_FIELDS:
        old, new = before.get(name), getattr(question, name)
        if _as_text(old) == _as_text(new):
            continue
        if name == "answer_key" and not reason.strip():
            raise ReasonRequired("Changing the answer key needs a reason.")
        changes.append(
            QuestionChange(
                question=question,
                user_id=user_id,
                field=name.removesuffix("_id"),
                old_value=_as_text(old),
                new_value=_as_text(new),
                reason=reason.strip(),
            )
        )
    QuestionChange.objects.bulk_create(changes)
    return changes


def _review_pool_sync(question_ids: list[int]) -> None:
    # Imported here: the review app builds on this one, not the other way round.
    from review.pool import review_pool_sync

    review_pool_sync(question_ids=question_ids)


def question_snapshot(question: Question) -> dict[str, object]:
    return {name: getattr(question, name) for name in TRACKED_FIELDS}


def question_create(*, question: Question, user_id: int | None) -> Question:
    """Store a new question built in memory, with its content hash and stem signature."""
    question.content_hash = compute_content_hash(question.stem, question.options)
    question.stem_signature = stem_signature_bytes(question.stem)
    question.save()
    logger.info("question %s created by user %s", question.pk, user_id)
    near_duplicates_refresh_enqueue()
    return question


def question_save(*, question: Question, user_id: int | None, reason: str) -> list[QuestionChange]:
    """Store the edited fields of question and one QuestionChange per changed field.

    The content hash follows the stem and options, and the stem signature the
    stem. A change of status withdraws the question's review slots from the
    pool (retired) or returns them. Raises ReasonRequired, and stores nothing,
    if the answer key changed without a reason.
    """
    with transaction.atomic():
        before = question_snapshot(Question.objects.select_for_update().get(pk=question.pk))
        stem_changed = before["stem"] != question.stem
        if stem_changed or _as_text(before["options"]) != _as_text(question.options):
            question.content_hash = compute_content_hash(question.stem, question.options)
        if stem_changed:
            question.stem_signature = stem_signature_bytes(question.stem)
        changes = question_changes_record(
            question=question, before=before, user_id=user_id, reason=reason
        )
        question.save()
        if before["status"] != question.status:
            _review_pool_sync([question.pk])
    if stem_changed:
        near_duplicates_refresh_enqueue()
    return changes


def questions_set_field(
    *, question_ids: Iterable[int], field: str, value: object, user_id: int | None, reason: str = ""
) -> int:
    """Set field (specialty_id, level_id or status) on many questions, recording each change.

    A change of status also withdraws or returns the questions' review slots.
    """
    if field not in {"specialty_id", "level_id", "status"}:
        raise ValueError(
            f"Bulk change of {field!r} is not supported; use specialty_id, level_id or status."
        )
    changed_ids = []
    with transaction.atomic():
        for question in Question.objects.select_for_update().filter(pk__in=list(question_ids)):
            before = question_snapshot(question)
            setattr(question, field, value)
            if question_changes_record(
                question=question, before=before, user_id=user_id, reason=reason
            ):
                question.save(update_fields=[field, "updated_at"])
                changed_ids.append(question.pk)
        if field == "status":
            _review_pool_sync(changed_ids)
    changed = len(changed_ids)
    logger.info(
        "bulk change of %s to %s on %d questions by user %s", field, value, changed, user_id
    )
    return changed


def questions_confirm_suggestion(*, question_ids: Iterable[int], user_id: int | None) -> int:
    """Take the suggested specialty as the specialty where a question has none."""
    changed = 0
    with transaction.atomic():
        questions = Question.objects.select_for_update().filter(
            pk__in=list(question_ids), specialty__isnull=True, suggested_specialty__isnull=False
        )
        for question in questions:
            before = question_snapshot(question)
            question.specialty_id = question.suggested_specialty_id
            question_changes_record(
                question=question, before=before, user_id=user_id, reason="confirmed suggestion"
            )
            question.save(update_fields=["specialty", "updated_at"])
            changed += 1
    logger.info("suggested specialty confirmed on %d questions by user %s", changed, user_id)
    return changed
