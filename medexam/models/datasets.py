"""Validity rules and immutable, versioned exports of the validated question set."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext, pgettext_lazy
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

    @property
    def display_name(self) -> str:
        """Name shown on pages: a rule set created by a migration gets a translated label."""
        label = SEEDED_RULE_SET_LABELS.get(self.name)
        if label is None or str(label) == self.name:
            return self.name
        return gettext("%(label)s (%(name)s)") % {"label": label, "name": self.name}


# Labels of the rule sets that migrations create; the stored name, which
# export_dataset --rule-set takes, stays as it is.
SEEDED_RULE_SET_LABELS = {"standard": pgettext_lazy("validity rule set", "standard")}


class ImmutableVersionError(ValidationError):
    """Raised on an attempt to change or delete a published dataset version or its items."""


class DatasetVersion(models.Model):
    """An immutable snapshot of items, keys after adjudication, review summaries and rules.

    A version is requested (pending), built by a Celery worker (building), and
    then published or failed. Once published, save() and delete() raise
    ImmutableVersionError. QuerySet.update() and raw SQL bypass that guard, and
    dataset_version_verify detects changed items by their content hash.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for a worker")
        BUILDING = "building", _("building")
        PUBLISHED = "published", _("published")
        FAILED = "failed", _("failed")

    name = models.CharField(_("name"), max_length=128)
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    # The rule set the build applies; the rules themselves are copied into `rules`.
    rule_set = models.ForeignKey(
        ValidityRuleSet,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="versions",
        verbose_name=_("validity rule set"),
    )
    validated_only = models.BooleanField(_("validated items only"), default=True)
    bootstrap_samples = models.PositiveIntegerField(_("bootstrap resamples"), default=1000)
    resampling = models.CharField(_("bootstrap resampling"), max_length=16, default="units")
    rules = models.JSONField(_("rules used"), default=dict)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True)
    item_count = models.PositiveIntegerField(_("items"), default=0)
    items_total = models.PositiveIntegerField(_("items to freeze"), default=0)
    error_message = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["name", "-version"]
        verbose_name = _("dataset version")
        verbose_name_plural = _("dataset versions")
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="dataset_name_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The guard reads the stored row, so a published version cannot be
        # changed through an instance loaded before it was published either.
        if self._stored_status() == self.Status.PUBLISHED and self._changed_fields():
            raise ImmutableVersionError(
                _(
                    "Dataset version %(version)s is published and cannot be changed; "
                    "create a new version instead."
                )
                % {"version": self}
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if self._stored_status() == self.Status.PUBLISHED:
            raise ImmutableVersionError(
                _("Dataset version %(version)s is published and cannot be deleted.")
                % {"version": self}
            )
        return super().delete(*args, **kwargs)

    def _stored_status(self) -> str | None:
        if self.pk is None:
            return None
        return DatasetVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()

    def _changed_fields(self) -> list[str]:
        names = [field.attname for field in self._meta.concrete_fields]
        stored = DatasetVersion.objects.filter(pk=self.pk).values(*names).first() or {}
        return [name for name in names if stored.get(name) != getattr(self, name)]


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
        return _("question %(question)s in dataset %(dataset)s") % {
            "question": self.question_id,
            "dataset": self.dataset_id,
        }

    def save(self, *args: Any, **kwargs: Any) -> None:
        published = DatasetVersion.objects.filter(
            pk=self.dataset_id, status=DatasetVersion.Status.PUBLISHED
        ).exists()
        if published:
            raise ImmutableVersionError(
                _("Items of a published dataset version cannot be changed.")
            )
        super().save(*args, **kwargs)
