"""medexam.services.runs: starting, pausing, cancelling and finishing runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from medexam.models import EvaluationRun, ModelResponse
from medexam.services import runs
from tests.generation_helpers import make_endpoint, make_questions, make_run
from workers.tasks import answer_batch, dispatch_run, sweep_stale_responses

pytestmark = pytest.mark.django_db

Status = EvaluationRun.Status
State = ModelResponse.State


@pytest.fixture
def finished_calls(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(runs, "_on_run_finished", calls.append)
    return calls


def _ids(run) -> list[int]:
    return list(run.responses.order_by("id").values_list("id", flat=True))


def test_start_creates_one_row_per_sample():
    run = make_run(
        make_endpoint("http://127.0.0.1:9/v1"), make_questions(3), samples_per_question=2
    )

    created = runs.run_start(run_id=run.pk)

    assert created == 6
    assert sorted(set(run.responses.values_list("sample_index", flat=True))) == [0, 1]


def test_start_twice_creates_nothing():
    run = make_run(make_endpoint("http://127.0.0.1:9/v1"), make_questions(2))
    runs.run_start(run_id=run.pk)

    assert runs.run_start(run_id=run.pk) == 0
    assert run.responses.count() == 2


def test_sample_seeds_follow_run_seed():
    run = make_run(
        make_endpoint("http://127.0.0.1:9/v1"), make_questions(1), samples_per_question=3, seed=40
    )
    runs.run_start(run_id=run.pk)

    assert list(run.responses.values_list("seed", flat=True)) == [40, 41, 42]


def test_shuffle_asks_every_rotation(openai_server):
    run = make_run(make_endpoint(openai_server.base_url), make_questions(1), shuffle_options=True)
    runs.run_start(run_id=run.pk)
    answer_batch(run.pk, _ids(run))

    rows = list(run.responses.order_by("sample_index"))

    assert [row.option_order for row in rows] == ["ABCDE", "BCDEA", "CDEAB", "DEABC", "EABCD"]
    # The server always answers the letter shown as A, so the original
    # letter chosen is the first of each rotation.
    assert [row.extracted_letters for row in rows] == ["A", "B", "C", "D", "E"]
    assert [row.is_correct for row in rows] == [True, False, False, False, False]


def test_finish_calls_hook_once(openai_server, finished_calls):
    run = make_run(make_endpoint(openai_server.base_url), make_questions(2))
    runs.run_start(run_id=run.pk)
    answer_batch(run.pk, _ids(run))

    again = runs.run_finish_if_done(run_id=run.pk)

    assert again is False
    assert finished_calls == [run.pk]


def test_pause_stops_claims(openai_server):
    run = make_run(make_endpoint(openai_server.base_url), make_questions(2))
    runs.run_start(run_id=run.pk)

    assert runs.run_pause(run_id=run.pk) is True
    assert answer_batch(run.pk, _ids(run)) == 0
    assert run.responses.filter(state=State.PENDING).count() == 2


def test_resume_continues(openai_server):
    run = make_run(make_endpoint(openai_server.base_url), make_questions(2))
    runs.run_start(run_id=run.pk)
    runs.run_pause(run_id=run.pk)

    assert runs.run_resume(run_id=run.pk) is True
    assert answer_batch(run.pk, _ids(run)) == 2


def test_cancel_fails_pending(finished_calls):
    run = make_run(make_endpoint("http://127.0.0.1:9/v1"), make_questions(3))
    runs.run_start(run_id=run.pk)

    assert runs.run_cancel(run_id=run.pk) is True
    assert run.responses.filter(state=State.FAILED).count() == 3
    assert runs.run_cancel(run_id=run.pk) is False
    assert finished_calls == [run.pk]


def test_sweep_returns_stale_claims(openai_server):
    run = make_run(make_endpoint(openai_server.base_url), make_questions(2))
    runs.run_start(run_id=run.pk)
    long_ago = timezone.now() - timedelta(hours=2)
    run.responses.update(state=State.IN_PROGRESS, started_at=long_ago)

    swept = sweep_stale_responses(stale_after_s=60)

    assert swept == 2
    assert run.responses.filter(state=State.PENDING).count() == 2


def test_sweep_leaves_fresh_claims():
    run = make_run(make_endpoint("http://127.0.0.1:9/v1"), make_questions(1))
    runs.run_start(run_id=run.pk)
    run.responses.update(state=State.IN_PROGRESS, started_at=timezone.now())

    assert sweep_stale_responses(stale_after_s=60) == 0


def test_progress_reports_time_left(openai_server):
    run = make_run(make_endpoint(openai_server.base_url), make_questions(4))
    runs.run_start(run_id=run.pk)
    answer_batch(run.pk, _ids(run)[:2])

    progress = runs.run_progress(run_id=run.pk)

    assert progress.rate_per_s > 0
    assert progress.seconds_left is not None


def test_resume_finishes_drained_run(openai_server, finished_calls):
    run = make_run(make_endpoint(openai_server.base_url), make_questions(2))
    runs.run_start(run_id=run.pk)
    answer_batch(run.pk, _ids(run))
    EvaluationRun.objects.filter(pk=run.pk).update(status=Status.RUNNING)
    runs.run_pause(run_id=run.pk)

    resumed = runs.run_resume(run_id=run.pk)
    dispatch_run(run.pk)
    run.refresh_from_db()

    assert resumed is True
    assert run.status == Status.COMPLETED


def test_majority_vote_over_samples(openai_server):
    question = make_questions(1, answer="C")[0]
    run = make_run(make_endpoint(openai_server.base_url), [question], samples_per_question=3)
    runs.run_start(run_id=run.pk)
    answer_batch(run.pk, _ids(run))

    assert runs.run_majority_votes(run_id=run.pk) == {question.pk: "C"}
