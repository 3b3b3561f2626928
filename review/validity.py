"""Item validity: rules turn reviews, agreement, flags and adjudications into a status.

The rules come from a ValidityRuleSet that a coordinator sets. Adjudication is
the last word: an excluded question stays excluded, and a corrected or kept
question is validated whatever the reviews said. Without adjudication, a
question needs enough reviewers, no confirmed flag whose action is "exclude"
or "adjudicate", and verdict agreement at or above the rule set's minimum.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import transaction

from medexam.models import Question, ValidityRuleSet
from review.agreement_report import item_summaries, review_rows
from review.models import Adjudication

logger = logging.getLogger(__name__)

Validity = Question.Validity
Decision = Adjudication.Decision

# What a confirmed flag does when the rule set does not say.
DEFAULT_FLAG_ACTIONS = {
    "wrong_key": "adjudicate",
    "ambiguous": "exclude",
    "multiple_correct": "adjudicate",
    "outdated": "adjudicate",
    "wrong_specialty": "ignore",
}
FLAG_ACTIONS = ("adjudicate", "exclude", "ignore")
QUESTION_DECISIONS = (Decision.KEY_CORRECTED, Decision.QUESTION_EXCLUDED, Decision.QUESTION_KEPT)
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class Rules:
    """The parts of a ValidityRuleSet that decide an item's status."""

    min_reviews: int = 3
    min_item_agreement: float = 0.67
    min_flag_share: float = 0.5
    flag_actions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FLAG_ACTIONS))

    @classmethod
    def from_rule_set(cls, rule_set: ValidityRuleSet) -> Rules:
        actions = dict(DEFAULT_FLAG_ACTIONS)
        actions.update(rule_set.flag_actions or {})
        for flag, action in actions.items():
            if action not in FLAG_ACTIONS:
                raise ValueError(
                    f"Rule set {rule_set.name!r}: flag {flag!r} has invalid action {action!r}; "
                    f"use one of {', '.join(FLAG_ACTIONS)}."
                )
        return cls(
            min_reviews=rule_set.min_reviews,
            min_item_agreement=rule_set.min_item_agreement,
            min_flag_share=rule_set.min_flag_share,
            flag_actions=actions,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_reviews": self.min_reviews,
            "min_item_agreement": self.min_item_agreement,
            "min_flag_share": self.min_flag_share,
            "flag_actions": dict(sorted(self.flag_actions.items())),
        }


class QuestionDecision(NamedTuple):
    """A question's latest question-level adjudication."""

    decision: str
    corrected_key: str
    reason: str
    adjudication_id: int


# Status and reason code that each question-level decision gives.
_DECISION_OUTCOMES = {
    Decision.QUESTION_EXCLUDED: (Validity.EXCLUDED, "excluded_by_adjudication"),
    Decision.KEY_CORRECTED: (Validity.VALIDATED, "key_corrected_by_adjudication"),
    Decision.QUESTION_KEPT: (Validity.VALIDATED, "kept_by_adjudication"),
}


def _reason(code: str, **detail: Any) -> dict[str, Any]:
    return {"code": code, **detail}


def decide_validity(
    summary: dict[str, Any] | None,
    decision: str | QuestionDecision | None,
    rules: Rules,
) -> tuple[str, list[dict[str, Any]]]:
    """Decide one question's status and reasons.

    summary is the question's entry from review.agreement_report.item_summaries (None
    when nobody reviewed it); decision is its latest question-level adjudication,
    as a QuestionDecision or as a bare decision code. With a QuestionDecision the
    reason names the adjudication and quotes the adjudicator's reason.
    """
    code = decision.decision if isinstance(decision, QuestionDecision) else decision
    if code in _DECISION_OUTCOMES:
        status, reason_code = _DECISION_OUTCOMES[code]
        if isinstance(decision, QuestionDecision):
            return status, [
                _reason(
                    reason_code,
                    adjudication=decision.adjudication_id,
                    reason=decision.reason,
                )
            ]
        return status, [_reason(reason_code)]
    if not summary:
        return Validity.NOT_REVIEWED, [_reason("no_reviews")]

    reviewers = summary["reviewers"]
    if reviewers < rules.min_reviews:
        return Validity.NOT_REVIEWED, [
            _reason("too_few_reviews", reviewers=reviewers, required=rules.min_reviews)
        ]

    reasons = []
    status = Validity.VALIDATED
    for flag, count in sorted(summary["flags"].items()):
        share = count / reviewers
        action = rules.flag_actions.get(flag, "ignore")
        if share < rules.min_flag_share or action == "ignore":
            continue
        if action == "exclude":
            status = Validity.EXCLUDED
            reasons.append(_reason("flag_excludes", flag=flag, share=round(share, 4)))
        elif status != Validity.EXCLUDED:
            status = Validity.DISPUTED
            reasons.append(_reason("flag_needs_adjudication", flag=flag, share=round(share, 4)))

    agreement = summary["verdict_agreement"]
    if agreement is not None and agreement < rules.min_item_agreement:
        if status == Validity.VALIDATED:
            status = Validity.DISPUTED
        reasons.append(
            _reason("low_agreement", agreement=agreement, required=rules.min_item_agreement)
        )
    if status == Validity.VALIDATED:
        reasons.append(_reason("rules_met", reviewers=reviewers, agreement=agreement))
    return status, reasons


