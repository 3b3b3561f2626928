"""Celery tasks of the question bank: imports of large files."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, soft_time_limit=3000, time_limit=3300)
def import_questions_task(job_id: int) -> None:
    """Run import job job_id; a job that is no longer pending is left as it is."""
    from medexam.services.imports import import_job_execute

    logger.info("import task for job %s received", job_id)
    import_job_execute(job_id=job_id)


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def near_duplicates_refresh_task() -> None:
    """Recompute the near-duplicate groups of the whole bank; running it twice is harmless."""
    from medexam.services.near_duplicates import near_duplicates_refresh

    near_duplicates_refresh()
