"""Each scripted fault of the loopback server, answered through answer_batch."""

from __future__ import annotations

import pytest

from medexam.models import Attempt, Endpoint, EvaluationRun, ModelResponse
from medexam.services.runs import run_start
from tests.generation_helpers import make_endpoint, make_questions, make_run
from workers.tasks import answer_batch

pytestmark = pytest.mark.django_db

Outcome = Attempt.Outcome


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.MODEL_RETRY_BASE_S = 0.01
    settings.MODEL_RETRY_CAP_S = 0.05
    settings.MODEL_MAX_ATTEMPTS = 3


def _answer(server, fault: str, count: int = 1, **endpoint_fields) -> EvaluationRun:
    endpoint = make_endpoint(server.base_url, **endpoint_fields)
    run = make_run(endpoint, make_questions(count, answer="A", stem_suffix=fault))
    run_start(run_id=run.pk)
    answer_batch(run.pk, list(run.responses.values_list("id", flat=True)))
    run.refresh_from_db()
    return run


def _outcomes(response: ModelResponse) -> list[str]:
    return list(response.attempt_log.order_by("number").values_list("outcome", flat=True))


def test_429_retried_after_retry_after(openai_server):
    openai_server.state.retry_after_s = 0.3
    run = _answer(openai_server, "[fault:429*1]")
    response = run.responses.get()
    first, second = response.attempt_log.order_by("number")

    assert _outcomes(response) == [Outcome.RATE_LIMITED, Outcome.OK]
    assert first.http_status == 429
    assert (second.started_at - first.started_at).total_seconds() >= 0.3
    assert response.is_correct is True


def test_500_retried(openai_server):
    response = _answer(openai_server, "[fault:500*2]").responses.get()

    assert _outcomes(response) == [Outcome.SERVER_ERROR, Outcome.SERVER_ERROR, Outcome.OK]
    assert response.attempts == 3


def test_500_gives_up_at_cap(openai_server):
    run = _answer(openai_server, "[fault:500]")
    response = run.responses.get()

    assert response.state == ModelResponse.State.FAILED
    assert response.attempts == 3
    assert "HTTP 500" in response.error
    assert response.is_correct is None
    assert run.status == EvaluationRun.Status.COMPLETED_WITH_ERRORS


def test_hang_times_out_then_retries(openai_server):
    response = _answer(openai_server, "[fault:hang*1]", timeout_s=0.5).responses.get()

    assert _outcomes(response) == [Outcome.TIMEOUT, Outcome.OK]
    assert response.state == ModelResponse.State.DONE


def test_stream_cut_is_failed_attempt(openai_server):
    response = _answer(openai_server, "[fault:stream_cut*1]", stream=True).responses.get()

    assert _outcomes(response) == [Outcome.STREAM_BROKEN, Outcome.OK]
    assert response.is_correct is True


def test_usage_null_keeps_answer(openai_server):
    response = _answer(openai_server, "[fault:usage_null]").responses.get()

    assert response.state == ModelResponse.State.DONE
    assert response.prompt_tokens is None
    assert response.completion_tokens is None
    assert response.is_correct is True


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_only_is_truncated(openai_server, stream):
    response = _answer(openai_server, "[fault:reasoning_only]", stream=stream).responses.get()

    assert response.extraction_status == ModelResponse.Extraction.TRUNCATED
    assert response.is_correct is None
    assert response.finish_reason == "length"
    assert response.reasoning_text.startswith("先逐项分析")
    assert response.raw_text == ""


@pytest.mark.parametrize("fault", ["think", "think_unopened"])
def test_think_block_kept_apart(openai_server, fault):
    response = _answer(openai_server, f"[fault:{fault}]").responses.get()

    assert "</think>" not in response.raw_text
    assert response.reasoning_text.startswith("先排除")
    assert response.extracted_letters == "A"
    assert response.is_correct is True


@pytest.mark.parametrize(
    ("fault", "hint"),
    [("400", "decoding parameters"), ("401", "MOCK_KEY"), ("404", "/v1")],
)
def test_client_error_stops_endpoint(openai_server, fault, hint):
    run = _answer(openai_server, f"[fault:{fault}]", count=4, api_key_env="MOCK_KEY")
    endpoint = Endpoint.objects.get(pk=run.endpoint_id)

    assert run.status == EvaluationRun.Status.FAILED
    assert hint in endpoint.disabled_reason
    assert "Endpoint mock " in endpoint.disabled_reason
    assert run.responses.filter(state=ModelResponse.State.FAILED).count() == 4
    assert Attempt.objects.filter(response__run=run, outcome=Outcome.CLIENT_ERROR).count() >= 1


def test_unknown_model_id_stops_endpoint(openai_server):
    run = _answer(openai_server, "", served_model_id="no-such-model")
    endpoint = Endpoint.objects.get(pk=run.endpoint_id)

    assert "no-such-model" in endpoint.disabled_reason
    assert run.status == EvaluationRun.Status.FAILED


def test_disabled_endpoint_skips_next_batch(openai_server):
    run = _answer(openai_server, "[fault:401]", count=1)
    received = openai_server.state.received
    second = make_run(Endpoint.objects.get(pk=run.endpoint_id), make_questions(1))
    run_start(run_id=second.pk)

    answer_batch(second.pk, list(second.responses.values_list("id", flat=True)))
    second.refresh_from_db()

    assert openai_server.state.received == received
    assert second.status == EvaluationRun.Status.FAILED


def test_concurrency_cap_respected(openai_server):
    openai_server.state.latency_ms = 50
    run = _answer(openai_server, "", count=20, max_concurrency=3)

    assert openai_server.state.max_in_flight <= 3
    assert run.responses.filter(state=ModelResponse.State.DONE).count() == 20


def test_base_url_without_v1_named_in_stop(openai_server):
    base_without_v1 = openai_server.base_url.removesuffix("/v1")
    endpoint = make_endpoint(base_without_v1)
    run = make_run(endpoint, make_questions(1))
    run_start(run_id=run.pk)

    answer_batch(run.pk, list(run.responses.values_list("id", flat=True)))
    run.refresh_from_db()
    endpoint.refresh_from_db()

    assert run.status == EvaluationRun.Status.FAILED
    assert "HTTP 404" in endpoint.disabled_reason
    assert f"--base-url {base_without_v1}/v1" in endpoint.disabled_reason
