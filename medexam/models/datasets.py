"""Validity rules and immutable, versioned exports of the validated question set."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from medexam.models.questions import Question


class ValidityRuleSet(models.Model):
    """Rules that turn reviews, agreement and flags into an item's validity status."""

    name = models.CharField(_("name"), max_length=128, unique=True)
    min_reviews = models.PositiveSmallIntegerField(_("minimum reviews per item"), default=3)
    min_item_agreement = models.FloatField(_("minimum agreement per item"), default=0.67)
    # A flag counts as confirmed when at least this share of the item's reviewers raised it.
    min_flag_share = models.FloatField(
        _("minimum share of reviewers to confirm a flag"), default=0.5
    )
    # Flag code -> action, e.g. {"wrong_key": "adjudicate", "ambiguous": "exclude"}.
    flag_actions = models.JSONField(_("flag actions"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("validity rule set")
        verbose_name_plural = _("validity rule sets")

    def __str__(self) -> str:
        return self.name


class DatasetVersion(models.Model):
    """An immutable snapshot of items, keys after adjudication, review summaries and rules."""

    name = models.CharField(_("name"), max_length=128)
    version = models.PositiveIntegerField(_("version"))
    rules = models.JSONField(_("rules used"), default=dict)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64)
    item_count = models.PositiveIntegerField(_("items"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        verbose_name = _("dataset version")
        verbose_name_plural = _("dataset versions")
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="dataset_name_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class DatasetItem(models.Model):
    """One question as frozen in a dataset version."""

    dataset = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="items")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="dataset_items")
    # The exported record: stem, options, key after adjudication, validity, review summary.
    record = models.JSONField()

    class Meta:
        ordering = ["dataset_id", "question_id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "question"], name="dataset_item_unique")
        ]

    def __str__(self) -> str:
        return f"question {self.question_id} in dataset {self.dataset_id}"
