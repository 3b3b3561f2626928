"""Answering many responses concurrently from one worker process.

The async side never touches the database: the Celery task reads the rows,
hands plain Job objects to answer_jobs, and writes the JobResults back in one
transaction. That keeps the ORM out of the event loop and batches the
database work, so one process can keep dozens of requests in flight.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from django.utils import timezone
from openai import AsyncOpenAI

from medexam.failures import endpoint_stop_text, english
from medexam.models import Attempt
from workers import metrics
from workers.client import AttemptFailed, CallResult, backoff_delay_s, request_completion
from workers.limits import EndpointLimiter

logger = logging.getLogger(__name__)


def worker_name() -> str:
    """Return "host:pid" of this process, read at call time because prefork forks."""
    return f"{socket.gethostname()}:{os.getpid()}"


# Extra seconds a concurrency lease outlives the request timeout, so a lease
# of a live request never expires while a killed worker's leases do.
LEASE_MARGIN_S = 30.0


@dataclass(frozen=True)
class EndpointConfig:
    """Endpoint settings the async side needs, read from the database once per batch."""

    id: int
    name: str
    base_url: str
    served_model_id: str
    api_key_env: str
    timeout_s: float
    stream: bool
    max_concurrency: int
    requests_per_minute: int | None
    tokens_per_minute: int | None
    decoding: dict[str, Any]


@dataclass
class Job:
    response_id: int
    messages: list[dict[str, str]]
    seed: int | None
    first_attempt: int
    max_attempts: int


@dataclass
class AttemptRecord:
    number: int
    outcome: str
    started_at: datetime
    latency_ms: int
    http_status: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = ""
    error: str = ""


@dataclass
class JobResult:
    response_id: int
    attempts: list[AttemptRecord] = field(default_factory=list)
    result: CallResult | None = None
    error: str = ""
    # Set when this job was never asked because the endpoint was stopped.
    skipped: bool = False


def endpoint_stop_message(endpoint: EndpointConfig, failure: AttemptFailed) -> str:
    """Explain a 400/401/403/404 from endpoint and name the likely fix, in English.

    Pages and commands show it in the reader's language through
    medexam.failures.failure_text_display.
    """
    return english(
        endpoint_stop_text,
        name=endpoint.name,
        base_url=endpoint.base_url,
        served_model_id=endpoint.served_model_id,
        api_key_env=endpoint.api_key_env,
        decoding=endpoint.decoding,
        http_status=failure.http_status or 0,
        server_message=failure.message,
    )


# One event loop per worker process is kept between batches, together with
# the clients bound to it. A new loop per batch would pay for a new TLS
# context, new HTTP connections and a new Redis pool: about 130 ms of CPU per
# batch, measured with cProfile on the shared 2-core development machine.
_loop: asyncio.AbstractEventLoop | None = None
_clients: dict[tuple, tuple[AsyncOpenAI, EndpointLimiter]] = {}


def run_in_worker_loop(coroutine):
    """Run coroutine to completion on this process's persistent event loop."""
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        _clients.clear()
    return _loop.run_until_complete(coroutine)


def close_worker_loop() -> None:
    """Close the kept clients, their connections and the loop (at process exit)."""
    global _loop
    if _loop is None or _loop.is_closed():
        return

    async def close_all() -> None:
        for client, limiter in _clients.values():
            await client.close()
            await limiter.close()

    try:
        _loop.run_until_complete(close_all())
    finally:
        _clients.clear()
        _loop.close()
        _loop = None


# An exiting process would otherwise leave aiohttp connectors open and warn.
atexit.register(close_worker_loop)


def _client_and_limiter(
    endpoint: EndpointConfig, redis_url: str | None
) -> tuple[AsyncOpenAI, EndpointLimiter]:
    key = (
        endpoint.id,
        endpoint.base_url,
        endpoint.api_key_env,
        endpoint.timeout_s,
        endpoint.max_concurrency,
        endpoint.requests_per_minute,
        endpoint.tokens_per_minute,
        redis_url,
    )
    if key not in _clients:
        limiter = EndpointLimiter(
            endpoint_id=endpoint.id,
            max_concurrency=endpoint.max_concurrency,
            ttl_s=endpoint.timeout_s + LEASE_MARGIN_S,
            redis_url=redis_url,
            requests_per_minute=endpoint.requests_per_minute,
            tokens_per_minute=endpoint.tokens_per_minute,
        )
        client = AsyncOpenAI(
            base_url=endpoint.base_url,
            api_key=os.environ.get(endpoint.api_key_env or "", "") or "not-needed",
            max_retries=0,
            timeout=endpoint.timeout_s,
            http_client=_http_client(endpoint),
        )
        _clients[key] = (client, limiter)
    return _clients[key]


