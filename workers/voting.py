"""Majority vote over several samples of one question."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def majority_vote(answers: Iterable[str]) -> str | None:
    """Return the most frequent non-empty answer, or None if there is none or a tie.

    Each answer is a string of letters ("A", "ACD"), compared as a set, so
    "CA" and "AC" count as the same answer.
    """
    counts = Counter("".join(sorted(set(answer))) for answer in answers if answer)
    if not counts:
        return None
    ranked = counts.most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]
