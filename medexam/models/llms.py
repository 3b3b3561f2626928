"""Language models under evaluation, the endpoints that serve them, prompt templates."""

from __future__ import annotations

import hashlib
import json

from django.db import models
from django.utils.translation import gettext_lazy as _


class LanguageModel(models.Model):
    """A model under evaluation (模型), or a built-in baseline labelled as such.

    Parameter counts are in billions and come from the model card named in
    params_source: accuracy against size is only as good as these fields.
    """

    class Architecture(models.TextChoices):
        DENSE = "dense", _("dense")
        MOE = "moe", _("mixture-of-experts")
        BASELINE = "baseline", _("baseline (not a language model)")

    name = models.CharField(_("name"), max_length=128, unique=True)
    family = models.CharField(_("family"), max_length=64, blank=True)
    architecture = models.CharField(
        _("architecture"), max_length=16, choices=Architecture.choices, default=Architecture.DENSE
    )
    total_params_b = models.FloatField(_("total parameters (billions)"), null=True, blank=True)
    active_params_b = models.FloatField(_("active parameters (billions)"), null=True, blank=True)
    params_source = models.CharField(_("source of parameter counts"), max_length=255, blank=True)
    is_reasoning = models.BooleanField(_("reasoning model"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("model")
        verbose_name_plural = _("models")

    def __str__(self) -> str:
        return self.name

    @property
    def is_baseline(self) -> bool:
        return self.architecture == self.Architecture.BASELINE


class Endpoint(models.Model):
    """Where and how a model is called: an OpenAI-compatible server, or a baseline.

    The API key is never stored: api_key_env names the environment variable
    that holds it on the worker.
    """

    class Kind(models.TextChoices):
        OPENAI = "openai", _("OpenAI-compatible server")
        BASELINE = "baseline", _("built-in baseline")

    class Baseline(models.TextChoices):
        CHANCE = "chance", _("chance (uniform random letter)")
        ALWAYS_A = "always_A", _("always A")
        ALWAYS_B = "always_B", _("always B")
        ALWAYS_C = "always_C", _("always C")
        ALWAYS_D = "always_D", _("always D")
        ALWAYS_E = "always_E", _("always E")

    model = models.ForeignKey(
        LanguageModel, verbose_name=_("model"), on_delete=models.CASCADE, related_name="endpoints"
    )
    name = models.CharField(_("name"), max_length=128, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OPENAI)
    baseline = models.CharField(_("baseline"), max_length=16, choices=Baseline.choices, blank=True)
    base_url = models.URLField(_("base URL"), max_length=500, blank=True)
    served_model_id = models.CharField(_("served model id"), max_length=255, blank=True)
    api_key_env = models.CharField(_("API key environment variable"), max_length=128, blank=True)
    # Decoding parameters sent with every request: temperature, top_p, max_tokens, ...
    decoding = models.JSONField(_("decoding parameters"), default=dict, blank=True)
    stream = models.BooleanField(_("stream responses"), default=False)
    max_concurrency = models.PositiveIntegerField(_("max requests in flight"), default=16)
    requests_per_minute = models.PositiveIntegerField(
        _("requests per minute"), null=True, blank=True
    )
    tokens_per_minute = models.PositiveIntegerField(_("tokens per minute"), null=True, blank=True)
    timeout_s = models.FloatField(_("request timeout (seconds)"), default=120.0)
    is_active = models.BooleanField(_("active"), default=True)
    # Set when a 400/401/404 stopped work on this endpoint; cleared by a curator.
    disabled_reason = models.TextField(_("disabled because"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("endpoint")
        verbose_name_plural = _("endpoints")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="baseline", baseline__gt="")
                | models.Q(kind="openai", base_url__gt="", served_model_id__gt=""),
                name="endpoint_kind_fields_present",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PromptTemplate(models.Model):
    """A versioned prompt. Placeholders: {stem}, {options}, {question_type}."""

    name = models.CharField(_("name"), max_length=128)
    version = models.PositiveIntegerField(_("version"), default=1)
    system_text = models.TextField(_("system prompt"), blank=True)
    user_template = models.TextField(_("user prompt template"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        verbose_name = _("prompt template")
        verbose_name_plural = _("prompt templates")
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="prompt_template_name_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def content_hash(self) -> str:
        """SHA-256 of the system and user text, recorded with every response."""
        payload = json.dumps([self.system_text, self.user_template], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
