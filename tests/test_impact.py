"""Leaderboard before and after validation."""

from __future__ import annotations

import pytest

from medexam.models import Question
from review.impact import validity_impact
from review.models import Adjudication
from tests.review_data import make_question, make_response, make_run

pytestmark = pytest.mark.django_db
V = Question.Validity


def test_impact_accuracy_and_ranks(make_user):
    good, weak = make_run("model-good"), make_run("model-weak")
    valid = [make_question(validity=V.VALIDATED) for _ in range(3)]
    excluded = make_question(specialty="neurology", validity=V.EXCLUDED)
    for question in valid:
        make_response(good, question, "A")
    make_response(good, excluded, "B")
    # model-weak: right on the excluded item only, one failure, one wrong.
    make_response(weak, valid[0], "A")
    make_response(weak, valid[1], None)
    make_response(weak, valid[2], "C")
    make_response(weak, excluded, "A")

    impact = validity_impact()
    rows = {row["model"]: row for row in impact["models"]}

    assert rows["model-good"]["before"]["accuracy"] == 0.75
    assert rows["model-good"]["after"]["accuracy"] == 1.0
    assert rows["model-weak"]["before"]["total"] == 4
    assert rows["model-weak"]["after"]["accuracy"] == round(1 / 3, 4)
    assert rows["model-weak"]["accuracy_change"] == round(1 / 3 - 0.5, 4)
    assert rows["model-good"]["rank_after"] == 1
    assert impact["removed_by_specialty"] == {"neurology": {"excluded": 1, "total": 1}}


def test_impact_rescores_corrected_key(make_user):
    run = make_run("model-a")
    question = make_question(validity=V.VALIDATED, answer_key="A")
    make_response(run, question, "B")
    Adjudication.objects.create(
        question=question,
        adjudicator=make_user("adjudicator"),
        decision=Adjudication.Decision.KEY_CORRECTED,
        corrected_key="B",
        reason="标准答案有误",
    )
    row = validity_impact()["models"][0]
    assert row["before"]["accuracy"] == 0.0
    assert row["after"]["accuracy"] == 1.0


def test_impact_ties_share_rank():
    first, second = make_run("model-1"), make_run("model-2")
    question = make_question(validity=V.VALIDATED)
    make_response(first, question, "A")
    make_response(second, question, "A")
    ranks = [row["rank_before"] for row in validity_impact()["models"]]
    assert ranks == [1, 1]
