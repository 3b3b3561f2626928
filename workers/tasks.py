"""Celery tasks of evaluation runs. Each takes ids and re-reads state, so a
task delivered twice changes nothing (claims are conditional UPDATEs)."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_init, worker_process_shutdown
from django.conf import settings
from django.utils import timezone

from medexam.models import EvaluationRun, ModelResponse

logger = logging.getLogger(__name__)

State = ModelResponse.State

# Above MODEL_MAX_ATTEMPTS request timeouts plus back-off in a realistic
# configuration, and below the broker's visibility timeout (3600 s).
BATCH_SOFT_LIMIT_S = 1800
BATCH_HARD_LIMIT_S = 1900


@worker_init.connect
def _serve_metrics(**_kwargs) -> None:
    port = os.environ.get("MEDEXAM_WORKER_METRICS_PORT")
    if port:
        from workers.metrics import serve_worker_metrics

        serve_worker_metrics(int(port))
        logger.info("worker metrics served on port %s", port)


@worker_process_shutdown.connect
def _close_model_clients(**_kwargs) -> None:
    # Pool processes leave through os._exit, which skips atexit handlers.
    from workers.generation import close_worker_loop

    close_worker_loop()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def dispatch_run(run_id: int) -> int:
    """Enqueue one answer_batch task per MODEL_BATCH_SIZE pending responses of a running run."""
    if not EvaluationRun.objects.filter(pk=run_id, status=EvaluationRun.Status.RUNNING).exists():
        logger.info("run %s is not running; nothing dispatched", run_id)
        return 0
    ids = list(
        ModelResponse.objects.filter(run_id=run_id, state=State.PENDING)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not ids:
        # A run resumed after its last response finished has nothing to send.
        from medexam.services.runs import run_finish_if_done

        run_finish_if_done(run_id=run_id)
        return 0
    size = settings.MODEL_BATCH_SIZE
    for start in range(0, len(ids), size):
        answer_batch.delay(run_id, ids[start : start + size])
    logger.info("run %s: dispatched %s responses in batches of %s", run_id, len(ids), size)
    return len(ids)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=BATCH_SOFT_LIMIT_S,
    time_limit=BATCH_HARD_LIMIT_S,
)
def answer_batch(run_id: int, response_ids: list[int]) -> int:
    """Answer the still-pending responses among response_ids; return how many were stored."""
    from workers.batches import batch_answer

    return batch_answer(run_id=run_id, response_ids=response_ids)


@shared_task(ignore_result=True)
def sweep_stale_responses(stale_after_s: float | None = None) -> int:
    """Return responses stuck IN_PROGRESS (a killed worker's) to PENDING and re-enqueue them.

    Also finishes running runs that have nothing left to do, in case the
    worker that finished the last response died before finishing the run.
    Returns the number of responses swept back.
    """
    from medexam.services.runs import run_finish_if_done

    stale_after = stale_after_s if stale_after_s is not None else settings.MODEL_STALE_AFTER_S
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    stale = ModelResponse.objects.filter(state=State.IN_PROGRESS, started_at__lt=cutoff)
    run_ids = set(stale.values_list("run_id", flat=True))
    swept = stale.update(state=State.PENDING, started_at=None)
    if swept:
        logger.warning(
            "swept %s stale responses of runs %s back to pending", swept, sorted(run_ids)
        )

    running = EvaluationRun.objects.filter(status=EvaluationRun.Status.RUNNING)
    for run_id in running.values_list("id", flat=True):
        if run_id in run_ids:
            dispatch_run.delay(run_id)
        else:
            run_finish_if_done(run_id=run_id)
    return swept
