"""Reads shared by the review pages: progress, the adjudication queue, dashboards, calibration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Case, CharField, Count, F, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from medexam.models import ModelResponse, Question
from review.models import Adjudication, Assignment, GoldItem, Review, Reviewer
from review.validity import QUESTION_DECISIONS

# How many queue entries one adjudication page lists.
QUEUE_LIMIT = 200
# Decisions on a response's verdict, as opposed to decisions on its question.
RESPONSE_DECISIONS = (Adjudication.Decision.MODEL_CORRECT, Adjudication.Decision.MODEL_INCORRECT)
# How many questions one search of the gold item page lists.
GOLD_SEARCH_LIMIT = 20


def reviewer_for_user(user: AbstractBaseUser | AnonymousUser) -> Reviewer | None:
    if not user.is_authenticated:
        return None
    return Reviewer.objects.filter(user_id=user.pk, is_active=True).first()


def held_assignments(reviewer: Reviewer, now: datetime) -> QuerySet[Assignment]:
    """Select the slots a reviewer may still work on: claimed ones, and withdrawn ones in lease.

    A slot withdrawn from the review pool while a reviewer held it stays
    theirs until its lease ends, so work already begun is not lost.
    """
    return Assignment.objects.filter(
        reviewer=reviewer,
        status__in=[Assignment.Status.CLAIMED, Assignment.Status.WITHDRAWN],
    ).filter(Q(status=Assignment.Status.CLAIMED) | Q(lease_expires_at__gt=now))


def final_verdict_expression() -> Case:
    """Build the verdict a review ends with: the one after seeing the key when it changed."""
    return Case(
        When(verdict_after_key="", then=F("verdict")),
        default=F("verdict_after_key"),
        output_field=CharField(),
    )


@dataclass(frozen=True)
class Progress:
    total: int
    today: int
    streak_days: int


def reviewer_progress(reviewer: Reviewer) -> Progress:
    """Count the reviewer's reviews, today's reviews, and the run of consecutive days with one.

    A streak counts back from today, or from yesterday when nothing is
    submitted yet today, in the project's time zone.
    """
    today = timezone.localdate()
    reviews = Review.objects.filter(reviewer=reviewer)
    # One row per day with a review, grouped in the database: a busy reviewer
    # has thousands of reviews a year but at most 366 such days.
    days: set[date] = set(
        reviews.filter(submitted_at__date__gte=today - timedelta(days=365))
        .annotate(day=TruncDate("submitted_at"))
        .order_by()
        .values_list("day", flat=True)
        .distinct()
    )

    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    counts = reviews.aggregate(
        total=Count("id"), today=Count("id", filter=Q(submitted_at__date=today))
    )
    return Progress(total=counts["total"], today=counts["today"], streak_days=streak)


def open_slots_without_specialty() -> int:
    """Count open slots whose question has no specialty: only general reviewers receive them."""
    return Assignment.objects.filter(
        status=Assignment.Status.OPEN, specialty__isnull=True
    ).count()


@dataclass
class QueueEntry:
    response_id: int
    question_id: int
    disagreement: bool = False
    # Flags raised on the question that no question-level decision has settled yet.
    flags: set[str] = field(default_factory=set)
    # The question's validity_reasons when its validity is disputed, else empty.
    disputed_reasons: list[dict[str, Any]] = field(default_factory=list)
    # The question's stem, so an adjudicator can tell the entries apart.
    stem: str = ""
    # Why the entry waits: final verdicts by code, reviews per flag, reviews with a comment.
    verdict_counts: dict[str, int] = field(default_factory=dict)
    flag_counts: dict[str, int] = field(default_factory=dict)
    comments: int = 0


def _latest_question_decision(field_name: str) -> Subquery:
    """Select one field of the latest question-level decision on the question of a review."""
    latest = Adjudication.objects.filter(
        question_id=OuterRef("response__question_id"), decision__in=QUESTION_DECISIONS
    ).order_by("-decided_at", "-id")
    return Subquery(latest.values(field_name)[:1])


def adjudication_queue(limit: int = QUEUE_LIMIT) -> list[QueueEntry]:
    """List what waits for an adjudicator, one entry per response.

    A response enters while it has no response-level decision (model answer
    correct or incorrect) and its reviewers' final verdicts differ or a
    reviewer flagged its question. A
    question whose validity is disputed enters, through its first reviewed
    response, until a question-level decision (key corrected, question
    excluded or kept) settles it. Validity measures the first, blind verdicts
    and a decision on one response leaves the question disputed, so without
    this step such a question could be in neither list.

    A question-level decision, made through any response of the question,
    settles the flags of reviews submitted before it. An excluded question
    leaves the queue with all its responses, because its responses' verdicts
    no longer count.
    """
    decided = Adjudication.objects.filter(
        response_id__isnull=False, decision__in=RESPONSE_DECISIONS
    ).values("response_id")
    pending = (
        Review.objects.exclude(response_id__in=decided)
        .alias(
            question_decision=_latest_question_decision("decision"),
            question_decided_at=_latest_question_decision("decided_at"),
        )
        .filter(
            Q(question_decision__isnull=True)
            | ~Q(question_decision=Adjudication.Decision.QUESTION_EXCLUDED)
        )
    )

    disputed = (
        pending.values("response_id")
        .annotate(verdicts=Count(final_verdict_expression(), distinct=True))
        .filter(verdicts__gt=1)
        .values_list("response_id", flat=True)
    )
    entries: dict[int, QueueEntry] = {}
    for response_id in disputed.order_by("response_id")[:limit]:
        entries[response_id] = QueueEntry(response_id, 0, disagreement=True)

    unsettled_flags = pending.filter(~Q(flags=[])).filter(
        Q(question_decided_at__isnull=True) | Q(submitted_at__gt=F("question_decided_at"))
    )
    flagged = unsettled_flags.order_by("response_id").values_list("response_id", "flags")
    for response_id, flags in flagged[: limit * 3]:
        entry = entries.setdefault(response_id, QueueEntry(response_id, 0))
        entry.flags.update(flags)

    _add_disputed_questions(entries, limit)
    questions = {
        response_id: (question_id, stem)
        for response_id, question_id, stem in ModelResponse.objects.filter(
            id__in=entries
        ).values_list("id", "question_id", "question__stem")
    }
    for entry in entries.values():
        entry.question_id, entry.stem = questions[entry.response_id]
    listed = sorted(entries.values(), key=lambda entry: entry.response_id)[:limit]
    _add_review_summaries(listed)
    return listed


def _add_review_summaries(entries: list[QueueEntry]) -> None:
    """Count each entry's final verdicts, flags and comments over all its reviews."""
    by_response = {entry.response_id: entry for entry in entries}
    rows = (
        Review.objects.filter(response_id__in=list(by_response))
        .annotate(final_verdict=final_verdict_expression())
        .values_list("response_id", "final_verdict", "flags", "comment")
    )
    for response_id, verdict, flags, comment in rows:
        entry = by_response[response_id]
        entry.verdict_counts[verdict] = entry.verdict_counts.get(verdict, 0) + 1
        for flag in flags:
            entry.flag_counts[flag] = entry.flag_counts.get(flag, 0) + 1
        if comment:
            entry.comments += 1


