"""Evaluation runs, the responses they produce, and every attempt behind a response."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from medexam.models.llms import Endpoint, LanguageModel, PromptTemplate
from medexam.models.questions import Question


class EvaluationRun(models.Model):
    """One model answering one question set with one prompt template (评测任务)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        PAUSED = "paused", _("paused")
        CANCELLED = "cancelled", _("cancelled")
        COMPLETED = "completed", _("completed")
        COMPLETED_WITH_ERRORS = "completed_with_errors", _("completed with errors")
        FAILED = "failed", _("failed")

    FINISHED = (Status.CANCELLED, Status.COMPLETED, Status.COMPLETED_WITH_ERRORS, Status.FAILED)

    name = models.CharField(_("name"), max_length=200, blank=True)
    model = models.ForeignKey(
        LanguageModel, verbose_name=_("model"), on_delete=models.PROTECT, related_name="runs"
    )
    endpoint = models.ForeignKey(
        Endpoint, verbose_name=_("endpoint"), on_delete=models.PROTECT, related_name="runs"
    )
    prompt_template = models.ForeignKey(
        PromptTemplate, verbose_name=_("prompt template"), on_delete=models.PROTECT
    )
    # The question set: the filter used to select it, for the record; the set
    # itself is the run's responses.
    question_filter = models.JSONField(_("question filter"), default=dict, blank=True)
    samples_per_question = models.PositiveSmallIntegerField(_("samples per question"), default=1)
    seed = models.BigIntegerField(_("seed"), null=True, blank=True)
    # Decoding parameters as sent: the endpoint's, overridden by the run's.
    decoding = models.JSONField(_("decoding parameters"), default=dict, blank=True)
    # Option-shuffling mode: each question is asked once per rotation of its options.
    shuffle_options = models.BooleanField(_("rotate options"), default=False)
    reviews_per_response = models.PositiveSmallIntegerField(_("reviewers per response"), default=3)
    status = models.CharField(
        _("status"), max_length=32, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    error_message = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("evaluation run")
        verbose_name_plural = _("evaluation runs")

    def __str__(self) -> str:
        return self.name or _("run %(id)s") % {"id": self.pk}


class ModelResponse(models.Model):
    """The single final outcome of one (run, question, sample): a model's answer or a failure."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Extraction(models.TextChoices):
        OK = "ok", _("ok")
        NO_ANSWER = "no_answer", _("no answer")
        AMBIGUOUS = "ambiguous", _("ambiguous")
        INVALID = "invalid", _("invalid")
        TRUNCATED = "truncated", _("truncated")
        ERROR = "error", _("error")

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="responses")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="responses")
    sample_index = models.PositiveSmallIntegerField(default=0)
    # Option order shown to the model, as original letters, e.g. "CDEAB"; empty means "ABCDE...".
    option_order = models.CharField(max_length=8, blank=True)

    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    raw_text = models.TextField(blank=True)
    reasoning_text = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    served_model = models.CharField(max_length=255, blank=True)
    prompt_hash = models.CharField(max_length=64, blank=True)
    decoding = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)

    # Extraction and scoring, recomputable from raw_text (letters in original lettering).
    extracted_letters = models.CharField(max_length=8, blank=True)
    extraction_status = models.CharField(max_length=16, choices=Extraction.choices, blank=True)
    extraction_rule = models.CharField(max_length=64, blank=True)
    extraction_version = models.CharField(max_length=16, blank=True)
    is_correct = models.BooleanField(null=True, blank=True)
    partial_score = models.FloatField(null=True, blank=True)

    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "question_id", "sample_index"]
        verbose_name = _("model response")
        verbose_name_plural = _("model responses")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "question", "sample_index"], name="response_one_per_sample"
            )
        ]
        indexes = [models.Index(fields=["run", "state"], name="response_run_state")]

    def __str__(self) -> str:
        return _("response %(id)s (run %(run)s, question %(question)s)") % {
            "id": self.pk,
            "run": self.run_id,
            "question": self.question_id,
        }


class Attempt(models.Model):
    """One call to a model server on behalf of a response: the audit trail."""

    class Outcome(models.TextChoices):
        OK = "ok", _("ok")
        TIMEOUT = "timeout", _("timed out")
        CONNECTION_ERROR = "connection_error", _("connection error")
        RATE_LIMITED = "rate_limited", _("rate limited")
        SERVER_ERROR = "server_error", _("server error")
        CLIENT_ERROR = "client_error", _("client error")
        STREAM_BROKEN = "stream_broken", _("stream broken")
        OTHER = "other", _("other error")

    response = models.ForeignKey(
        ModelResponse, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=32, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField()

    class Meta:
        ordering = ["response_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["response", "number"], name="attempt_number_unique")
        ]

    def __str__(self) -> str:
        return _("attempt %(number)s of response %(response)s") % {
            "number": self.number,
            "response": self.response_id,
        }
