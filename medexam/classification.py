"""Specialty suggestions from keyword rules stored on each Specialty row.

The rules are data (Specialty.keywords), edited by curators in the admin.
A suggestion fills Question.suggested_specialty only; the specialty itself is
set by a curator who confirms or corrects it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from medexam.models import Question, Specialty
from medexam.models.questions import normalise_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpecialtyRule:
    specialty_id: int
    keywords: tuple[str, ...]


def load_rules(specialties: Iterable[Specialty] | None = None) -> list[SpecialtyRule]:
    """Read every specialty's keywords into rules, normalised as stems are."""
    rows = specialties if specialties is not None else Specialty.objects.all()
    rules = []
    for specialty in rows:
        keywords = tuple(
            normalise_text(str(word)) for word in (specialty.keywords or []) if str(word).strip()
        )
        if keywords:
            rules.append(SpecialtyRule(specialty.pk, keywords))
    return rules


def suggest_specialty(text: str, rules: Sequence[SpecialtyRule]) -> int | None:
    """Return the id of the specialty whose keywords cover most of text, or None.

    Each distinct keyword found counts its length in characters, so "心肌梗死"
    weighs more than "癌". A tie between specialties suggests nothing, because
    a curator would have to choose anyway.
    """
    folded = normalise_text(text)
    scores: dict[int, int] = {}
    for rule in rules:
        weight = sum(len(word) for word in rule.keywords if word in folded)
        if weight:
            scores[rule.specialty_id] = weight
    if not scores:
        return None

    best = max(scores.values())
    leaders = [specialty_id for specialty_id, weight in scores.items() if weight == best]
    return leaders[0] if len(leaders) == 1 else None


def questions_suggest_specialty(
    *, questions: QuerySet[Question] | None = None, batch_size: int = 1000
) -> int:
    """Fill suggested_specialty for questions without a confirmed specialty.

    Returns how many questions had their suggestion changed. Never writes
    Question.specialty.
    """
    started = time.monotonic()
    rules = load_rules()
    base = questions if questions is not None else Question.objects.all()
    pending = base.filter(specialty__isnull=True).only("id", "stem", "suggested_specialty_id")

    changed: list[Question] = []
    for question in pending.iterator(chunk_size=batch_size):
        suggestion = suggest_specialty(question.stem, rules)
        if suggestion != question.suggested_specialty_id:
            question.suggested_specialty_id = suggestion
            changed.append(question)
    Question.objects.bulk_update(changed, ["suggested_specialty"], batch_size=batch_size)

    logger.info(
        "specialty suggestions written changed=%d rules=%d elapsed_ms=%d",
        len(changed),
        len(rules),
        (time.monotonic() - started) * 1000,
    )
    return len(changed)