def latest_decisions(question_ids: list[int]) -> dict[int, QuestionDecision]:
    """Return each question's latest question-level adjudication, by question id."""
    latest: dict[int, QuestionDecision] = {}
    rows = (
        Adjudication.objects.filter(question_id__in=question_ids, decision__in=QUESTION_DECISIONS)
        .order_by("question_id", "-decided_at", "-id")
        .values_list("question_id", "decision", "corrected_key", "reason", "id")
    )
    for question_id, decision, corrected_key, reason, adjudication_id in rows:
        latest.setdefault(
            question_id, QuestionDecision(decision, corrected_key, reason, adjudication_id)
        )
    return latest


def validity_apply(*, rule_set_id: int, question_ids: list[int] | None = None) -> dict[str, int]:
    """Recompute Question.validity and validity_reasons under a rule set.

    Every question is recomputed, or only those in question_ids. Questions
    are processed in chunks so memory stays bounded; returns the number of
    questions per status.
    """
    rule_set = ValidityRuleSet.objects.get(pk=rule_set_id)
    rules = Rules.from_rule_set(rule_set)
    started = time.monotonic()
    logger.info("validity apply started rule_set=%s", rule_set_id)

    counts: Counter[str] = Counter()
    questions = Question.objects.order_by("id")
    if question_ids is not None:
        questions = questions.filter(id__in=question_ids)
    ids = list(questions.values_list("id", flat=True))
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk_ids = ids[start : start + CHUNK_SIZE]
        # The row locks make two refreshes of one question run one after the
        # other, so the later one reads the reviews the earlier one missed.
        with transaction.atomic():
            chunk = list(
                Question.objects.select_for_update().filter(id__in=chunk_ids).order_by("id").only("id")
            )
            summaries = item_summaries(review_rows(question_ids=chunk_ids))
            decisions = latest_decisions(chunk_ids)
            for question in chunk:
                decision = decisions.get(question.id)
                status, reasons = decide_validity(summaries.get(question.id), decision, rules)
                question.validity = status
                question.validity_reasons = [{**r, "rule_set": rule_set.name} for r in reasons]
                counts[status] += 1
            Question.objects.bulk_update(chunk, ["validity", "validity_reasons"])

    logger.info(
        "validity apply finished rule_set=%s questions=%d counts=%s took %.0f ms",
        rule_set_id,
        len(ids),
        dict(counts),
        (time.monotonic() - started) * 1000,
    )
    return dict(counts)


def sole_rule_set() -> ValidityRuleSet | None:
    """Return the only validity rule set, or None when there is none or more than one.

    export_dataset picks a rule set the same way when none is named.
    """
    rule_sets = list(ValidityRuleSet.objects.order_by("name")[:2])
    return rule_sets[0] if len(rule_sets) == 1 else None


def validity_apply_adjudication(*, question_id: int) -> str | None:
    """Set a question's status from its latest question-level adjudication, without a rule set.

    Adjudication is the last word, so its outcome need not wait for the next
    validity_apply. Returns the new status, or None and changes nothing when
    the question has no question-level decision.
    """
    decision = latest_decisions([question_id]).get(question_id)
    if decision is None:
        return None
    status, reasons = decide_validity(None, decision, Rules())
    Question.objects.filter(id=question_id).update(validity=status, validity_reasons=reasons)
    logger.info(
        "question %d is %s by adjudication %d", question_id, status, decision.adjudication_id
    )
    return status


def adjudicated_keys(question_ids: list[int]) -> dict[int, str]:
    """Return the corrected answer key of each question whose key adjudication changed."""
    return {
        question_id: latest.corrected_key
        for question_id, latest in latest_decisions(question_ids).items()
        if latest.decision == Decision.KEY_CORRECTED and latest.corrected_key
    }

