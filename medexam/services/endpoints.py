"""Checks of model endpoints made from the admin."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import openai

from medexam.models import Endpoint

logger = logging.getLogger(__name__)

# A connection test should return quickly even when runs allow long generations.
TEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    latency_ms: int
    message: str


def endpoint_test_connection(*, endpoint_id: int) -> ConnectionResult:
    """Send one tiny chat completion to the endpoint and time it.

    The API key is read from the environment variable the endpoint names;
    neither the key nor the request headers are logged or returned.
    """
    endpoint = Endpoint.objects.get(pk=endpoint_id)
    if endpoint.kind == Endpoint.Kind.BASELINE:
        return ConnectionResult(True, 0, "built-in baseline: no server to call")

    api_key = os.environ.get(endpoint.api_key_env, "") if endpoint.api_key_env else ""
    if endpoint.api_key_env and not api_key:
        return ConnectionResult(
            False, 0, f"environment variable {endpoint.api_key_env} is not set on this server"
        )
    client = openai.OpenAI(
        base_url=endpoint.base_url,
        api_key=api_key or "not-needed",
        timeout=min(endpoint.timeout_s, TEST_TIMEOUT_S),
        max_retries=0,
    )
    started = time.monotonic()
    try:
        completion = client.chat.completions.create(
            model=endpoint.served_model_id,
            messages=[{"role": "user", "content": "ping"}],
            max_tokens=1,
        )
    except openai.APIError as exc:
        latency_ms = int((time.monotonic() - started) * 1000)
        status = getattr(exc, "status_code", None)
        detail = f"HTTP {status}" if status else type(exc).__name__
        logger.warning("endpoint %s test failed after %d ms: %s", endpoint.pk, latency_ms, detail)
        message = exc.message.replace(api_key, "***") if api_key else exc.message
        return ConnectionResult(False, latency_ms, f"{detail}: {message}")
    finally:
        client.close()

    latency_ms = int((time.monotonic() - started) * 1000)
    logger.info("endpoint %s test completion returned in %d ms", endpoint.pk, latency_ms)
    return ConnectionResult(True, latency_ms, f"served model {completion.model!r}")
