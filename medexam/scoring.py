"""Scoring of one response against the answer key."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    is_correct: bool
    partial: float


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