def _add_disputed_questions(entries: dict[int, QueueEntry], limit: int) -> None:
    """Mark the entries of disputed questions, and add one for each disputed question without."""
    reasons = dict(
        Question.objects.filter(validity=Question.Validity.DISPUTED)
        .order_by("id")
        .values_list("id", "validity_reasons")[: limit * 3]
    )
    if not reasons:
        return
    reviewed = (
        Review.objects.filter(response__question_id__in=list(reasons))
        .values_list("response__question_id", "response_id")
        .order_by("response_id")
        .distinct()
    )
    first_response: dict[int, int] = {}
    listed: set[int] = set()
    for question_id, response_id in reviewed:
        first_response.setdefault(question_id, response_id)
        if response_id in entries:
            entries[response_id].disputed_reasons = reasons[question_id]
            listed.add(question_id)
    for question_id, response_id in first_response.items():
        if question_id not in listed:
            entries[response_id] = QueueEntry(
                response_id, question_id, disputed_reasons=reasons[question_id]
            )


def reviews_for_adjudication(response_id: int) -> list[Review]:
    """Return a response's reviews with their reviewers; pages show only the pseudonyms."""
    return list(
        Review.objects.filter(response_id=response_id)
        .select_related("reviewer")
        .order_by("submitted_at", "id")
    )


