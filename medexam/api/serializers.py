"""Serializers of the API. Reviewers get their own, blinded, response serializer."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from medexam.models import (
    Endpoint,
    EvaluationRun,
    LanguageModel,
    Level,
    ModelResponse,
    PromptTemplate,
    Question,
    Specialty,
)
from medexam.question_checks import check_question, content_conflict
from review.models import Review


def _reject_null_characters(value: object) -> None:
    """Raise if a JSON value contains U+0000, which PostgreSQL cannot store in jsonb."""
    if isinstance(value, str):
        if "\x00" in value:
            raise serializers.ValidationError("Text must not contain the NUL character (U+0000).")
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_null_characters(key)
            _reject_null_characters(item)
    elif isinstance(value, list):
        for item in value:
            _reject_null_characters(item)


class SafeJSONField(serializers.JSONField):
    """A JSON field whose strings PostgreSQL can store."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        _reject_null_characters(value)
        return value


class QuestionSerializer(serializers.ModelSerializer):
    """A question with its answer key. Curators may write it; change_reason goes to its history.

    change_reason is required when an update changes the answer key.
    """

    specialty: Any = serializers.SlugRelatedField(
        slug_field="code", queryset=Specialty.objects.all(), allow_null=True, required=False
    )
    level: Any = serializers.SlugRelatedField(
        slug_field="code", queryset=Level.objects.all(), allow_null=True, required=False
    )
    options = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=5000),
        help_text='Option letter to text, e.g. {"A": "...", "B": "..."}; letters run from A.',
    )
    change_reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Why the question changed; required when the answer key changes.",
    )

    class Meta:
        model = Question
        fields = [
            "id",
            "stem",
            "options",
            "answer_key",
            "question_type",
            "explanation",
            "specialty",
            "level",
            "source",
            "source_id",
            "status",
            "validity",
            "content_hash",
            "near_duplicate_group",
            "created_at",
            "updated_at",
            "change_reason",
        ]
        read_only_fields = [
            "validity",
            "content_hash",
            "near_duplicate_group",
            "created_at",
            "updated_at",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        merged = {
            name: attrs.get(name, getattr(instance, name, None))
            for name in ("stem", "options", "answer_key", "question_type")
        }
        checked = check_question(
            stem=merged["stem"] or "",
            options=dict(merged["options"] or {}),
            answer_key=merged["answer_key"] or "",
            question_type=merged["question_type"] or Question.Type.SINGLE,
        )
        if checked.errors:
            errors: dict[str, list[str]] = {}
            for name, message in checked.errors:
                field = "options" if name.startswith("option") else name
                errors.setdefault(field, []).append(message)
            raise serializers.ValidationError(errors)
        if "options" in attrs:
            attrs["options"] = checked.options
        if "answer_key" in attrs:
            attrs["answer_key"] = checked.answer_key

        conflict = content_conflict(
            stem=merged["stem"] or "",
            options=checked.options,
            exclude_id=instance.pk if instance else None,
        )
        if conflict:
            raise serializers.ValidationError({"stem": [conflict]})
        key_changed = instance is not None and checked.answer_key != instance.answer_key
        if key_changed and not attrs.get("change_reason", "").strip():
            raise serializers.ValidationError(
                {"change_reason": ["Give a reason for changing the answer key."]}
            )
        return attrs


class LanguageModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = LanguageModel
        fields = [
            "id",
            "name",
            "family",
            "architecture",
            "total_params_b",
            "active_params_b",
            "params_source",
            "is_reasoning",
            "notes",
            "created_at",
        ]


class EndpointSerializer(serializers.ModelSerializer):
    """An endpoint for curators. Endpoint stores the key's variable name, never the key."""

    decoding = SafeJSONField(required=False)

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        merged = {
            name: attrs.get(name, getattr(self.instance, name, ""))
            for name in ("kind", "baseline", "base_url", "served_model_id")
        }
        if merged["kind"] == Endpoint.Kind.BASELINE and not merged["baseline"]:
            raise serializers.ValidationError({"baseline": "A baseline endpoint needs a baseline."})
        if merged["kind"] == Endpoint.Kind.OPENAI:
            missing = [name for name in ("base_url", "served_model_id") if not merged[name]]
            if missing:
                raise serializers.ValidationError(
                    {name: "Required for an OpenAI-compatible endpoint." for name in missing}
                )
        return attrs

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "model",
            "name",
            "kind",
            "baseline",
            "base_url",
            "served_model_id",
            "api_key_env",
            "decoding",
            "stream",
            "max_concurrency",
            "requests_per_minute",
            "tokens_per_minute",
            "timeout_s",
            "is_active",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = ["disabled_reason", "created_at"]


class EndpointPublicSerializer(EndpointSerializer):
    """An endpoint for coordinators: without the name of the key's environment variable."""

    class Meta(EndpointSerializer.Meta):
        fields = [name for name in EndpointSerializer.Meta.fields if name != "api_key_env"]


class PromptTemplateSerializer(serializers.ModelSerializer):
    content_hash = serializers.CharField(read_only=True)

    class Meta:
        model = PromptTemplate
        fields = ["id", "name", "version", "system_text", "user_template", "content_hash"]


class EvaluationRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = EvaluationRun
        fields = [
            "id",
            "name",
            "model",
            "endpoint",
            "prompt_template",
            "question_filter",
            "samples_per_question",
            "seed",
            "decoding",
            "shuffle_options",
            "reviews_per_response",
            "status",
            "error_message",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class QuestionFilterSerializer(serializers.Serializer):
    """The selection of active questions a run answers; every key is optional."""

    specialty = serializers.SlugRelatedField(
        slug_field="code", queryset=Specialty.objects.all(), required=False
    )
    level = serializers.SlugRelatedField(
        slug_field="code", queryset=Level.objects.all(), required=False
    )
    source = serializers.CharField(required=False, max_length=128)
    question_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        required=False,
        max_length=100_000,
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=10_000_000)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    f"Unknown keys {unknown}; use {', '.join(self.fields)}."
                )
        return super().to_internal_value(data)


