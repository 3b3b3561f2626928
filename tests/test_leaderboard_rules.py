"""Which responses the leaderboard counts: exclusions, common items and the latest run."""

from __future__ import annotations

import pytest
from django.utils import timezone

from medexam.leaderboard import (
    ALL,
    CONFIGURATION,
    NOT_SENT,
    UNFINISHED,
    exclusion_reason,
    leaderboard_compute,
    level_gaps,
    paired_comparisons,
)
from medexam.models import Attempt, EvaluationRun, ModelResponse
from medexam.services.runs import run_start
from tests.generation_helpers import make_endpoint, make_questions
from tests.generation_helpers import make_run as make_served_run
from tests.run_rows import make_model, make_question, make_response, make_run
from workers.tasks import answer_batch

STOP_MESSAGE = "Endpoint 'broken' returned 404 Not Found for model 'x'."


def row_named(board, name):
    return next(row for row in board.rows if row.name == name)


def add_attempt(response: ModelResponse, http_status: int) -> None:
    Attempt.objects.create(
        response=response,
        number=1,
        outcome=Attempt.Outcome.CLIENT_ERROR,
        http_status=http_status,
        started_at=timezone.now(),
    )


def stop_run(run: EvaluationRun) -> None:
    """Mark run as runs_stop_for_endpoint leaves it."""
    run.status = EvaluationRun.Status.FAILED
    run.error_message = STOP_MESSAGE
    run.save(update_fields=["status", "error_message"])


@pytest.fixture
def questions(db):
    return [make_question(number, answer_key="A") for number in range(1, 5)]


@pytest.mark.parametrize(
    ("state", "attempts", "configuration", "expected"),
    [
        ("done", 1, False, None),
        ("failed", 3, False, None),
        ("failed", 1, True, CONFIGURATION),
        ("failed", 0, True, CONFIGURATION),
        ("failed", 0, False, NOT_SENT),
        ("pending", 0, False, UNFINISHED),
        ("in_progress", 1, False, UNFINISHED),
    ],
)
def test_exclusion_reason_table(state, attempts, configuration, expected):
    assert exclusion_reason(state=state, attempts=attempts, configuration=configuration) == expected


@pytest.mark.parametrize("http_status", [400, 401, 403, 404])
def test_configuration_status_left_out(questions, http_status):
    run = make_run(make_model("m"))
    for question in questions[:3]:
        make_response(run, question, "A")
    failed = make_response(run, questions[3], "", state="failed", status="error", attempts=1)
    add_attempt(failed, http_status)

    row = row_named(leaderboard_compute(), "m")

    assert row.overall.total == 3
    assert row.overall.correct == 3
    assert row.failures["failed"] == 0
    assert row.excluded[CONFIGURATION] == 1


def test_server_error_stays_in_denominator(questions):
    run = make_run(make_model("m"))
    make_response(run, questions[0], "A")
    failed = make_response(run, questions[1], "", state="failed", status="error", attempts=3)
    add_attempt(failed, 503)

    row = row_named(leaderboard_compute(), "m")

    assert row.overall.total == 2
    assert row.failures["failed"] == 1
    assert row.excluded[CONFIGURATION] == 0


def test_model_failures_stay_in_denominator(questions):
    run = make_run(make_model("m"))
    make_response(run, questions[0], "A")
    make_response(run, questions[1], "", status="truncated")
    make_response(run, questions[2], "", status="no_answer")
    make_response(run, questions[3], "", status="ambiguous")

    row = row_named(leaderboard_compute(), "m")

    assert row.overall.total == 4
    assert row.overall.correct == 1
    assert row.failures["truncated"] == 1
    assert row.failures["no_answer"] == 1
    assert row.failures["ambiguous"] == 1
    assert sum(row.excluded.values()) == 0


def test_stopped_run_left_out_and_model_unranked(questions):
    good = make_run(make_model("good"))
    for question in questions:
        make_response(good, question, "A")
    broken = make_run(make_model("broken"))
    stop_run(broken)
    for question in questions:
        make_response(
            broken, question, "", state="failed", status="error", attempts=0, error=STOP_MESSAGE
        )

    board = leaderboard_compute()

    assert [row.name for row in board.rows] == ["good"]
    assert [model.name for model in board.excluded_models] == ["broken"]
    assert board.excluded_models[0].excluded[CONFIGURATION] == 4
    assert board.excluded[CONFIGURATION] == 4
    assert board.common_item_count == 4


def test_cancelled_and_unfinished_left_out(questions):
    run = make_run(make_model("m"))
    make_response(run, questions[0], "A")
    make_response(run, questions[1], "B")
    make_response(
        run,
        questions[2],
        "",
        state="failed",
        status="error",
        attempts=0,
        error="cancelled before it was sent",
    )
    make_response(run, questions[3], "", state="pending")

    board = leaderboard_compute()
    row = row_named(board, "m")

    assert row.overall.total == 2
    assert row.excluded[NOT_SENT] == 1
    assert row.excluded[UNFINISHED] == 1
    assert board.excluded == {CONFIGURATION: 0, NOT_SENT: 1, UNFINISHED: 1}


def test_common_items_by_default(questions):
    wide = make_run(make_model("wide"))
    for question in questions:
        make_response(wide, question, "A")
    narrow = make_run(make_model("narrow"))
    make_response(narrow, questions[0], "A")
    make_response(narrow, questions[1], "B")

    board = leaderboard_compute()
    wide_row = row_named(board, "wide")

    assert board.scope == "common"
    assert board.common_item_count == 2
    assert board.answered_item_count == 4
    assert board.item_count == 2
    assert wide_row.overall.total == 2
    assert wide_row.full_set.total == 4
    assert row_named(board, "narrow").overall.total == 2


