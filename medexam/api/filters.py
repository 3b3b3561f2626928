"""Query filters of the API (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from medexam.models import ModelResponse, Question


class QuestionFilter(django_filters.FilterSet):
    specialty = django_filters.CharFilter(field_name="specialty__code")
    level = django_filters.CharFilter(field_name="level__code")
    search = django_filters.CharFilter(method="filter_search", label="Text in the stem or options")

    class Meta:
        model = Question
        fields = ["specialty", "level", "question_type", "status", "validity", "source"]

    def filter_search(
        self, queryset: QuerySet[Question], name: str, value: str
    ) -> QuerySet[Question]:
        # Chinese has no word boundaries, so this is a substring match.
        return queryset.filter(Q(stem__icontains=value) | Q(options__icontains=value))


class ModelResponseFilter(django_filters.FilterSet):
    class Meta:
        model = ModelResponse
        fields = ["run", "question", "state", "extraction_status", "is_correct"]
