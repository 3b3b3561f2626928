"""The review pool: slots of questions that leave it are withdrawn, and return with them.

A question is out of the pool while its status is retired or its latest
question-level adjudication is "question excluded". Its open and claimed
slots are then withdrawn, so a claim, which reads only open and claimed
slots, never hands them out and never joins the question table. A slot
that a reviewer holds under an unexpired lease is withdrawn with its
reviewer kept, so that reviewer can finish it; other slots are withdrawn
without a reviewer. When the question returns (status set back, or a later
decision keeps it or corrects its key), withdrawn slots still held go back
to claimed with their lease, and the others go back to open.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from medexam.models import Question
from review.models import Adjudication, Assignment
from review.validity import latest_decisions

logger = logging.getLogger(__name__)

Status = Assignment.Status


class PoolChange(NamedTuple):
    """How many slots one sync withdrew and how many it returned to the pool."""

    withdrawn: int
    restored: int


def questions_out_of_pool(question_ids: Iterable[int]) -> set[int]:
    """Return the ids, among question_ids, of questions retired or excluded by adjudication."""
    ids = sorted(set(question_ids))
    retired = set(
        Question.objects.filter(id__in=ids, status=Question.Status.RETIRED).values_list(
            "id", flat=True
        )
    )
    excluded = {
        question_id
        for question_id, latest in latest_decisions(ids).items()
        if latest.decision == Adjudication.Decision.QUESTION_EXCLUDED
    }
    return retired | excluded


def review_pool_sync(*, question_ids: Iterable[int], now: datetime | None = None) -> PoolChange:
    """Withdraw the slots of questions out of the pool and restore those of questions in it.

    Call it in the transaction that changed a question's status or recorded
    its adjudication. It locks the question rows, so two syncs of the same
    question run one after the other and the later one reads the
    other's change. Running it again changes nothing.
    """
    now = now or timezone.now()
    ids = sorted(set(question_ids))
    if not ids:
        return PoolChange(0, 0)

    with transaction.atomic():
        locked = Question.objects.select_for_update().filter(id__in=ids).order_by("id")
        list(locked.values_list("id", flat=True))
        out = questions_out_of_pool(ids)
        back = [question_id for question_id in ids if question_id not in out]

        leaving = Assignment.objects.filter(response__question_id__in=out)
        withdrawn = leaving.filter(status=Status.CLAIMED, lease_expires_at__gt=now).update(
            status=Status.WITHDRAWN
        )
        # An expired claim is claimable by anyone, so it leaves as an open slot would.
        withdrawn += leaving.filter(
            Q(status=Status.OPEN) | Q(status=Status.CLAIMED, lease_expires_at__lte=now)
            | Q(status=Status.CLAIMED, lease_expires_at__isnull=True)
        ).update(
            status=Status.WITHDRAWN,
            reviewer=None,
            claimed_at=None,
            lease_expires_at=None,
            first_verdict="",
        )
        returning = Assignment.objects.filter(
            response__question_id__in=back, status=Status.WITHDRAWN
        )
        restored = returning.filter(reviewer__isnull=False).update(status=Status.CLAIMED)
        restored += returning.filter(reviewer__isnull=True).update(status=Status.OPEN)

    if withdrawn or restored:
        logger.info(
            "review pool sync of %d questions: %d slots withdrawn, %d restored",
            len(ids),
            withdrawn,
            restored,
        )
    return PoolChange(withdrawn, restored)
