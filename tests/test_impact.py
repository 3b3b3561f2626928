"""Leaderboard before and after validation."""

from __future__ import annotations

import pytest
from django.utils import timezone

from medexam.leaderboard import leaderboard_compute
from medexam.models import Attempt, ModelResponse, Question
from review import services
from review.impact import validity_impact
from review.models import Adjudication
from tests.review_data import make_question, make_response, make_run

pytestmark = pytest.mark.django_db
V = Question.Validity


def failed_after_retries(run, question) -> ModelResponse:
    """Create a response that used up its retries, which the leaderboard scores as wrong."""
    response = make_response(run, question, None)
    ModelResponse.objects.filter(pk=response.pk).update(attempts=3)
    return response


def failed_with_http_status(run, question, http_status: int) -> ModelResponse:
    """Create a response whose endpoint returned a configuration error such as HTTP 404."""
    response = make_response(run, question, None)
    ModelResponse.objects.filter(pk=response.pk).update(attempts=1)
    Attempt.objects.create(
        response=response,
        number=1,
        outcome=Attempt.Outcome.CLIENT_ERROR,
        http_status=http_status,
        started_at=timezone.now(),
    )
    return response


def test_impact_accuracy_and_ranks(make_user):
    good, weak = make_run("model-good"), make_run("model-weak")
    valid = [make_question(validity=V.VALIDATED) for _ in range(3)]
    excluded = make_question(specialty="neurology", validity=V.EXCLUDED)
    for question in valid:
        make_response(good, question, "A")
    make_response(good, excluded, "B")
    # model-weak: right on the excluded item only, one failure, one wrong.
    make_response(weak, valid[0], "A")
    failed_after_retries(weak, valid[1])
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
    assert impact["questions"] == 4
    assert impact["validated"] == 3
    assert impact["removed_by_specialty"] == {"neurology": {"excluded": 1, "total": 1}}


def test_impact_scores_adjudicated_key(make_user):
    run = make_run("model-a")
    question = make_question(answer_key="A")
    make_response(run, question, "B")
    services.adjudication_record(
        adjudicator=make_user("adjudicator"),
        question_id=question.pk,
        response_id=None,
        decision=Adjudication.Decision.KEY_CORRECTED,
        reason="标准答案有误",
        corrected_key="B",
    )

    row = validity_impact()["models"][0]

    assert row["after"]["correct"] == 1
    assert row["after"]["accuracy"] == 1.0


def test_impact_ties_share_rank():
    first, second = make_run("model-1"), make_run("model-2")
    question = make_question(validity=V.VALIDATED)
    make_response(first, question, "A")
    make_response(second, question, "A")
    ranks = [row["rank_before"] for row in validity_impact()["models"]]
    assert ranks == [1, 1]


def test_impact_leaves_configuration_failures_unranked():
    served, wrong_id = make_run("model-served"), make_run("mock-wrongid")
    questions = [make_question(validity=V.VALIDATED) for _ in range(3)]
    for question in questions:
        make_response(served, question, "A")
        failed_with_http_status(wrong_id, question, 404)

    impact = validity_impact()

    assert [row["model"] for row in impact["models"]] == ["model-served"]
    assert [model["name"] for model in impact["excluded_models"]] == ["mock-wrongid"]
    assert impact["excluded_models"][0]["excluded"]["configuration"] == 3
    assert impact["questions"] == 3


def test_impact_matches_leaderboard():
    first, second = make_run("model-1"), make_run("model-2")
    shared = [make_question(validity=V.VALIDATED) for _ in range(2)]
    only_first = make_question(validity=V.DISPUTED)
    for question in shared:
        make_response(first, question, "A")
        make_response(second, question, "B")
    make_response(first, only_first, "A")
    make_response(make_run("model-3"), shared[0], None)

    rows = {row["model"]: row for row in validity_impact()["models"]}
    board = {row.name: row.overall for row in leaderboard_compute().rows}

    assert set(rows) == set(board) == {"model-1", "model-2"}
    for name, cell in board.items():
        assert rows[name]["before"]["correct"] == cell.correct
        assert rows[name]["before"]["total"] == cell.total
