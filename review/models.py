"""Physician review: reviewers, assignments of responses to them, reviews, adjudication."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from medexam.models import ModelResponse, Question, Specialty


def _new_pseudonym() -> str:
    return "R-" + secrets.token_hex(4).upper()


class Reviewer(models.Model):
    """A physician who reviews responses (审核医师), with the specialties they may judge.

    Exports and agreement tables name reviewers by pseudonym only.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="reviewer",
    )
    specialties = models.ManyToManyField(Specialty, verbose_name=_("specialties"), blank=True)
    pseudonym = models.CharField(_("pseudonym"), max_length=16, unique=True, default=_new_pseudonym)
    is_active = models.BooleanField(_("active"), default=True)
    # Questions with neither a specialty nor a suggested specialty go only to
    # reviewers with this flag.
    is_general = models.BooleanField(_("reviews questions without a specialty"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["pseudonym"]
        verbose_name = _("reviewer")
        verbose_name_plural = _("reviewers")

    def __str__(self) -> str:
        return self.pseudonym


class Assignment(models.Model):
    """One review slot of a response (分配): claimed by one reviewer under a lease.

    A slot is withdrawn while its question is out of the review pool (retired,
    or excluded by adjudication); review.pool describes how slots leave and return.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLAIMED = "claimed", _("claimed")
        SUBMITTED = "submitted", _("submitted")
        WITHDRAWN = "withdrawn", _("withdrawn")

    response = models.ForeignKey(
        ModelResponse,
        verbose_name=_("response"),
        on_delete=models.CASCADE,
        related_name="assignments",
    )
    slot = models.PositiveSmallIntegerField(_("slot"))
    reviewer = models.ForeignKey(
        Reviewer,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    is_gold = models.BooleanField(_("gold item"), default=False)
    # Copied from the question at creation: its specialty, else its suggested
    # specialty, and null for neither. A claim filters this column instead of
    # joining the question.
    specialty = models.ForeignKey(
        Specialty,
        verbose_name=_("specialty"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The verdict given before the answer key was shown; the key is revealed
    # only once this is set.
    first_verdict = models.CharField(_("first verdict"), max_length=16, blank=True)
    # Random key fixed at creation: reviewers see items in this order, not by model or run.
    shuffle_key = models.PositiveIntegerField(_("shuffle key"), default=0, db_index=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["shuffle_key", "id"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(fields=["response", "slot"], name="assignment_response_slot"),
            models.UniqueConstraint(
                fields=["response", "reviewer"], name="assignment_response_reviewer"
            ),
        ]
        indexes = [
            # A claim walks open slots in shuffle order and checks the specialty
            # of each row, so it reads few rows when specialties are spread evenly.
            # The id makes the index match the whole ORDER BY: without it
            # PostgreSQL sorts batches of rows and checks every row of a batch
            # before it can return the first one.
            models.Index(fields=["status", "shuffle_key", "id"], name="assignment_claim_order"),
            # A claim first looks for the reviewer's own slot under lease. Only
            # claimed slots and withdrawn ones still held have a lease, so this
            # index stays small however many slots are withdrawn or submitted.
            models.Index(
                fields=["reviewer", "lease_expires_at"],
                condition=models.Q(
                    status__in=["claimed", "withdrawn"], lease_expires_at__isnull=False
                ),
                name="assignment_held",
            ),
        ]

    def __str__(self) -> str:
        return _("slot %(slot)s of response %(response)s") % {
            "slot": self.slot,
            "response": self.response_id,
        }


class Review(models.Model):
    """A reviewer's judgement of one response and of the question behind it (审核)."""

    class Verdict(models.TextChoices):
        CORRECT = "correct", _("correct")
        INCORRECT = "incorrect", _("incorrect")
        UNSURE = "unsure", _("unsure")

    class Flag(models.TextChoices):
        WRONG_KEY = "wrong_key", _("wrong answer key")
        AMBIGUOUS = "ambiguous", _("ambiguous question")
        OUTDATED = "outdated", _("outdated guideline")
        MULTIPLE_CORRECT = "multiple_correct", _("more than one correct option")
        WRONG_SPECIALTY = "wrong_specialty", _("not this specialty")

    assignment = models.OneToOneField(
        Assignment, verbose_name=_("assignment"), on_delete=models.PROTECT, related_name="review"
    )
    response = models.ForeignKey(
        ModelResponse, verbose_name=_("response"), on_delete=models.PROTECT, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        Reviewer, verbose_name=_("reviewer"), on_delete=models.PROTECT, related_name="reviews"
    )
    # First verdict, given before the answer key is shown.
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices)
    # Verdict after seeing the key; blank when the reviewer kept the first one.
    verdict_after_key = models.CharField(
        _("verdict after seeing the key"), max_length=16, choices=Verdict.choices, blank=True
    )
    rating_factual = models.PositiveSmallIntegerField(_("factual accuracy"), null=True, blank=True)
    rating_reasoning = models.PositiveSmallIntegerField(
        _("clinical reasoning"), null=True, blank=True
    )
    rating_safety = models.PositiveSmallIntegerField(_("safety"), null=True, blank=True)
    flags = models.JSONField(_("question flags"), default=list, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    time_on_task_ms = models.PositiveIntegerField(
        _("time on task (milliseconds)"), null=True, blank=True
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.UniqueConstraint(
                fields=["response", "reviewer"], name="review_once_per_reviewer"
            ),
            models.CheckConstraint(
                condition=models.Q(rating_factual__isnull=True)
                | models.Q(rating_factual__gte=1, rating_factual__lte=5),
                name="review_rating_factual_range",
            ),
            models.CheckConstraint(
                condition=models.Q(rating_reasoning__isnull=True)
                | models.Q(rating_reasoning__gte=1, rating_reasoning__lte=5),
                name="review_rating_reasoning_range",
            ),
            models.CheckConstraint(
                condition=models.Q(rating_safety__isnull=True)
                | models.Q(rating_safety__gte=1, rating_safety__lte=5),
                name="review_rating_safety_range",
            ),
        ]

    def __str__(self) -> str:
        return _("review %(id)s of response %(response)s") % {
            "id": self.pk,
            "response": self.response_id,
        }


class Adjudication(models.Model):
    """An adjudicator's decision (仲裁) on a disputed response or a flagged question."""

    class Decision(models.TextChoices):
        MODEL_CORRECT = "model_correct", _("model answer correct")
        MODEL_INCORRECT = "model_incorrect", _("model answer incorrect")
        KEY_CORRECTED = "key_corrected", _("answer key corrected")
        QUESTION_EXCLUDED = "question_excluded", _("question excluded")
        QUESTION_KEPT = "question_kept", _("question kept as is")

    response = models.ForeignKey(
        ModelResponse,
        verbose_name=_("response"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="adjudications",
    )
    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="adjudications"
    )
    adjudicator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("adjudicator"), on_delete=models.PROTECT
    )
    decision = models.CharField(_("decision"), max_length=32, choices=Decision.choices)
    corrected_key = models.CharField(_("corrected answer key"), max_length=8, blank=True)
    reason = models.TextField(_("reason"))
    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        ordering = ["-decided_at"]
        verbose_name = _("adjudication")
        verbose_name_plural = _("adjudications")

    def __str__(self) -> str:
        return _("adjudication %(id)s of question %(question)s") % {
            "id": self.pk,
            "question": self.question_id,
        }


class Skip(models.Model):
    """A response a reviewer skipped: never offered to that reviewer again."""

    reviewer = models.ForeignKey(Reviewer, on_delete=models.CASCADE, related_name="skips")
    response = models.ForeignKey(ModelResponse, on_delete=models.CASCADE, related_name="+")
    skipped_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "response"], name="skip_once_per_reviewer")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id} skipped response {self.response_id}"


class GoldItem(models.Model):
    """A response whose correct verdict is known and agreed, mixed into review unannounced.

    Reviewers' first verdicts on gold items measure their accuracy; only
    coordinators see the result.
    """

    response = models.OneToOneField(
        ModelResponse, on_delete=models.CASCADE, related_name="gold_item"
    )
    verdict = models.CharField(_("correct verdict"), max_length=16, choices=Review.Verdict.choices)
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("gold item")
        verbose_name_plural = _("gold items")

    def __str__(self) -> str:
        return f"gold response {self.response_id}"
