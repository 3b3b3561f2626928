"""The database side of answering a batch of responses: claim, ask, score, store."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from medexam.models import Attempt, Endpoint, EvaluationRun, ModelResponse, Question
from medexam.scoring import score_letters
from medexam.services.responses import extraction_for_response
from workers.baselines import answer_baseline
from workers.client import CallResult
from workers.generation import (
    AttemptRecord,
    EndpointConfig,
    Job,
    JobResult,
    answer_jobs,
    run_in_worker_loop,
    worker_name,
)
from workers.prompts import build_messages
from workers.reasoning import split_reasoning

logger = logging.getLogger(__name__)

State = ModelResponse.State


def responses_claim(*, run_id: int, response_ids: list[int]) -> tuple[list[int], datetime]:
    """Move the PENDING responses among response_ids to IN_PROGRESS; return those claimed.

    Rows another worker holds or has finished are skipped, so a task that is
    delivered twice claims nothing the second time.
    """
    claimed_at = timezone.now()
    with transaction.atomic():
        ids = list(
            ModelResponse.objects.select_for_update(skip_locked=True)
            .filter(run_id=run_id, id__in=response_ids, state=State.PENDING)
            .values_list("id", flat=True)
        )
        ModelResponse.objects.filter(id__in=ids, state=State.PENDING).update(
            state=State.IN_PROGRESS, started_at=claimed_at
        )
    return ids, claimed_at


def responses_abandon(*, response_ids: list[int], claimed_at: datetime) -> int:
    """Mark this claim on responses as abandoned; return how many rows it still held.

    The rows stay IN_PROGRESS but their claim is backdated past
    MODEL_STALE_AFTER_S, so the next stale sweep (every MEDEXAM_SWEEP_INTERVAL_S)
    returns them to PENDING and enqueues them again, instead of after the full
    stale period.
    """
    stale_since = claimed_at - timedelta(seconds=settings.MODEL_STALE_AFTER_S + 1)
    return ModelResponse.objects.filter(
        id__in=response_ids, state=State.IN_PROGRESS, started_at=claimed_at
    ).update(started_at=stale_since)


def score_fields(
    response: ModelResponse, question: Question, result: CallResult
) -> dict[str, object]:
    """Return the fields of a DONE response: text, reasoning, extraction and score.

    A reply cut off by the length limit is "truncated" and is_correct stays
    None, because it is neither right nor wrong. Review assignment should skip it.
    """
    answer_text, reasoning = split_reasoning(result.content, result.reasoning)
    extraction, letters = extraction_for_response(
        raw_text=answer_text,
        finish_reason=result.finish_reason,
        question=question,
        option_order=response.option_order,
    )
    status = extraction.status
    is_correct: bool | None = None
    partial: float | None = None
    if result.finish_reason == "length":
        status = ModelResponse.Extraction.TRUNCATED
    else:
        score = score_letters(letters if status == "ok" else "", question.answer_key)
        is_correct, partial = score.is_correct, score.partial
    return {
        "raw_text": answer_text,
        "reasoning_text": reasoning,
        "finish_reason": result.finish_reason,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "served_model": result.served_model[:255],
        "extracted_letters": letters,
        "extraction_status": status,
        "extraction_rule": extraction.rule[:64],
        "extraction_version": extraction.version,
        "is_correct": is_correct,
        "partial_score": partial,
        "error": "",
    }


def _endpoint_config(endpoint: Endpoint, decoding: dict) -> EndpointConfig:
    return EndpointConfig(
        id=endpoint.pk,
        name=endpoint.name,
        base_url=endpoint.base_url,
        served_model_id=endpoint.served_model_id,
        api_key_env=endpoint.api_key_env,
        timeout_s=endpoint.timeout_s,
        stream=endpoint.stream,
        max_concurrency=endpoint.max_concurrency,
        requests_per_minute=endpoint.requests_per_minute,
        tokens_per_minute=endpoint.tokens_per_minute,
        decoding=decoding,
    )


def _answer_baseline(run: EvaluationRun, responses: list[ModelResponse]) -> list[JobResult]:
    results = []
    for response in responses:
        text = answer_baseline(
            run.endpoint.baseline,
            letters=response.question.letters,
            question_type=response.question.question_type,
            seed=run.seed,
            question_id=response.question_id,
            sample_index=response.sample_index,
        )
        record = AttemptRecord(
            number=response.attempts + 1,
            outcome=Attempt.Outcome.OK,
            started_at=timezone.now(),
            latency_ms=0,
            finish_reason="stop",
        )
        result = CallResult(text, "", "stop", None, None, f"baseline:{run.endpoint.baseline}")
        results.append(JobResult(response.pk, attempts=[record], result=result))
    return results


STORED_FIELDS = [
    "state",
    "attempts",
    "latency_ms",
    "finished_at",
    "raw_text",
    "reasoning_text",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "served_model",
    "extracted_letters",
    "extraction_status",
    "extraction_rule",
    "extraction_version",
    "is_correct",
    "partial_score",
    "error",
]


def _apply(response: ModelResponse, outcome: JobResult, now: datetime) -> list[Attempt]:
    """Set response's final fields from outcome; return its Attempt rows to insert."""
    response.attempts += len(outcome.attempts)
    response.latency_ms = outcome.attempts[-1].latency_ms if outcome.attempts else None
    response.finished_at = now
    if outcome.result is not None:
        for name, value in score_fields(response, response.question, outcome.result).items():
            setattr(response, name, value)
        response.state = State.DONE
    else:
        response.state = State.FAILED
        response.error = outcome.error[:4000]
        response.extraction_status = ModelResponse.Extraction.ERROR
        response.is_correct = None
    return [
        Attempt(
            response_id=response.pk,
            number=record.number,
            outcome=record.outcome,
            http_status=record.http_status,
            latency_ms=record.latency_ms,
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
            finish_reason=record.finish_reason,
            error=record.error,
            worker=worker_name(),
            started_at=record.started_at,
        )
        for record in outcome.attempts
    ]


