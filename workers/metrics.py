"""Prometheus metrics of calls to model servers.

Celery's prefork children and gunicorn's workers are separate processes.
When PROMETHEUS_MULTIPROC_DIR is set (to an empty directory shared by the
web and worker processes on one host), prometheus_client writes each
process's values there and /metrics sums them. Without it, /metrics shows
only the web process's own values.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS_IN_FLIGHT = Gauge(
    "medexam_model_requests_in_flight",
    "Chat-completion requests currently waiting for a model server.",
    ["endpoint"],
    multiprocess_mode="livesum",
)
REQUEST_LATENCY = Histogram(
    "medexam_model_request_seconds",
    "Latency of chat-completion requests, successful or not.",
    ["endpoint", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
TOKENS = Counter(
    "medexam_model_tokens",
    "Tokens reported by model servers (usage may be missing).",
    ["endpoint", "kind"],
)
ERRORS = Counter(
    "medexam_model_request_errors",
    "Failed chat-completion attempts by outcome.",
    ["endpoint", "outcome"],
)


def serve_worker_metrics(port: int) -> None:
    """Serve this worker host's metrics on port, summed over its pool processes.

    Needs PROMETHEUS_MULTIPROC_DIR, so that the prefork children write their
    values where the parent process can read them.
    """
    import os

    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise RuntimeError(
            "MEDEXAM_WORKER_METRICS_PORT is set but PROMETHEUS_MULTIPROC_DIR is not; "
            "set it to an empty directory writable by the worker."
        )
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, registry=registry)
