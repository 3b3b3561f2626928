"""Leaderboard selectors on responses stored directly in the database."""

from __future__ import annotations

import pytest

from medexam.leaderboard import (
    UNASSIGNED,
    architecture_difference,
    leaderboard_compute,
    level_gaps,
    paired_comparisons,
    size_correlations,
)
from medexam.models import Question
from tests.run_rows import (
    make_demo_board,
    make_model,
    make_question,
    make_response,
    make_run,
)


@pytest.fixture
def small_board(db):
    """Two models on four questions: cardiology attending (2), oncology senior (2)."""
    questions = [
        make_question(1, answer_key="A"),
        make_question(2, answer_key="B"),
        make_question(3, answer_key="C", specialty="oncology", level="senior"),
        make_question(4, answer_key="D", specialty="oncology", level="senior"),
    ]
    strong = make_run(make_model("strong", total=70.0, active=70.0))
    for question in questions[:3]:
        make_response(strong, question, question.answer_key)
    make_response(strong, questions[3], "", status="no_answer")

    weak = make_run(make_model("weak", total=7.0, active=7.0))
    make_response(weak, questions[0], "A")
    make_response(weak, questions[1], "C")
    make_response(weak, questions[2], "", state="failed", status="error")
    make_response(weak, questions[3], "", status="truncated")
    return questions


def row_named(board, name):
    return next(row for row in board.rows if row.name == name)


def test_overall_keeps_failures(small_board):
    strong = row_named(leaderboard_compute(), "strong")
    assert strong.overall.correct == 3
    assert strong.overall.total == 4


def test_failure_rate_reported(small_board):
    weak = row_named(leaderboard_compute(), "weak")
    assert weak.failure_rate == pytest.approx(0.5)
    assert weak.failures["failed"] == 1
    assert weak.failures["truncated"] == 1


def test_rows_sorted_by_accuracy(small_board):
    assert [row.name for row in leaderboard_compute().rows] == ["strong", "weak"]


def test_wilson_interval_on_cell(small_board):
    cell = row_named(leaderboard_compute(), "strong").overall
    assert cell.low < cell.accuracy < cell.high


def test_specialty_cells(small_board):
    strong = row_named(leaderboard_compute(), "strong")
    assert strong.by_specialty["cardiovascular"].accuracy == pytest.approx(1.0)
    assert strong.by_specialty["oncology"].accuracy == pytest.approx(0.5)


def test_specialty_level_cells(small_board):
    weak = row_named(leaderboard_compute(), "weak")
    assert weak.by_specialty_level["cardiovascular:attending"].correct == 1


def test_macro_average(small_board):
    weak = row_named(leaderboard_compute(), "weak")
    # Cardiology 1/2 and oncology 0/2: macro 0.25, micro 0.25 too.
    assert weak.macro_accuracy == pytest.approx(0.25)


def test_macro_differs_from_micro(db):
    model = make_run(make_model("m"))
    for number in range(3):
        question = make_question(number, answer_key="A")
        make_response(model, question, "A")
    make_response(model, make_question(9, answer_key="A", specialty="oncology"), "B")
    row = leaderboard_compute().rows[0]
    assert row.overall.accuracy == pytest.approx(0.75)
    assert row.macro_accuracy == pytest.approx(0.5)


def test_items_restricts_questions(small_board):
    board = leaderboard_compute(items=[q.pk for q in small_board[:2]])
    assert board.item_count == 2
    assert row_named(board, "weak").overall.total == 2


def test_items_accepts_queryset(small_board):
    Question.objects.filter(pk=small_board[0].pk).update(validity="validated")
    board = leaderboard_compute(items=Question.objects.filter(validity="validated"))
    assert row_named(board, "strong").overall.total == 1


def test_baseline_row_marked(small_board):
    baseline = make_run(make_model("always A", architecture="baseline"))
    make_response(baseline, small_board[0], "A")
    row = row_named(leaderboard_compute(), "always A")
    assert row.is_baseline


def test_unassigned_specialty_column(db):
    run = make_run(make_model("m"))
    make_response(run, make_question(1, specialty=None, level=None), "A")
    board = leaderboard_compute()
    assert board.specialties[-1].code == UNASSIGNED
    assert board.rows[0].macro_accuracy is None


def test_majority_vote_samples(db):
    run = make_run(make_model("sampler"))
    question = make_question(1, answer_key="B")
    for index, letters in enumerate(["B", "C", "B"]):
        make_response(run, question, letters, sample_index=index)
    row = leaderboard_compute().rows[0]
    assert row.overall.total == 1
    assert row.overall.correct == 1


def test_all_rotations_accuracy(db):
    run = make_run(make_model("rotated"), shuffle_options=True)
    steady = make_question(1, answer_key="A")
    fickle = make_question(2, answer_key="A")
    for index, order in enumerate(["ABCDE", "BCDEA", "CDEAB"]):
        make_response(run, steady, "A", sample_index=index, option_order=order)
        make_response(
            run, fickle, "A" if index < 2 else "B", sample_index=index, option_order=order
        )
    row = leaderboard_compute().rows[0]
    assert row.all_rotations.correct == 1
    assert row.all_rotations.total == 2
    assert row.overall.correct == 2


def test_plain_run_has_no_rotation_cell(small_board):
    assert row_named(leaderboard_compute(), "strong").all_rotations is None


def test_paired_comparisons_shared_items(small_board):
    tests = paired_comparisons(leaderboard_compute())
    assert len(tests) == 1
    assert tests[0].only_first_correct == 2
    assert tests[0].only_second_correct == 0


def test_size_correlation_demo(db):
    make_demo_board(per_cell=2)
    correlations = size_correlations(leaderboard_compute())
    assert correlations.total.n == 4
    assert correlations.active.rho is not None


def test_architecture_difference_demo(db):
    make_demo_board(per_cell=2)
    difference = architecture_difference(leaderboard_compute())
    assert difference.estimate is not None


def test_level_gap_per_model(small_board):
    gaps = level_gaps(leaderboard_compute())
    # strong: attending 2/2, senior 1/2.
    assert gaps["strong"].estimate == pytest.approx(0.5)


def test_dense_active_params_default_total(db):
    questions = [make_question(number) for number in range(1, 4)]
    models = [
        make_model("dense-7b", total=7.0),
        make_model("dense-72b", total=72.0),
        make_model("moe-47b", architecture="moe", total=46.7, active=12.9),
        make_model("moe-unknown", architecture="moe", total=100.0),
    ]
    for index, model in enumerate(models):
        run = make_run(model)
        for number, question in enumerate(questions):
            make_response(run, question, "A" if number <= index % 3 else "B")

    board = leaderboard_compute()
    active = {row.name: row.active_params_b for row in board.rows}
    correlations = size_correlations(board)

    assert active == {"dense-7b": 7.0, "dense-72b": 72.0, "moe-47b": 12.9, "moe-unknown": None}
    assert correlations.active.n == 3
