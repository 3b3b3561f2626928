"""Questions and the tables that classify them (specialties, levels)."""

from __future__ import annotations

import hashlib
import unicodedata

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

OPTION_LETTERS = "ABCDEFGH"


class Specialty(models.Model):
    """A clinical specialty (专科). Data, not code: a deployment adds its own."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64)
    # Words in a stem that suggest this specialty to a curator.
    keywords = models.JSONField(_("keywords"), default=list, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")

    def __str__(self) -> str:
        return f"{self.name_zh} ({self.name_en})"


class Level(models.Model):
    """A professional level (职称级别), e.g. attending 主治医师 or senior 副主任/主任医师."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64)
    rank = models.PositiveSmallIntegerField(_("rank"), default=0)

    class Meta:
        ordering = ["rank", "code"]
        verbose_name = _("level")
        verbose_name_plural = _("levels")

    def __str__(self) -> str:
        return f"{self.name_zh} ({self.name_en})"


def normalise_text(text: str) -> str:
    """Fold full-width forms and whitespace so trivially different copies compare equal."""
    folded = unicodedata.normalize("NFKC", text)
    return " ".join(folded.split())


def compute_content_hash(stem: str, options: dict[str, str]) -> str:
    """Hash a question's stem and options in letter order (SHA-256, hex)."""
    parts = [normalise_text(stem)]
    parts.extend(f"{letter}\x1f{normalise_text(options[letter])}" for letter in sorted(options))
    return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()


class Question(models.Model):
    """A multiple-choice exam question (题目)."""

    class Type(models.TextChoices):
        SINGLE = "single", _("single-answer")
        MULTIPLE = "multiple", _("multiple-answer")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        ACTIVE = "active", _("active")
        RETIRED = "retired", _("retired")

    class Validity(models.TextChoices):
        NOT_REVIEWED = "not_reviewed", _("not yet reviewed")
        VALIDATED = "validated", _("validated")
        DISPUTED = "disputed", _("disputed")
        EXCLUDED = "excluded", _("excluded")

    stem = models.TextField(_("stem"))
    # Letter -> option text, e.g. {"A": "...", "B": "..."}; letters are contiguous from A.
    options = models.JSONField(_("options"))
    answer_key = models.CharField(_("answer key"), max_length=8)
    question_type = models.CharField(
        _("question type"), max_length=16, choices=Type.choices, default=Type.SINGLE
    )
    explanation = models.TextField(_("explanation"), blank=True)
    specialty = models.ForeignKey(
        Specialty,
        verbose_name=_("specialty"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="questions",
    )
    suggested_specialty = models.ForeignKey(
        Specialty,
        verbose_name=_("suggested specialty"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suggested_questions",
    )
    level = models.ForeignKey(
        Level,
        verbose_name=_("level"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="questions",
    )
    source = models.CharField(_("source"), max_length=128, blank=True, db_index=True)
    source_id = models.CharField(_("source id"), max_length=128, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    validity = models.CharField(
        _("validity"),
        max_length=16,
        choices=Validity.choices,
        default=Validity.NOT_REVIEWED,
        db_index=True,
    )
    validity_reasons = models.JSONField(_("validity reasons"), default=list, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64, unique=True)
    # MinHash signature of the stem (medexam.near_duplicates); empty until computed.
    # Whoever changes the stem must recompute it (services.questions does).
    stem_signature = models.BinaryField(_("stem signature"), default=b"", editable=False)
    # Lowest question id of the group of near-duplicate stems this question is in,
    # and the best similarity inside that group; set by near_duplicates_refresh.
    near_duplicate_group = models.PositiveIntegerField(
        _("near-duplicate group"), null=True, blank=True, db_index=True, editable=False
    )
    near_duplicate_similarity = models.FloatField(
        _("near-duplicate similarity"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(answer_key=""), name="question_answer_key_not_empty"
            ),
        ]

    def __str__(self) -> str:
        stem = self.stem if len(self.stem) <= 40 else self.stem[:40] + "…"
        return f"#{self.pk} {stem}"

    @property
    def letters(self) -> str:
        """The offered option letters in order, e.g. "ABCDE"."""
        return "".join(sorted(self.options))


class QuestionChange(models.Model):
    """One changed field of a question: who, when, old and new value, and why."""

    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="changes"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    field = models.CharField(_("field"), max_length=64)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("question change")
        verbose_name_plural = _("question changes")

    def __str__(self) -> str:
        return _("%(field)s of question %(question)s") % {
            "field": self.field,
            "question": self.question_id,
        }


class ImportJob(models.Model):
    """One import of a question file, with its progress and row-level errors."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    source_name = models.CharField(_("source name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=32)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    rows_total = models.PositiveIntegerField(_("rows in file"), default=0)
    rows_done = models.PositiveIntegerField(_("rows read"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    # [{"line": 12, "field": "answer", "reason": "..."}]
    errors = models.JSONField(_("rejected rows"), default=list, blank=True)
    # Rows repeating an earlier row of the same file exactly (stem, options and key).
    duplicate_count = models.PositiveIntegerField(_("duplicates in file"), default=0)
    # Groups of nearly equal stems for a curator to check: [{"lines": [...], ...}].
    near_duplicates = models.JSONField(_("near-duplicates"), default=list, blank=True)
    # Where the file is and how to read it, so a background worker can run the job.
    file_path = models.CharField(_("file path"), max_length=1000, blank=True)
    parameters = models.JSONField(_("import options"), default=dict, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return _("import %(id)s of %(file)s") % {"id": self.pk, "file": self.source_name}
