"""gunicorn settings for the medexam web process (values come from the environment)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Two workers per core plus one is gunicorn's usual starting point for sync workers.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# Exports and agreement pages can take a while. Model calls never run in the web process.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Load Django in the master and fork the workers from it, so that a new
# worker, or one restarted after max_requests, starts with the code imported.
preload_app = True


def when_ready(server):
    # Django imports the URLconf, and with it every view module (pandas,
    # matplotlib, scipy: about 1.5 s of CPU), on the first request a process
    # serves. Import it here, in the master before the workers are forked, so
    # no physician's request waits for it. This opens no database connection:
    # a connection shared by forked workers would be corrupted.
    from django.urls import get_resolver

    patterns = get_resolver().url_patterns
    server.log.info("URLconf imported before forking: %d top-level patterns", len(patterns))


def child_exit(server, worker):
    # With PROMETHEUS_MULTIPROC_DIR set, drop a dead worker's live gauges.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