def question_decisions(question_id: int) -> list[Adjudication]:
    """Return the question-level decisions on a question, newest (the one in force) first.

    They may have been made through any of the question's responses.
    """
    return list(
        Adjudication.objects.filter(question_id=question_id, decision__in=QUESTION_DECISIONS)
        .select_related("response")
        .order_by("-decided_at", "-id")
    )


def gold_items() -> QuerySet[GoldItem]:
    """Select the gold items with their questions, newest first."""
    return GoldItem.objects.select_related("response__question").order_by("-created_at", "-id")


@dataclass
class QuestionResponses:
    question: Question
    responses: list[ModelResponse]


def responses_for_gold_search(text: str, limit: int = GOLD_SEARCH_LIMIT) -> list[QuestionResponses]:
    """Find questions by id or by text in the stem, each with its responses.

    A number is read as a question id, anything else as text in the stem.
    The responses carry no model, run or endpoint, so a coordinator picks a
    gold item as blind to the model as reviewers are.
    """
    text = text.strip()
    if not text:
        return []
    questions = Question.objects.order_by("id")
    if text.isdigit():
        questions = questions.filter(id=int(text))
    else:
        # Chinese has no word boundaries, so this is a substring match.
        questions = questions.filter(stem__icontains=text)
    found = list(questions[:limit])
    responses = (
        ModelResponse.objects.filter(question__in=found)
        .select_related("gold_item")
        .only(
            "id", "question_id", "state", "extracted_letters", "extraction_status", "raw_text",
            "gold_item__verdict",
        )
        .order_by("id")
    )
    by_question: dict[int, list[ModelResponse]] = {question.pk: [] for question in found}
    for response in responses:
        by_question[response.question_id].append(response)
    return [QuestionResponses(question, by_question[question.pk]) for question in found]


def _slot_counts() -> dict[str, Count]:
    # Slots of each status. Withdrawn slots (their question left the review
    # pool) are not work to do: pending counts open and claimed slots only.
    return {
        "total": Count("id"),
        "submitted": Count("id", filter=Q(status=Assignment.Status.SUBMITTED)),
        "claimed": Count("id", filter=Q(status=Assignment.Status.CLAIMED)),
        "open": Count("id", filter=Q(status=Assignment.Status.OPEN)),
        "pending": Count(
            "id", filter=Q(status__in=[Assignment.Status.OPEN, Assignment.Status.CLAIMED])
        ),
        "withdrawn": Count("id", filter=Q(status=Assignment.Status.WITHDRAWN)),
    }


def progress_by_specialty() -> list[Mapping[str, object]]:
    """Count review slots per specialty by status: total, submitted, claimed, pending, withdrawn."""
    rows = (
        Assignment.objects.values("specialty__code", "specialty__name_zh", "specialty__name_en")
        .annotate(**_slot_counts())
        .order_by("specialty__code")
    )
    return list(rows)


def progress_by_run() -> list[Mapping[str, object]]:
    """Count review slots per evaluation run by status, as progress_by_specialty does."""
    rows = (
        Assignment.objects.values("response__run_id", "response__run__name")
        .annotate(**_slot_counts())
        .order_by("response__run_id")
    )
    return list(rows)


@dataclass
class ReviewerStats:
    pseudonym: str
    reviews: int = 0
    claimed: int = 0
    # Slots withdrawn from the pool while this reviewer held them.
    withdrawn: int = 0
    gold_reviews: int = 0
    gold_correct: int = 0
    majority_reviews: int = 0
    majority_agreed: int = 0

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_reviews if self.gold_reviews else None

    @property
    def majority_agreement(self) -> float | None:
        return self.majority_agreed / self.majority_reviews if self.majority_reviews else None


