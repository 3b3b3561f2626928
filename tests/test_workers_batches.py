"""answer_batch in-process against the loopback server: one final row per sample."""

from __future__ import annotations

import pytest

from medexam.models import Attempt, Endpoint, EvaluationRun, ModelResponse
from medexam.services.runs import run_progress, run_start
from tests.generation_helpers import make_endpoint, make_questions, make_run
from workers.tasks import answer_batch, dispatch_run

pytestmark = pytest.mark.django_db


def _start(run) -> list[int]:
    run_start(run_id=run.pk)
    return list(run.responses.order_by("id").values_list("id", flat=True))


def test_batch_scores_correct_answers(openai_server):
    endpoint = make_endpoint(openai_server.base_url)
    run = make_run(endpoint, make_questions(5, answer="A"))
    ids = _start(run)

    stored = answer_batch(run.pk, ids)

    assert stored == 5
    assert set(run.responses.values_list("is_correct", flat=True)) == {True}
    assert set(run.responses.values_list("extracted_letters", flat=True)) == {"A"}


def test_batch_finishes_run_once(openai_server):
    endpoint = make_endpoint(openai_server.base_url)
    run = make_run(endpoint, make_questions(3))
    answer_batch(run.pk, _start(run))

    run.refresh_from_db()

    assert run.status == EvaluationRun.Status.COMPLETED
    assert run.finished_at is not None


def test_batch_records_served_model_and_hash(openai_server):
    endpoint = make_endpoint(openai_server.base_url)
    run = make_run(endpoint, make_questions(1), seed=7)
    answer_batch(run.pk, _start(run))

    response = run.responses.get()

    assert response.served_model == "mock-medexam-1"
    assert response.prompt_hash == run.prompt_template.content_hash
    assert response.seed == 7
    assert response.decoding["max_tokens"] == 64


def test_redelivered_batch_changes_nothing(openai_server):
    endpoint = make_endpoint(openai_server.base_url)
    run = make_run(endpoint, make_questions(4))
    ids = _start(run)
    answer_batch(run.pk, ids)
    served = openai_server.state.served

    stored_again = answer_batch(run.pk, ids)

    assert stored_again == 0
    assert openai_server.state.served == served
    assert Attempt.objects.filter(response__run=run).count() == 4


def test_dispatch_skips_paused_run(openai_server):
    endpoint = make_endpoint(openai_server.base_url)
    run = make_run(endpoint, make_questions(2))
    _start(run)
    EvaluationRun.objects.filter(pk=run.pk).update(status=EvaluationRun.Status.PAUSED)

    assert dispatch_run(run.pk) == 0


def test_streaming_endpoint_answers(openai_server):
    endpoint = make_endpoint(openai_server.base_url, stream=True)
    run = make_run(endpoint, make_questions(3, answer="B"))
    answer_batch(run.pk, _start(run))

    letters = set(run.responses.values_list("extracted_letters", flat=True))

    assert letters == {"B"}
    assert set(run.responses.values_list("is_correct", flat=True)) == {False}
    assert run.responses.filter(prompt_tokens__isnull=True).count() == 0


def test_progress_counts_add_up(openai_server):
    endpoint = make_endpoint(openai_server.base_url)
    run = make_run(endpoint, make_questions(6))
    ids = _start(run)
    answer_batch(run.pk, ids[:4])

    progress = run_progress(run_id=run.pk)

    assert progress.total == 6
    assert progress.done == 4
    assert progress.pending == 2
    assert progress.done + progress.failed + progress.pending + progress.in_flight == 6


def test_baseline_needs_no_server():
    endpoint = Endpoint.objects.create(
        model=make_endpoint("http://127.0.0.1:9/v1", name="unused").model,
        name="always-a",
        kind=Endpoint.Kind.BASELINE,
        baseline=Endpoint.Baseline.ALWAYS_A,
    )
    run = make_run(endpoint, make_questions(3))
    answer_batch(run.pk, _start(run))

    assert run.responses.filter(state=ModelResponse.State.DONE, is_correct=True).count() == 3


def test_batch_larger_than_redis_pool_answers_all(openai_server, settings):
    # A batch of 128 once failed after claiming: every request waiting for a
    # lease held its own Redis connection, and redis-py's pool raises
    # MaxConnectionsError past 100 connections.
    assert settings.REDIS_URL, "this test needs the Redis lease semaphore"
    endpoint = make_endpoint(openai_server.base_url, max_concurrency=8)
    run = make_run(endpoint, make_questions(130))
    ids = _start(run)

    stored = answer_batch(run.pk, ids)

    assert stored == 130
    assert run.responses.filter(state=ModelResponse.State.DONE).count() == 130
    assert openai_server.state.served == 130


def test_failed_batch_leaves_claims_to_next_sweep(openai_server, monkeypatch):
    from workers import batches
    from workers.tasks import sweep_stale_responses

    def broken(*args, **kwargs):
        raise RuntimeError("simulated fault in the asking phase")

    endpoint = make_endpoint(openai_server.base_url)
    run = make_run(endpoint, make_questions(3))
    ids = _start(run)
    monkeypatch.setattr(batches, "answer_jobs", broken)

    with pytest.raises(RuntimeError):
        answer_batch(run.pk, ids)

    assert run.responses.filter(state=ModelResponse.State.IN_PROGRESS).count() == 3
    assert sweep_stale_responses() == 3
    assert run.responses.filter(state=ModelResponse.State.PENDING).count() == 3
