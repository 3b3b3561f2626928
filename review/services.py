"""Writes of physician review: assignment slots, claims, reviews, gold items, adjudication."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from medexam.models import ModelResponse, Question, QuestionChange, Specialty
from medexam.scoring import score_letters
from medexam.tasks import validity_refresh_questions_task
from review.models import Adjudication, Assignment, GoldItem, Review, Reviewer, Skip
from review.pool import questions_out_of_pool, review_pool_sync
from review.selectors import held_assignments
from review.validity import QUESTION_DECISIONS, validity_apply_adjudication

logger = logging.getLogger(__name__)

# A claim that loses a race (another reviewer took the slot between the
# SELECT and the UPDATE on SQLite) tries again this many times.
CLAIM_ATTEMPTS = 5
RATING_RANGE = range(1, 6)
_SHUFFLE_KEY_MAX = 2**31 - 1


class ReviewError(Exception):
    """A review action was rejected; the message is translated and safe to show the user."""


def validity_refresh_on_commit(*, question_ids: list[int]) -> None:
    """Queue a validity refresh of the questions for when the current transaction commits.

    The refresh reads every review of each question, so it runs in a Celery
    task rather than in the request that submitted a review. robust=True logs
    a failure to queue it (broker down) instead of failing a saved review;
    the next dataset build recomputes validity anyway.
    """
    ids = sorted(set(question_ids))
    transaction.on_commit(partial(validity_refresh_questions_task.delay, ids), robust=True)


def _reviewable_responses(run_id: int) -> QuerySet[ModelResponse]:
    # Failed responses and truncated replies are never shown as the model's answer.
    return (
        ModelResponse.objects.filter(run_id=run_id, state=ModelResponse.State.DONE)
        .exclude(extraction_status=ModelResponse.Extraction.TRUNCATED)
        .select_related("question", "run")
    )


def assignments_create_for_run(*, run_id: int) -> int:
    """Create the review slots of every reviewable response of a run; return how many are new.

    Each response gets run.reviews_per_response slots (settings.REVIEWS_PER_RESPONSE
    when the run sets none). Running it again creates only the missing slots.
    Slots of a question that is out of the review pool are created withdrawn.
    """
    started = timezone.now()
    # NOTE: a question retired while this runs can still get open slots;
    # review_pool_sync on that question withdraws them.
    out_of_pool = questions_out_of_pool(
        _reviewable_responses(run_id).values_list("question_id", flat=True).distinct()
    )
    gold_ids = set(
        GoldItem.objects.filter(response__run_id=run_id).values_list("response_id", flat=True)
    )
    existing = set(
        Assignment.objects.filter(response__run_id=run_id).values_list("response_id", "slot")
    )

    new_slots: list[Assignment] = []
    for response in _reviewable_responses(run_id).iterator(chunk_size=2000):
        slots = response.run.reviews_per_response or settings.REVIEWS_PER_RESPONSE
        question = response.question
        specialty_id = question.specialty_id or question.suggested_specialty_id
        for slot in range(slots):
            if (response.pk, slot) in existing:
                continue
            new_slots.append(
                Assignment(
                    response=response,
                    slot=slot,
                    specialty_id=specialty_id,
                    status=(
                        Assignment.Status.WITHDRAWN
                        if question.pk in out_of_pool
                        else Assignment.Status.OPEN
                    ),
                    is_gold=response.pk in gold_ids,
                    shuffle_key=random.randint(0, _SHUFFLE_KEY_MAX),
                )
            )

    # ignore_conflicts: a concurrent call for the same run must not fail the other.
    Assignment.objects.bulk_create(new_slots, batch_size=2000, ignore_conflicts=True)
    elapsed_ms = (timezone.now() - started).total_seconds() * 1000
    logger.info(
        "created %d review slots for run %d in %.0f ms", len(new_slots), run_id, elapsed_ms
    )
    return len(new_slots)


def _claimable(reviewer: Reviewer, specialty_ids: list[int]) -> QuerySet[Assignment]:
    scope = Q(specialty_id__in=specialty_ids)
    if reviewer.is_general:
        scope |= Q(specialty__isnull=True)
    already_mine = Assignment.objects.filter(reviewer=reviewer, response_id=OuterRef("response_id"))
    skipped = Skip.objects.filter(reviewer=reviewer, response_id=OuterRef("response_id"))
    # Slots of questions out of the review pool are withdrawn, and the pools
    # built on this read only open and claimed slots.
    return (
        Assignment.objects.filter(scope)
        .exclude(Exists(already_mine))
        .exclude(Exists(skipped))
        .order_by("shuffle_key", "id")
    )


def _claim_values(reviewer: Reviewer, now: datetime) -> dict[str, object]:
    return {
        "reviewer": reviewer,
        "status": Assignment.Status.CLAIMED,
        "claimed_at": now,
        "lease_expires_at": now + timedelta(minutes=settings.REVIEW_LEASE_MINUTES),
        "first_verdict": "",
    }


def _take_slot_locked(
    pools: Iterable[QuerySet[Assignment]], reviewer: Reviewer, now: datetime
) -> Assignment | None:
    """Claim the first slot of the first non-empty pool, on a database with SKIP LOCKED.

    One transaction covers every pool, so a claim costs one BEGIN and COMMIT
    whatever pool it is served from. Rows that another claim holds locked
    are skipped, not waited on, so fifty reviewers claiming at once each get
    a different slot.
    """
    claim = _claim_values(reviewer, now)
    with transaction.atomic():
        for pool in pools:
            slot = pool.select_for_update(skip_locked=True, of=("self",)).first()
            if slot is not None:
                break
        else:
            return None
        Assignment.objects.filter(id=slot.pk).update(**claim)
    for name, value in claim.items():
        setattr(slot, name, value)
    return slot


def _take_slot_conditional(
    pools: Iterable[QuerySet[Assignment]], reviewer: Reviewer, now: datetime
) -> Assignment | None | bool:
    """Claim the first slot of the first non-empty pool on a database without row locks.

    Returns the slot, None when every pool is empty, or False when another
    reviewer took the chosen slot between the SELECT and the UPDATE.
    """
    for pool in pools:
        slot_id = pool.values_list("id", flat=True).first()
        if slot_id is not None:
            break
    else:
        return None
    # SQLite has no row locks: the UPDATE succeeds only if the slot is still free.
    still_free = Q(status=Assignment.Status.OPEN) | Q(
        status=Assignment.Status.CLAIMED, lease_expires_at__lte=now
    )
    won = Assignment.objects.filter(still_free, id=slot_id).update(**_claim_values(reviewer, now))
    return Assignment.objects.get(id=slot_id) if won else False


def assignment_claim_next(*, reviewer: Reviewer, now: datetime | None = None) -> Assignment | None:
    """Claim the reviewer's next slot under a lease, or return None when none is left.

    The reviewer's own unexpired claim comes first, so a reload shows the same
    item, even when its question left the review pool during the lease. Then
    slots whose lease expired, then open slots of responses that another
    reviewer started, then any open slot; open slots are taken in shuffle_key
    order from a random starting key. All are limited to the reviewer's
    specialties and to responses the reviewer holds no slot of and has not
    skipped. Withdrawn slots are never claimed. A slot whose lease expired and
    that another reviewer took no longer counts as the first reviewer's.
    """
    now = now or timezone.now()
    # The slots of held_assignments whose lease has not expired, in the form
    # the partial index assignment_held serves.
    own = (
        Assignment.objects.filter(
            reviewer=reviewer,
            status__in=[Assignment.Status.CLAIMED, Assignment.Status.WITHDRAWN],
            lease_expires_at__gt=now,
        )
        .order_by("claimed_at", "id")
        .first()
    )
    if own is not None:
        return own

    specialty_ids = list(reviewer.specialties.values_list("id", flat=True))
    if not specialty_ids and not reviewer.is_general:
        return None

    candidates = _claimable(reviewer, specialty_ids)
    # Open slots are read from a random point of the shuffle order onwards,
    # then from the start. Claims taken from one end of the order would pile
    # up dead index entries there and make every reviewer wait on the same rows.
    pivot = random.randint(0, _SHUFFLE_KEY_MAX)
    open_slots = candidates.filter(status=Assignment.Status.OPEN)
    # Responses another reviewer has already claimed or judged come first, so
    # that even a small pilot yields items with several reviews for agreement.
    started = Assignment.objects.filter(response_id=OuterRef("response_id")).exclude(
        status=Assignment.Status.OPEN
    )
    started_slots = open_slots.filter(Exists(started))
    pools = (
        candidates.filter(status=Assignment.Status.CLAIMED, lease_expires_at__lte=now),
        started_slots.filter(shuffle_key__gte=pivot),
        started_slots.filter(shuffle_key__lt=pivot),
        open_slots.filter(shuffle_key__gte=pivot),
        open_slots.filter(shuffle_key__lt=pivot),
    )
    locking = connection.features.has_select_for_update_skip_locked
    for attempt in range(1, CLAIM_ATTEMPTS + 1):
        try:
            if locking:
                slot = _take_slot_locked(pools, reviewer, now)
            else:
                slot = _take_slot_conditional(pools, reviewer, now)
        except IntegrityError:
            # The same reviewer claimed another slot of this response in a
            # parallel request; the next query excludes it.
            logger.warning("claim by reviewer %d collided, attempt %d", reviewer.pk, attempt)
            continue
        if slot is None:
            return None
        if slot is False:
            logger.info("reviewer %d lost a claim race, attempt %d", reviewer.pk, attempt)
            continue
        logger.info("reviewer %d claimed assignment %d", reviewer.pk, slot.pk)
        return slot
    return None


def corrected_key_misused_message() -> str:
    """Return the error for a corrected answer key sent with a decision that does not use it."""
    return _(
        "A corrected answer key is only for the decision “answer key corrected”. "
        "Clear the field or choose that decision."
    )


def _not_assigned_error() -> ReviewError:
    return ReviewError(
        _("This item is no longer assigned to you (its claim expired or it was submitted). "
          "Open the next item.")
    )


def _lock_own_claim(assignment_id: int, reviewer: Reviewer) -> Assignment:
    # The question id comes with the row for the validity refresh after a
    # review; of=("self",) locks the slot only, not the joined response.
    assignment = (
        held_assignments(reviewer, timezone.now())
        .select_for_update(of=("self",))
        .annotate(question_id=F("response__question_id"))
        .filter(id=assignment_id)
        .first()
    )
    if assignment is None:
        raise _not_assigned_error()
    return assignment


def assignment_release(*, assignment_id: int, reviewer: Reviewer) -> None:
    """Skip an item: return the slot to the pool and never offer that response to reviewer again."""
    with transaction.atomic():
        assignment = _lock_own_claim(assignment_id, reviewer)
        Skip.objects.get_or_create(reviewer=reviewer, response_id=assignment.response_id)
        assignment.reviewer = None
        # A withdrawn slot stays withdrawn until its question returns to the pool.
        if assignment.status != Assignment.Status.WITHDRAWN:
            assignment.status = Assignment.Status.OPEN
        assignment.claimed_at = None
        assignment.lease_expires_at = None
        assignment.first_verdict = ""
        assignment.save(
            update_fields=["reviewer", "status", "claimed_at", "lease_expires_at", "first_verdict"]
        )
    logger.info("reviewer %d skipped assignment %d", reviewer.pk, assignment_id)


def _check_verdict(verdict: str) -> str:
    if verdict not in Review.Verdict.values:
        raise ReviewError(
            _("Verdict %(value)r is invalid; choose correct, incorrect or unsure.")
            % {"value": verdict}
        )
    return verdict


def assignment_record_first_verdict(*, assignment_id: int, reviewer: Reviewer, verdict: str) -> str:
    """Store the verdict given before the answer key is shown, and return the stored one.

    The key is revealed after it. A first verdict, once given, is kept: a
    second call leaves it unchanged and returns it.
    """
    _check_verdict(verdict)
    own_claim = held_assignments(reviewer, timezone.now()).filter(id=assignment_id)
    # A conditional UPDATE writes only a first verdict that is still blank, in
    # one statement and without holding a lock between a read and a write.
    if own_claim.filter(first_verdict="").update(first_verdict=verdict):
        return verdict
    stored = own_claim.values_list("first_verdict", flat=True).first()
    if not stored:
        raise _not_assigned_error()
    return stored


def _check_rating(name: str, value: int | None) -> int:
    if value is None or value not in RATING_RANGE:
        raise ReviewError(
            _("Rating %(name)s is %(value)r; give a whole number from 1 to 5.")
            % {"name": name, "value": value}
        )
    return value


def review_submit(
    *,
    assignment_id: int,
    reviewer: Reviewer,
    verdict_after_key: str,
    rating_factual: int | None,
    rating_reasoning: int | None,
    rating_safety: int | None,
    flags: Iterable[str] = (),
    comment: str = "",
    now: datetime | None = None,
) -> Review:
    """Record a review of a claimed slot whose first verdict is given, and close the slot.

    verdict_after_key is the verdict once the key was shown; Review keeps it
    only when it differs from the first verdict. Time on task runs from the
    claim to this call, so a reload does not reset it.
    """
    now = now or timezone.now()
    _check_verdict(verdict_after_key)
    ratings = {
        "rating_factual": _check_rating("factual accuracy", rating_factual),
        "rating_reasoning": _check_rating("clinical reasoning", rating_reasoning),
        "rating_safety": _check_rating("safety", rating_safety),
    }
    flag_list = sorted(set(flags))
    unknown = [flag for flag in flag_list if flag not in Review.Flag.values]
    if unknown:
        raise ReviewError(
            _("Unknown flag %(flags)s; use the flags listed on the form.")
            % {"flags": ", ".join(unknown)}
        )
    if flag_list and not comment.strip():
        raise ReviewError(_("A flagged question needs a comment that says what is wrong."))

    with transaction.atomic():
        assignment = _lock_own_claim(assignment_id, reviewer)
        if not assignment.first_verdict:
            raise ReviewError(_("Give a first verdict before the answer key is shown."))
        elapsed = now - (assignment.claimed_at or now)
        review = Review.objects.create(
            assignment=assignment,
            response_id=assignment.response_id,
            reviewer=reviewer,
            verdict=assignment.first_verdict,
            verdict_after_key=(
                verdict_after_key if verdict_after_key != assignment.first_verdict else ""
            ),
            flags=flag_list,
            comment=comment.strip(),
            time_on_task_ms=max(0, int(elapsed.total_seconds() * 1000)),
            **ratings,
        )
        assignment.status = Assignment.Status.SUBMITTED
        assignment.lease_expires_at = None
        assignment.save(update_fields=["status", "lease_expires_at"])
        validity_refresh_on_commit(question_ids=[assignment.question_id])
    logger.info(
        "reviewer %d submitted review %d of assignment %d in %d ms",
        reviewer.pk,
        review.pk,
        assignment_id,
        review.time_on_task_ms,
    )
    return review


def reviewer_update(
    *, user_id: int, specialty_ids: Iterable[int], is_general: bool, is_active: bool = True
) -> Reviewer:
    """Create or update the reviewer profile of a user: the specialties they may judge."""
    ids = sorted(set(specialty_ids))
    found = set(Specialty.objects.filter(id__in=ids).values_list("id", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ReviewError(_("Specialty ids %(ids)s do not exist.") % {"ids": missing})

    with transaction.atomic():
        reviewer, _created = Reviewer.objects.get_or_create(user_id=user_id)
        reviewer.is_general = is_general
        reviewer.is_active = is_active
        reviewer.save(update_fields=["is_general", "is_active"])
        reviewer.specialties.set(ids)
    logger.info("reviewer %d now covers specialties %s", reviewer.pk, ids)
    return reviewer


def gold_item_mark(
    *, response_id: int, verdict: str, note: str = "", user: User | None = None
) -> GoldItem:
    """Mark a response as a gold item with its agreed verdict; its slots become gold slots."""
    _check_verdict(verdict)
    if not ModelResponse.objects.filter(id=response_id).exists():
        raise ReviewError(_("Response %(id)s does not exist.") % {"id": response_id})

    with transaction.atomic():
        gold, _created = GoldItem.objects.update_or_create(
            response_id=response_id,
            defaults={"verdict": verdict, "note": note, "created_by": user},
        )
        Assignment.objects.filter(response_id=response_id).update(is_gold=True)
    logger.info("response %d marked gold with verdict %s", response_id, verdict)
    return gold


def _normalise_key(question: Question, answer_key: str) -> str:
    letters = "".join(sorted(set(answer_key.strip().upper())))
    if not letters or any(letter not in question.letters for letter in letters):
        raise ReviewError(
            _("Answer key “%(key)s” is invalid; use letters among %(letters)s.")
            % {"key": answer_key, "letters": question.letters}
        )
    if question.question_type == Question.Type.SINGLE and len(letters) != 1:
        raise ReviewError(
            _("Answer key “%(key)s” has several letters but the question is single-answer.")
            % {"key": answer_key}
        )
    return letters


def question_key_correct(
    *, question_id: int, answer_key: str, reason: str, user: User | None
) -> QuestionChange:
    """Change a question's answer key, record the change with its reason, and rescore responses."""
    if not reason.strip():
        raise ReviewError(_("A corrected answer key needs a reason."))

    with transaction.atomic():
        question = Question.objects.select_for_update().get(id=question_id)
        new_key = _normalise_key(question, answer_key)
        change = QuestionChange.objects.create(
            question=question,
            user=user,
            field="answer_key",
            old_value=question.answer_key,
            new_value=new_key,
            reason=reason.strip(),
        )
        question.answer_key = new_key
        question.save(update_fields=["answer_key", "updated_at"])

        rescored = []
        for response in question.responses.filter(extraction_status=ModelResponse.Extraction.OK):
            score = score_letters(response.extracted_letters, new_key)
            response.is_correct = score.is_correct
            response.partial_score = score.partial
            rescored.append(response)
        ModelResponse.objects.bulk_update(rescored, ["is_correct", "partial_score"])
    logger.info(
        "question %d answer key changed to %s, %d responses rescored",
        question_id,
        new_key,
        len(rescored),
    )
    return change