# Per review: how many of the other reviews of the same response share each
# verdict. A strict majority of the others exists when one count exceeds half
# of them, and the review agrees when its own verdict is that majority. Run in
# the database because it touches every review (a million in the benchmark).
_MAJORITY_SQL = """
WITH per_response AS (
    SELECT response_id,
           COUNT(*) AS total,
           SUM(CASE WHEN verdict = 'correct' THEN 1 ELSE 0 END) AS n_correct,
           SUM(CASE WHEN verdict = 'incorrect' THEN 1 ELSE 0 END) AS n_incorrect,
           SUM(CASE WHEN verdict = 'unsure' THEN 1 ELSE 0 END) AS n_unsure
    FROM review_review
    GROUP BY response_id
    HAVING COUNT(*) >= 3
), others AS (
    SELECT r.reviewer_id,
           p.total - 1 AS n_others,
           p.n_correct - CASE WHEN r.verdict = 'correct' THEN 1 ELSE 0 END AS o_correct,
           p.n_incorrect - CASE WHEN r.verdict = 'incorrect' THEN 1 ELSE 0 END AS o_incorrect,
           p.n_unsure - CASE WHEN r.verdict = 'unsure' THEN 1 ELSE 0 END AS o_unsure,
           r.verdict
    FROM review_review r
    JOIN per_response p ON p.response_id = r.response_id
)
SELECT reviewer_id,
       SUM(CASE WHEN o_correct * 2 > n_others OR o_incorrect * 2 > n_others
                     OR o_unsure * 2 > n_others THEN 1 ELSE 0 END) AS compared,
       SUM(CASE WHEN (verdict = 'correct' AND o_correct * 2 > n_others)
                     OR (verdict = 'incorrect' AND o_incorrect * 2 > n_others)
                     OR (verdict = 'unsure' AND o_unsure * 2 > n_others)
                THEN 1 ELSE 0 END) AS agreed
FROM others
GROUP BY reviewer_id
"""


def reviewer_statistics() -> list[ReviewerStats]:
    """Compute per reviewer: reviews, open claims, withdrawn claims, gold accuracy, agreement.

    Both measures use the first, blind verdict. Agreement compares a review
    with the strict majority of the other reviews of the same response, and
    skips responses where the others have no strict majority.
    """
    stats = {
        reviewer.pk: ReviewerStats(reviewer.pseudonym)
        for reviewer in Reviewer.objects.only("id", "pseudonym")
    }
    for row in Review.objects.values("reviewer_id").annotate(n=Count("id")):
        stats[row["reviewer_id"]].reviews = row["n"]
    held = Assignment.objects.filter(
        reviewer__isnull=False,
        status__in=[Assignment.Status.CLAIMED, Assignment.Status.WITHDRAWN],
    )
    for row in held.values("reviewer_id", "status").annotate(n=Count("id")):
        if row["status"] == Assignment.Status.CLAIMED:
            stats[row["reviewer_id"]].claimed = row["n"]
        else:
            stats[row["reviewer_id"]].withdrawn = row["n"]

    gold_reviews = (
        Review.objects.filter(response__gold_item__isnull=False)
        .values("reviewer_id")
        .annotate(
            n=Count("id"),
            correct=Count("id", filter=Q(verdict=F("response__gold_item__verdict"))),
        )
    )
    for row in gold_reviews:
        stats[row["reviewer_id"]].gold_reviews = row["n"]
        stats[row["reviewer_id"]].gold_correct = row["correct"]

    # NOTE: about 6 s at a million reviews on a loaded 2-core machine; cache
    # the result if coordinators open this page often at that size.
    with connection.cursor() as cursor:
        cursor.execute(_MAJORITY_SQL)
        for reviewer_id, compared, agreed in cursor.fetchall():
            stats[reviewer_id].majority_reviews = compared
            stats[reviewer_id].majority_agreed = agreed
    return sorted(stats.values(), key=lambda item: item.pseudonym)