def test_scope_all_uses_own_questions(questions):
    wide = make_run(make_model("wide"))
    for question in questions:
        make_response(wide, question, "A")
    narrow = make_run(make_model("narrow"))
    make_response(narrow, questions[0], "A")

    board = leaderboard_compute(scope=ALL)

    assert board.item_count == 4
    assert board.common_item_count == 1
    assert row_named(board, "wide").overall.total == 4
    assert row_named(board, "narrow").overall.total == 1


def test_invalid_scope_rejected(db):
    with pytest.raises(ValueError, match="scope"):
        leaderboard_compute(scope="everything")


def test_paired_tests_on_common_items(questions):
    first = make_run(make_model("first"))
    second = make_run(make_model("second"))
    for question in questions[:2]:
        make_response(first, question, "A")
        make_response(second, question, "B")
    # Only "first" answered these; they must not enter the paired test.
    for question in questions[2:]:
        make_response(first, question, "A")

    (test,) = paired_comparisons(leaderboard_compute())

    assert test.only_first_correct + test.only_second_correct == 2


def test_level_gap_on_common_items(db):
    attending = [make_question(n, answer_key="A") for n in range(1, 3)]
    senior = [make_question(n, answer_key="A", level="senior") for n in range(3, 5)]
    full = make_run(make_model("full"))
    part = make_run(make_model("part"))
    for question in attending + senior:
        make_response(full, question, "A")
    make_response(part, attending[0], "A")
    make_response(part, senior[0], "B")

    gaps = level_gaps(leaderboard_compute())

    assert gaps["part"].estimate == pytest.approx(1.0)
    assert gaps["full"].estimate == pytest.approx(0.0)


def test_latest_run_replaces_earlier(questions):
    model = make_model("m")
    old = make_run(model)
    make_response(old, questions[0], "B")
    make_response(old, questions[1], "B")
    new = make_run(model)
    make_response(new, questions[0], "A")

    row = row_named(leaderboard_compute(), "m")

    # Question 1 comes from the new run (right). Question 2 comes only from the old one (wrong).
    assert row.overall.total == 2
    assert row.overall.correct == 1
    assert row.superseded == 1


def test_latest_run_by_creation_time(questions):
    model = make_model("m")
    later = make_run(model)
    earlier = make_run(model)
    EvaluationRun.objects.filter(pk=earlier.pk).update(
        created_at=later.created_at - timezone.timedelta(days=1)
    )
    make_response(later, questions[0], "A")
    make_response(earlier, questions[0], "B")

    row = row_named(leaderboard_compute(), "m")

    assert row.overall.correct == 1
    assert row.superseded == 1


def test_stopped_later_run_keeps_earlier_answers(questions):
    model = make_model("m")
    old = make_run(model)
    for question in questions:
        make_response(old, question, "A")
    new = make_run(model)
    stop_run(new)
    for question in questions:
        make_response(
            new, question, "", state="failed", status="error", attempts=0, error=STOP_MESSAGE
        )

    row = row_named(leaderboard_compute(), "m")

    assert row.overall.total == 4
    assert row.overall.correct == 4
    assert row.excluded[CONFIGURATION] == 4
    assert row.superseded == 0


def test_samples_of_latest_run_only_vote(questions):
    model = make_model("m")
    old = make_run(model)
    for sample in range(3):
        make_response(old, questions[0], "B", sample_index=sample)
    new = make_run(model)
    make_response(new, questions[0], "A", sample_index=0)

    row = row_named(leaderboard_compute(), "m")

    # Pooled, three B votes would outvote one A, but only the new run counts.
    assert row.overall.correct == 1
    assert row.superseded == 3


def test_latest_rotation_run_only(questions):
    model = make_model("m")
    old = make_run(model, shuffle_options=True)
    make_response(old, questions[0], "A", sample_index=0)
    make_response(old, questions[0], "B", sample_index=1)
    new = make_run(model, shuffle_options=True)
    make_response(new, questions[0], "A", sample_index=0)
    make_response(new, questions[0], "A", sample_index=1)

    row = row_named(leaderboard_compute(), "m")

    assert row.all_rotations.correct == 1
    assert row.all_rotations.total == 1


def test_loopback_404_run_left_out(db, openai_server, settings):
    """A run against a wrong model id on a real server is left out, not scored as wrong."""
    settings.MODEL_RETRY_BASE_S = 0.01
    settings.MODEL_RETRY_CAP_S = 0.05
    questions = make_questions(4, answer="A")
    runs = []
    for name, served in [("good", "mock-medexam-1"), ("broken", "no-such-model")]:
        endpoint = make_endpoint(openai_server.base_url, name=name, served_model_id=served)
        run = make_served_run(endpoint, questions)
        run_start(run_id=run.pk)
        answer_batch(run.pk, list(run.responses.values_list("id", flat=True)))
        runs.append(run)
    runs[1].refresh_from_db()
    assert runs[1].status == EvaluationRun.Status.FAILED

    board = leaderboard_compute()

    assert [row.name for row in board.rows] == ["good-model"]
    assert row_named(board, "good-model").overall.correct == 4
    assert [model.name for model in board.excluded_models] == ["broken-model"]
    assert board.excluded[CONFIGURATION] == 4