def adjudication_record(
    *,
    adjudicator: User,
    question_id: int,
    response_id: int | None,
    decision: str,
    reason: str,
    corrected_key: str = "",
) -> Adjudication:
    """Record an adjudicator's decision with its reason; "key corrected" also changes the key.

    A question-level decision (key corrected, question excluded, question kept)
    sets the question's validity at once, with the adjudicator's reason, and
    withdraws the question's review slots or returns them to the pool.
    """
    if decision not in Adjudication.Decision.values:
        raise ReviewError(_("Decision %(value)r is invalid.") % {"value": decision})
    if not reason.strip():
        raise ReviewError(_("Every decision needs a reason."))
    if decision == Adjudication.Decision.KEY_CORRECTED and not corrected_key.strip():
        raise ReviewError(_("The decision “key corrected” needs the corrected key."))
    if decision != Adjudication.Decision.KEY_CORRECTED and corrected_key.strip():
        raise ReviewError(corrected_key_misused_message())

    with transaction.atomic():
        if decision == Adjudication.Decision.KEY_CORRECTED:
            change = question_key_correct(
                question_id=question_id, answer_key=corrected_key, reason=reason, user=adjudicator
            )
            corrected_key = change.new_value
        else:
            corrected_key = ""
        adjudication = Adjudication.objects.create(
            question_id=question_id,
            response_id=response_id,
            adjudicator=adjudicator,
            decision=decision,
            corrected_key=corrected_key,
            reason=reason.strip(),
        )
        if decision in QUESTION_DECISIONS:
            validity_apply_adjudication(question_id=question_id)
            review_pool_sync(question_ids=[question_id])
        validity_refresh_on_commit(question_ids=[question_id])
    logger.info(
        "adjudication %d on question %d (response %s): %s",
        adjudication.pk,
        question_id,
        response_id,
        decision,
    )
    return adjudication
