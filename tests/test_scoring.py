"""Scoring of single responses, majority votes and model totals."""

from __future__ import annotations

import pytest

from medexam.scoring import (
    Outcome,
    majority_vote,
    outcome_for_response,
    score_letters,
    score_outcomes,
)


def test_score_exact_match():
    assert score_letters("ACD", "ACD").is_correct


def test_score_partial_credit():
    # {A, C} against {A, C, D}: overlap 2, union 3.
    assert score_letters("AC", "ACD").partial == pytest.approx(2 / 3)


def test_score_superset_wrong():
    assert not score_letters("ABCD", "ACD").is_correct


def test_score_empty_choice():
    assert score_letters("", "A").partial == 0.0


def test_outcome_failed_state():
    outcome = outcome_for_response(state="failed", extraction_status="", letters="", answer_key="A")
    assert outcome.status == "failed"


def test_outcome_extraction_failure():
    outcome = outcome_for_response(
        state="done", extraction_status="truncated", letters="", answer_key="A"
    )
    assert outcome.status == "truncated"


def test_outcome_correct():
    outcome = outcome_for_response(
        state="done", extraction_status="ok", letters="B", answer_key="B"
    )
    assert outcome.is_correct


def test_majority_vote_picks_majority():
    samples = [Outcome("ok", "B"), Outcome("ok", "B"), Outcome("ok", "C")]
    assert majority_vote(samples, answer_key="B").letters == "B"


def test_majority_vote_scores_winner():
    samples = [Outcome("ok", "B"), Outcome("ok", "B"), Outcome("no_answer")]
    assert majority_vote(samples, answer_key="B").is_correct


def test_majority_vote_tie_ambiguous():
    samples = [Outcome("ok", "B"), Outcome("ok", "C")]
    assert majority_vote(samples, answer_key="B").status == "ambiguous"


def test_majority_vote_all_failed():
    samples = [Outcome("truncated"), Outcome("truncated"), Outcome("error")]
    assert majority_vote(samples, answer_key="B").status == "truncated"


def test_score_outcomes_keeps_failures():
    outcomes = [
        Outcome("ok", "A", True, 1.0),
        Outcome("ok", "B", False, 0.0),
        Outcome("no_answer"),
        Outcome("failed"),
    ]
    total = score_outcomes(outcomes)
    assert total.total == 4
    assert total.accuracy == pytest.approx(0.25)
    assert total.failure_rate == pytest.approx(0.5)
    assert total.failures["no_answer"] == 1
    assert total.failures["failed"] == 1


def test_score_outcomes_empty():
    assert score_outcomes([]).accuracy is None
