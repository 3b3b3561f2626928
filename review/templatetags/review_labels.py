"""Readable, translated labels for codes stored in reviews."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from review.models import Review

register = template.Library()


@register.filter
def flag_labels(codes: Iterable[str]) -> str:
    """Join the translated labels of question flag codes; an unknown code is shown as is."""
    labels = dict(Review.Flag.choices)
    return ", ".join(str(labels.get(code, code)) for code in sorted(codes))


@register.filter
def dispute_labels(reasons: Iterable[dict[str, Any]]) -> str:
    """Describe why validity marks a question disputed, from its validity_reasons."""
    flags = dict(Review.Flag.choices)
    labels = []
    for reason in reasons:
        code = reason.get("code")
        if code == "low_agreement":
            labels.append(
                _("first-verdict agreement %(agreement)s, below %(required)s")
                % {"agreement": reason.get("agreement"), "required": reason.get("required")}
            )
        elif code == "flag_needs_adjudication":
            flag = reason.get("flag", "")
            labels.append(_("confirmed flag: %(flag)s") % {"flag": flags.get(flag, flag)})
    return "; ".join(labels)


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
