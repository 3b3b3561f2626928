"""Readable, translated labels for codes stored in reviews."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from review.models import Review

register = template.Library()


@register.filter
def flag_labels(codes: Iterable[str]) -> str:
    """Join the translated labels of question flag codes; an unknown code is shown as is."""
    labels = dict(Review.Flag.choices)
    return ", ".join(str(labels.get(code, code)) for code in sorted(codes))