async def answer_jobs(
    endpoint: EndpointConfig,
    jobs: list[Job],
    *,
    redis_url: str | None,
    retry_base_s: float,
    retry_cap_s: float,
) -> tuple[list[JobResult], str]:
    """Answer every job concurrently within the endpoint's limits.

    Returns the results in job order and, if the endpoint rejected a request
    with 400/401/403/404, the message that stops it (else ""). Run it with
    run_in_worker_loop, which keeps the endpoint's client between batches.
    """
    client, limiter = _client_and_limiter(endpoint, redis_url)
    stop: dict[str, str] = {}
    try:
        # A task group cancels the other requests if one raises, so nothing of a
        # failed batch keeps running on the loop into the next batch.
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(
                    _answer_one(endpoint, job, client, limiter, stop, retry_base_s, retry_cap_s)
                )
                for job in jobs
            ]
    finally:
        # Leases kept for this batch's own waiters go back to the other workers.
        await limiter.release_spare()
    return [task.result() for task in tasks], stop.get("message", "")


def _http_client(endpoint: EndpointConfig) -> httpx.AsyncClient:
    # The aiohttp transport (openai[aiohttp]) spent about a third of the CPU
    # per request of httpx's own pool in bench/bench_generation.py (4 ms
    # against 12 ms on a shared 2-core machine), and CPU is what limits one
    # worker process.
    try:
        from openai import DefaultAioHttpClient

        return DefaultAioHttpClient(timeout=endpoint.timeout_s)
    except (ImportError, RuntimeError):
        return httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=endpoint.max_concurrency,
                max_keepalive_connections=endpoint.max_concurrency,
            ),
            timeout=endpoint.timeout_s,
        )


async def _answer_one(
    endpoint: EndpointConfig,
    job: Job,
    client: AsyncOpenAI,
    limiter: EndpointLimiter,
    stop: dict[str, str],
    retry_base_s: float,
    retry_cap_s: float,
) -> JobResult:
    outcome = JobResult(response_id=job.response_id)
    params = dict(endpoint.decoding)
    if job.seed is not None:
        params["seed"] = job.seed
    label = endpoint.name

    last_number = job.first_attempt + job.max_attempts - 1
    for number in range(job.first_attempt, last_number + 1):
        if stop:
            outcome.skipped = True
            return outcome

        token = await limiter.acquire()
        started_at = timezone.now()
        start = time.perf_counter()
        metrics.REQUESTS_IN_FLIGHT.labels(label).inc()
        try:
            result = await request_completion(
                client,
                model=endpoint.served_model_id,
                messages=job.messages,
                params=params,
                stream=endpoint.stream,
            )
        except AttemptFailed as failure:
            result, error = None, failure
        finally:
            metrics.REQUESTS_IN_FLIGHT.labels(label).dec()
            await limiter.release(token)
        latency_ms = int((time.perf_counter() - start) * 1000)

        if result is not None:
            outcome.attempts.append(_record_success(number, started_at, latency_ms, result))
            outcome.result = result
            _observe_success(label, latency_ms, result)
            tokens = (result.prompt_tokens or 0) + (result.completion_tokens or 0)
            await limiter.record_tokens(tokens)
            return outcome

        outcome.attempts.append(
            AttemptRecord(
                number=number,
                outcome=error.outcome,
                started_at=started_at,
                latency_ms=latency_ms,
                http_status=error.http_status,
                error=error.message[:2000],
            )
        )
        outcome.error = error.message
        metrics.REQUEST_LATENCY.labels(label, error.outcome).observe(latency_ms / 1000)
        metrics.ERRORS.labels(label, error.outcome).inc()

        if error.stops_endpoint:
            stop.setdefault("message", endpoint_stop_message(endpoint, error))
            logger.error(
                "response %s: endpoint %s stopped: %s", job.response_id, label, error.message
            )
            return outcome
        if not error.retryable or number == last_number:
            logger.warning(
                "response %s failed after attempt %s on endpoint %s: %s",
                job.response_id,
                number,
                label,
                error.message,
            )
            return outcome

        delay = backoff_delay_s(
            number - job.first_attempt + 1,
            base_s=retry_base_s,
            cap_s=retry_cap_s,
            retry_after_s=error.retry_after_s,
        )
        logger.info(
            "response %s attempt %s on endpoint %s: %s; retrying in %.2f s",
            job.response_id,
            number,
            label,
            error.outcome,
            delay,
        )
        await asyncio.sleep(delay)
    return outcome


def _record_success(
    number: int, started_at: datetime, latency_ms: int, result: CallResult
) -> AttemptRecord:
    return AttemptRecord(
        number=number,
        outcome=Attempt.Outcome.OK,
        started_at=started_at,
        latency_ms=latency_ms,
        http_status=200,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        finish_reason=result.finish_reason,
    )


def _observe_success(label: str, latency_ms: int, result: CallResult) -> None:
    metrics.REQUEST_LATENCY.labels(label, Attempt.Outcome.OK).observe(latency_ms / 1000)
    if result.prompt_tokens is not None:
        metrics.TOKENS.labels(label, "prompt").inc(result.prompt_tokens)
    if result.completion_tokens is not None:
        metrics.TOKENS.labels(label, "completion").inc(result.completion_tokens)
