"""Runs answered by real `celery -A medexam worker` processes over Redis.

These tests need the broker in CELERY_BROKER_URL and commit to the test
database, so the worker subprocess sees the rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings
from django.db import connection

from medexam.models import Attempt, EvaluationRun, ModelResponse
from medexam.services.runs import run_start
from tests.generation_helpers import make_endpoint, make_questions, make_run
from workers.tasks import answer_batch, sweep_stale_responses

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (settings.CELERY_BROKER_URL or "").startswith("redis"),
        reason="needs a Redis CELERY_BROKER_URL",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
State = ModelResponse.State


def _broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _purge_broker() -> None:
    # Tasks left by earlier tests name runs of other test databases.
    _broker().delete("celery", "unacked", "unacked_index")


class Worker:
    """A celery worker subprocess bound to the test database."""

    def __init__(self, log_path: Path, **extra_env: str) -> None:
        database = connection.settings_dict
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
            f"/{database['NAME']}",
            MEDEXAM_MODEL_BATCH_SIZE="8",
            MEDEXAM_MODEL_RETRY_BASE_S="0.05",
            DJANGO_LOG_LEVEL="INFO",
        )
        env.update(extra_env)
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "medexam",
                "worker",
                "-c",
                "2",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the worker and its pool children, as an OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def worker_factory(tmp_path):
    _purge_broker()
    workers: list[Worker] = []

    def start(**extra_env: str) -> Worker:
        worker = Worker(tmp_path / f"worker-{len(workers)}.log", **extra_env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    _purge_broker()


def _wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _finished(run: EvaluationRun) -> bool:
    run.refresh_from_db()
    return run.status in EvaluationRun.FINISHED


def _assert_one_final_row_each(run: EvaluationRun, question_count: int) -> None:
    responses = ModelResponse.objects.filter(run=run)
    assert responses.count() == question_count
    assert responses.filter(state__in=[State.DONE, State.FAILED]).count() == question_count
    assert (
        responses.filter(state=State.FAILED).exclude(error="").count()
        == responses.filter(state=State.FAILED).count()
    )
    for response in responses:
        numbers = list(response.attempt_log.values_list("number", flat=True))
        assert numbers == list(range(1, len(numbers) + 1))
        assert response.attempts == len(numbers)


def test_worker_completes_run(openai_server, worker_factory, tmp_path, unused_port):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    worker_factory(
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), MEDEXAM_WORKER_METRICS_PORT=str(unused_port)
    )
    run = make_run(make_endpoint(openai_server.base_url), make_questions(20))

    run_start(run_id=run.pk)
    _wait_for(lambda: _finished(run), 60, "the run to finish")
    metrics = httpx.get(f"http://127.0.0.1:{unused_port}/metrics").text

    assert run.status == EvaluationRun.Status.COMPLETED
    _assert_one_final_row_each(run, 20)
    assert openai_server.state.served == 20
    assert 'medexam_model_request_seconds_count{endpoint="mock",outcome="ok"} 20.0' in metrics


def test_killed_worker_run_still_completes(openai_server, worker_factory):
    openai_server.state.latency_ms = 300
    first = worker_factory()
    run = make_run(make_endpoint(openai_server.base_url, max_concurrency=4), make_questions(40))

    run_start(run_id=run.pk)
    _wait_for(
        lambda: (
            ModelResponse.objects.filter(run=run, state=State.DONE).count() >= 4
            and ModelResponse.objects.filter(run=run, state=State.IN_PROGRESS).exists()
        ),
        60,
        "the first worker to be mid-run",
    )
    first.kill()
    stranded = ModelResponse.objects.filter(run=run, state=State.IN_PROGRESS).count()

    # The beat task would sweep after MODEL_STALE_AFTER_S; the test does it now.
    swept = sweep_stale_responses(stale_after_s=0)
    worker_factory()
    _wait_for(lambda: _finished(run), 90, "the run to finish after the restart")

    assert stranded > 0
    assert swept == stranded
    assert run.status == EvaluationRun.Status.COMPLETED
    _assert_one_final_row_each(run, 40)


def test_redelivered_task_changes_nothing(openai_server, worker_factory):
    worker_factory()
    run = make_run(make_endpoint(openai_server.base_url), make_questions(8))
    run_start(run_id=run.pk)
    _wait_for(lambda: _finished(run), 60, "the run to finish")
    received = openai_server.state.received
    attempts = Attempt.objects.filter(response__run=run).count()
    ids = list(run.responses.values_list("id", flat=True))

    # What Redis does once the visibility timeout passes: deliver the same task again.
    answer_batch.delay(run.pk, ids)
    broker = _broker()
    _wait_for(
        lambda: broker.llen("celery") == 0 and broker.hlen("unacked") == 0,
        30,
        "the redelivered task to be acknowledged",
    )

    assert openai_server.state.received == received
    assert Attempt.objects.filter(response__run=run).count() == attempts
    _assert_one_final_row_each(run, 8)