class RunCreateSerializer(serializers.Serializer):
    """A new run of a model; it starts at once unless start is false."""

    model = serializers.PrimaryKeyRelatedField(queryset=LanguageModel.objects.all())
    endpoint = serializers.PrimaryKeyRelatedField(
        queryset=Endpoint.objects.all(),
        required=False,
        allow_null=True,
        help_text="Defaults to the model's first active endpoint.",
    )
    prompt_template = serializers.PrimaryKeyRelatedField(
        queryset=PromptTemplate.objects.all(),
        required=False,
        allow_null=True,
        help_text="Defaults to the built-in Chinese template.",
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    question_filter = QuestionFilterSerializer(required=False)
    samples_per_question = serializers.IntegerField(
        required=False, default=1, min_value=1, max_value=100
    )
    seed = serializers.IntegerField(
        required=False, allow_null=True, min_value=-(2**62), max_value=2**62
    )
    shuffle_options = serializers.BooleanField(required=False, default=False)
    decoding = SafeJSONField(
        required=False, help_text="Overrides the endpoint's decoding parameters for this run."
    )
    start = serializers.BooleanField(required=False, default=True)

    def validate_decoding(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError('Expected an object such as {"temperature": 0}.')
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        model = attrs["model"]
        endpoint = attrs.get("endpoint")
        if endpoint is not None:
            if endpoint.model_id != model.pk:
                raise serializers.ValidationError(
                    {"endpoint": [f"Endpoint {endpoint.pk} serves another model, not {model.pk}."]}
                )
            if not endpoint.is_active or endpoint.disabled_reason:
                raise serializers.ValidationError(
                    {"endpoint": [f"Endpoint {endpoint.pk} is inactive or disabled; fix it first."]}
                )
        elif not model.endpoints.filter(is_active=True).exists():
            raise serializers.ValidationError(
                {"model": [f"Model {model.pk} has no active endpoint; register one first."]}
            )
        return attrs


class ModelResponseSerializer(serializers.ModelSerializer):
    """A response with its run: for curators and coordinators."""

    class Meta:
        model = ModelResponse
        fields = [
            "id",
            "run",
            "question",
            "sample_index",
            "option_order",
            "state",
            "raw_text",
            "reasoning_text",
            "finish_reason",
            "prompt_tokens",
            "completion_tokens",
            "latency_ms",
            "attempts",
            "error",
            "served_model",
            "extracted_letters",
            "extraction_status",
            "extraction_rule",
            "extraction_version",
            "is_correct",
            "partial_score",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class BlindResponseSerializer(serializers.ModelSerializer):
    """A response as a reviewer sees it: no run, model, endpoint or served model name."""

    stem = serializers.CharField(source="question.stem", read_only=True)
    options = serializers.JSONField(source="question.options", read_only=True)

    class Meta:
        model = ModelResponse
        fields = ["id", "stem", "options", "option_order", "raw_text", "extracted_letters"]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    """A review, naming its reviewer by pseudonym only."""

    reviewer = serializers.CharField(source="reviewer.pseudonym", read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "response",
            "reviewer",
            "verdict",
            "verdict_after_key",
            "rating_factual",
            "rating_reasoning",
            "rating_safety",
            "flags",
            "comment",
            "time_on_task_ms",
            "submitted_at",
        ]
        read_only_fields = fields
