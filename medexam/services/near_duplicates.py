"""Near-duplicate groups of stored questions, kept on each question for the admin to filter."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from medexam import near_duplicates
from medexam.models import Question

logger = logging.getLogger(__name__)

READ_CHUNK = 5000


def near_duplicate_threshold() -> float:
    """Return the Jaccard similarity of stem bigrams at which stems count as near-duplicates."""
    return float(settings.NEAR_DUPLICATE_THRESHOLD)


def stem_signature_bytes(stem: str) -> bytes:
    """Return the stored form of stem's MinHash signature."""
    return near_duplicates.signature_to_bytes(near_duplicates.signatures([stem])[0])


def stored_signatures(*, exclude_ids: Collection[int] = ()) -> tuple[list[int], np.ndarray]:
    """Return the ids of all stored questions and their signatures, as parallel rows.

    Questions without a current signature (created before signatures existed,
    or by code that bypassed the services) get one computed and saved here.
    """
    ids: list[int] = []
    rows: list[np.ndarray] = []
    missing: list[int] = []
    rows_by_position: dict[int, int] = {}
    excluded = set(exclude_ids)
    stored = Question.objects.order_by("pk").values_list("pk", "stem_signature")
    for pk, data in stored.iterator(chunk_size=READ_CHUNK):
        if pk in excluded:
            continue
        signature = near_duplicates.signature_from_bytes(bytes(data or b""))
        if signature is None:
            missing.append(pk)
            rows_by_position[pk] = len(rows)
            signature = np.zeros(near_duplicates.NUM_PERMUTATIONS, dtype=np.uint32)
        ids.append(pk)
        rows.append(signature)

    if missing:
        for start in range(0, len(missing), READ_CHUNK):
            chunk = missing[start : start + READ_CHUNK]
            stems = dict(Question.objects.filter(pk__in=chunk).values_list("pk", "stem"))
            computed = near_duplicates.signatures([stems[pk] for pk in chunk])
            for pk, signature in zip(chunk, computed, strict=True):
                rows[rows_by_position[pk]] = signature
            _save_signatures(
                chunk, [near_duplicates.signature_to_bytes(signature) for signature in computed]
            )
        logger.info("computed stem signatures of %d questions", len(missing))

    if not rows:
        return ids, np.zeros((0, near_duplicates.NUM_PERMUTATIONS), dtype=np.uint32)
    return ids, np.vstack(rows)


def _save_signatures(question_ids: list[int], signatures: list[bytes]) -> None:
    if connection.vendor == "postgresql":
        # One UPDATE joined to two arrays: bulk_update, which writes a CASE branch per row,
        # made the first refresh of 10,000 questions twice as slow (bench_near_duplicates.py).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE medexam_question AS question "
                "SET stem_signature = data.signature "
                "FROM unnest(%s::integer[], %s::bytea[]) AS data(id, signature) "
                "WHERE question.id = data.id",
                [question_ids, signatures],
            )
        return
    Question.objects.bulk_update(
        [
            Question(pk=pk, stem_signature=signature)
            for pk, signature in zip(question_ids, signatures, strict=True)
        ],
        ["stem_signature"],
    )


def _save_groups(question_ids: list[int], group_ids: list[int], similarities: list[float]) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE medexam_question AS question "
                "SET near_duplicate_group = data.group_id, "
                "near_duplicate_similarity = data.similarity "
                "FROM unnest(%s::integer[], %s::integer[], %s::double precision[]) "
                "AS data(id, group_id, similarity) "
                "WHERE question.id = data.id",
                [question_ids, group_ids, similarities],
            )
        return
    Question.objects.bulk_update(
        [
            Question(pk=pk, near_duplicate_group=group, near_duplicate_similarity=similarity)
            for pk, group, similarity in zip(question_ids, group_ids, similarities, strict=True)
        ],
        ["near_duplicate_group", "near_duplicate_similarity"],
        batch_size=1000,
    )


def stems_by_id(question_ids: Iterable[int]) -> dict[int, str]:
    wanted = list(question_ids)
    found: dict[int, str] = {}
    for start in range(0, len(wanted), READ_CHUNK):
        chunk = wanted[start : start + READ_CHUNK]
        found.update(Question.objects.filter(pk__in=chunk).values_list("pk", "stem"))
    return found


def near_duplicates_refresh(*, threshold: float | None = None) -> int:
    """Recompute the near-duplicate groups of the whole bank and store them on the questions.

    Returns the number of groups. Each question in a group gets the group's
    lowest question id and the best similarity found inside the group.
    """
    started = time.monotonic()
    threshold = near_duplicate_threshold() if threshold is None else threshold
    ids, matrix = stored_signatures()

    def load_stems(indices: Collection[int]) -> dict[int, str]:
        stems = stems_by_id(ids[index] for index in indices)
        return {index: stems[ids[index]] for index in indices}

    groups = near_duplicates.find_groups(matrix, load_stems, threshold=threshold)
    members: list[int] = []
    group_ids: list[int] = []
    similarities: list[float] = []
    for group in groups:
        question_ids = [ids[index] for index in group.indices]
        members.extend(question_ids)
        group_ids.extend([min(question_ids)] * len(question_ids))
        similarities.extend([group.similarity] * len(question_ids))
    with transaction.atomic():
        Question.objects.filter(near_duplicate_group__isnull=False).update(
            near_duplicate_group=None, near_duplicate_similarity=None
        )
        _save_groups(members, group_ids, similarities)
    logger.info(
        "near-duplicate groups refreshed in %.0f ms: %d groups among %d questions",
        (time.monotonic() - started) * 1000,
        len(groups),
        len(ids),
    )
    return len(groups)


def near_duplicates_refresh_enqueue() -> None:
    """Refresh the groups on a Celery worker once the current transaction commits.

    A broker that cannot be reached is logged, not raised: the edit that asked
    for the refresh is already stored, and the next refresh catches up.
    """
    from medexam.tasks import near_duplicates_refresh_task

    transaction.on_commit(near_duplicates_refresh_task.delay, robust=True)
