"""Readable, translated labels for codes stored in reviews."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from review.models import Review

register = template.Library()


@register.filter
def flag_labels(codes: Iterable[str]) -> str:
    """Join the translated labels of question flag codes; an unknown code is shown as is."""
    labels = dict(Review.Flag.choices)
    return ", ".join(str(labels.get(code, code)) for code in sorted(codes))


@register.filter
def verdict_counts(counts: dict[str, int]) -> str:
    """Describe how many reviews end with each verdict, e.g. "correct 2, incorrect 1"."""
    parts = [
        _("%(verdict)s %(count)d") % {"verdict": label, "count": counts[code]}
        for code, label in Review.Verdict.choices
        if counts.get(code)
    ]
    return pgettext("list separator", ", ").join(parts)


@register.filter
def flag_counts(counts: dict[str, int]) -> str:
    """Describe how many reviews raised each question flag, e.g. "ambiguous question ×2"."""
    labels = dict(Review.Flag.choices)
    parts = [
        _("%(flag)s ×%(count)d") % {"flag": labels.get(code, code), "count": counts[code]}
        for code in sorted(counts)
    ]
    return pgettext("list separator", ", ").join(parts)


def _share(value: Any) -> Any:
    # Agreement is stored unrounded; two decimals are what a reader compares.
    return round(value, 2) if isinstance(value, float) else value


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
                % {
                    "agreement": _share(reason.get("agreement")),
                    "required": _share(reason.get("required")),
                }
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
