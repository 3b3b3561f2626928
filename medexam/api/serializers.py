"""Serializers of the API. Reviewers get their own, blinded, response serializer."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from medexam.models import (
    Endpoint,
    EvaluationRun,
    LanguageModel,
    ModelResponse,
    PromptTemplate,
    Question,
)
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
    specialty: Any = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    level: Any = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

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
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "stem",
            "options",
            "answer_key",
            "question_type",
            "source",
            "source_id",
            "validity",
            "content_hash",
            "created_at",
            "updated_at",
        ]


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