def _update_rows(responses: list[ModelResponse]) -> None:
    # One parameterised UPDATE sent with executemany, which psycopg 3 pipelines.
    # bulk_update's CASE expressions took about 40 ms of CPU per row under
    # cProfile (an estimate inflated by profiling), more than the request.
    if not responses:
        return
    table = ModelResponse._meta.db_table
    fields = [ModelResponse._meta.get_field(name) for name in STORED_FIELDS]
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in fields)
    sql = f"UPDATE {connection.ops.quote_name(table)} SET {assignments} WHERE id = %s"  # noqa: S608 - names come from the model, values are parameters
    rows = [
        [field.get_db_prep_save(getattr(response, field.attname), connection) for field in fields]
        + [response.pk]
        for response in responses
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _store_all(
    responses: dict[int, ModelResponse], outcomes: list[JobResult], claimed_at: datetime
) -> int:
    """Write outcomes in one transaction and a few statements; return how many were stored.

    A response is written only if it is still IN_PROGRESS under this claim.
    The rows stay locked until commit, so the sweeper cannot hand one out
    again between the check and the write.
    """
    with transaction.atomic():
        ours = set(
            ModelResponse.objects.select_for_update()
            .filter(id__in=list(responses), state=State.IN_PROGRESS, started_at=claimed_at)
            .values_list("id", flat=True)
        )
        now = timezone.now()
        finished, attempts, released = [], [], []
        for outcome in outcomes:
            if outcome.response_id not in ours:
                logger.warning(
                    "response %s was reclaimed while in flight; result dropped",
                    outcome.response_id,
                )
                continue
            if outcome.skipped:
                released.append(outcome.response_id)
                continue
            response = responses[outcome.response_id]
            if outcome.result is None and not outcome.attempts:
                outcome.error = (
                    f"no attempts left: {response.attempts} made, MODEL_MAX_ATTEMPTS is "
                    f"{settings.MODEL_MAX_ATTEMPTS}"
                )
            attempts.extend(_apply(response, outcome, now))
            finished.append(response)

        _update_rows(finished)
        Attempt.objects.bulk_create(attempts, ignore_conflicts=True)
        ModelResponse.objects.filter(id__in=released).update(state=State.PENDING, started_at=None)
    return len(finished)


def batch_answer(*, run_id: int, response_ids: list[int]) -> int:
    """Claim, answer and store the given responses of a running run; return how many were stored.

    The endpoint is asked concurrently for the whole batch. If it rejects a
    request with 400/401/403/404, the endpoint is disabled and its runs fail
    (medexam.services.runs.runs_stop_for_endpoint).
    """
    from medexam.services.runs import run_finish_if_done, runs_stop_for_endpoint

    run = EvaluationRun.objects.select_related("endpoint", "prompt_template").get(pk=run_id)
    if run.status != EvaluationRun.Status.RUNNING:
        logger.info("run %s is %s; batch of %s skipped", run_id, run.status, len(response_ids))
        return 0
    if run.endpoint.disabled_reason:
        runs_stop_for_endpoint(endpoint_id=run.endpoint_id, reason=run.endpoint.disabled_reason)
        return 0

    claimed, claimed_at = responses_claim(run_id=run_id, response_ids=response_ids)
    if not claimed:
        return 0
    responses = list(
        ModelResponse.objects.filter(id__in=claimed).select_related("question").order_by("id")
    )
    started = time.perf_counter()
    logger.info("run %s: answering %s responses", run_id, len(responses))

    stop_message = ""
    if run.endpoint.kind == Endpoint.Kind.BASELINE:
        outcomes = _answer_baseline(run, responses)
    else:
        jobs = [
            Job(
                response_id=response.pk,
                messages=build_messages(
                    run.prompt_template, response.question, response.option_order
                ),
                seed=response.seed,
                first_attempt=response.attempts + 1,
                max_attempts=max(0, settings.MODEL_MAX_ATTEMPTS - response.attempts),
            )
            for response in responses
        ]
        try:
            outcomes, stop_message = run_in_worker_loop(
                answer_jobs(
                    _endpoint_config(run.endpoint, run.decoding),
                    jobs,
                    redis_url=settings.REDIS_URL,
                    retry_base_s=settings.MODEL_RETRY_BASE_S,
                    retry_cap_s=settings.MODEL_RETRY_CAP_S,
                )
            )
        except Exception:
            # Without this the claimed rows would wait MODEL_STALE_AFTER_S
            # (over half an hour) before anyone answered them.
            abandoned = responses_abandon(response_ids=claimed, claimed_at=claimed_at)
            logger.exception(
                "run %s: batch failed; %s claimed responses left to the next sweep",
                run_id,
                abandoned,
            )
            raise

    by_id = {response.pk: response for response in responses}
    stored = _store_all(by_id, outcomes, claimed_at)

    logger.info(
        "run %s: stored %s of %s responses in %.0f ms",
        run_id,
        stored,
        len(responses),
        (time.perf_counter() - started) * 1000,
    )
    if stop_message:
        runs_stop_for_endpoint(endpoint_id=run.endpoint_id, reason=stop_message)
    run_finish_if_done(run_id=run_id)
    return stored
