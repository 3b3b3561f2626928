"""Query filters of the API (django-filter)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _

from medexam.models import Level, ModelResponse, Question, Specialty


class CodeField(forms.CharField):
    """A Specialty or Level code. An unknown code is invalid, and the error lists the known ones."""

    def __init__(self, *args: object, model: type[Model], **kwargs: object) -> None:
        self.model = model
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def validate(self, value: str) -> None:
        super().validate(value)
        if not value:
            return
        codes = list(self.model._default_manager.order_by("code").values_list("code", flat=True))
        if value not in codes:
            raise forms.ValidationError(
                _("Unknown code “%(value)s”; valid codes are: %(codes)s.")
                % {"value": value, "codes": ", ".join(codes) or _("none yet")},
                code="invalid_choice",
            )


class CodeFilter(django_filters.CharFilter):
    field_class = CodeField


class QuestionFilter(django_filters.FilterSet):
    specialty = CodeFilter(field_name="specialty__code", model=Specialty)
    level = CodeFilter(field_name="level__code", model=Level)
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
