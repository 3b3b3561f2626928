"""Readable, translated labels for codes stored in reviews."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.translation import get_language

from review.models import Review

register = template.Library()


@register.filter
def flag_labels(codes: Iterable[str]) -> str:
    """Join the translated labels of question flag codes; an unknown code is shown as is."""
    labels = dict(Review.Flag.choices)
    return ", ".join(str(labels.get(code, code)) for code in sorted(codes))


def name_for_language(chinese: str, english: str) -> str:
    """Return the Chinese name on a Chinese page and the English one otherwise.

    An empty name is replaced by the other one.
    """
    if (get_language() or "").startswith("zh"):
        return chinese or english
    return english or chinese


@register.simple_tag
def localized_name(chinese: str, english: str) -> str:
    """Show a specialty's or level's name in the page's language."""
    return name_for_language(chinese, english)
