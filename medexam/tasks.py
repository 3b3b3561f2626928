"""Celery tasks of the question bank: imports, dataset version builds, validity refreshes."""

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


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=3000, time_limit=3300)
def build_dataset_version_task(version_id: int) -> None:
    """Build dataset version version_id; a version already built or being built is left alone."""
    from medexam.services.datasets import dataset_version_build

    logger.info("dataset version build task for version %s received", version_id)
    dataset_version_build(version_id=version_id)


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def near_duplicates_refresh_task() -> None:
    """Recompute the near-duplicate groups of the whole bank; running it twice is harmless."""
    from medexam.services.near_duplicates import near_duplicates_refresh

    near_duplicates_refresh()


# The limits exceed the version build's, because a refresh waits for a running build.
@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=3400, time_limit=3500)
def validity_refresh_questions_task(question_ids: list[int]) -> None:
    """Recompute the validity of questions whose reviews or adjudications changed.

    Running it twice writes the same statuses.
    """
    from medexam.services.datasets import validity_refresh_questions

    logger.info("validity refresh task for %d questions received", len(question_ids))
    validity_refresh_questions(question_ids=question_ids)
