"""Scoring: one response against the answer key, and a model over many responses.

Failures stay in the denominator: a response that produced no readable answer
(no_answer, ambiguous, invalid, truncated), hit an error, or never finished
(failed) counts as wrong, and the rate of each failure is reported beside the
accuracy so a model that refuses to answer cannot look better than one that guesses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

OK = "ok"
# Every outcome that is not a readable answer, in the order reports list them.
FAILURE_STATUSES = ("no_answer", "ambiguous", "invalid", "truncated", "error", "failed")


@dataclass(frozen=True)
class Score:
    is_correct: bool
    partial: float


@dataclass(frozen=True)
class Outcome:
    """The scored result of one question for one model: a status and, when ok, the letters."""

    status: str
    letters: str = ""
    is_correct: bool = False
    partial: float = 0.0


@dataclass
class ModelScore:
    """Accuracy of a set of outcomes, with every failure kept in the denominator."""

    total: int = 0
    correct: int = 0
    partial_sum: float = 0.0
    failures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAILURE_STATUSES, 0))

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    @property
    def partial_mean(self) -> float | None:
        return self.partial_sum / self.total if self.total else None

    @property
    def failure_count(self) -> int:
        return sum(self.failures.values())

    @property
    def failure_rate(self) -> float | None:
        return self.failure_count / self.total if self.total else None

    def failure_rates(self) -> dict[str, float | None]:
        return {
            status: (count / self.total if self.total else None)
            for status, count in self.failures.items()
        }


def score_letters(chosen: str, answer_key: str) -> Score:
    """Score chosen letters by exact set match, with partial credit as a second figure.

    Partial credit is the Jaccard overlap of the chosen and keyed letter sets,
    so a reply that adds a wrong letter loses credit as one that omits a right one.
    """
    chosen_set, key_set = set(chosen), set(answer_key)
    if not chosen_set:
        return Score(False, 0.0)
    overlap = len(chosen_set & key_set) / len(chosen_set | key_set)
    return Score(chosen_set == key_set, overlap)


def outcome_for_response(
    *, state: str, extraction_status: str, letters: str, answer_key: str
) -> Outcome:
    """Score one stored response; a response that never finished counts as "failed"."""
    if state != "done":
        return Outcome("failed")
    if extraction_status != OK:
        return Outcome(extraction_status or "error")
    score = score_letters(letters, answer_key)
    return Outcome(OK, letters, score.is_correct, score.partial)


def majority_vote(samples: Sequence[Outcome], *, answer_key: str) -> Outcome:
    """Combine several samples of one question into one outcome by majority of letters.

    Only readable (ok) samples vote. A tie between letter sets is "ambiguous";
    when no sample is readable, the most frequent failure status is the outcome.
    """
    if not samples:
        return Outcome("failed")
    votes = Counter(sample.letters for sample in samples if sample.status == OK)
    if not votes:
        failures = Counter(sample.status for sample in samples)
        return Outcome(_most_common_failure(failures))

    ranked = votes.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return Outcome("ambiguous")
    letters = ranked[0][0]
    score = score_letters(letters, answer_key)
    return Outcome(OK, letters, score.is_correct, score.partial)


def _most_common_failure(failures: Counter[str]) -> str:
    # Break ties by the reporting order so the result does not depend on sample order.
    best = max(failures.values())
    for status in FAILURE_STATUSES:
        if failures.get(status) == best:
            return status
    return "error"


def score_outcomes(outcomes: Iterable[Outcome]) -> ModelScore:
    """Add outcomes up into accuracy, partial credit and failure counts."""
    result = ModelScore()
    for outcome in outcomes:
        result.total += 1
        if outcome.status == OK:
            result.correct += int(outcome.is_correct)
            result.partial_sum += outcome.partial
        else:
            status = outcome.status if outcome.status in result.failures else "error"
            result.failures[status] += 1
    return result
