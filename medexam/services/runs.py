"""Evaluation runs: create, start, pause, resume, cancel, finish, and progress.

A run's responses are created PENDING in bulk when it starts, one per
(question, sample_index); workers claim and answer them (workers.tasks). A
run finishes exactly once, through a conditional UPDATE on its status, and
_on_run_finished is called by whichever process wins that update.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from medexam.models import (
    Endpoint,
    EvaluationRun,
    LanguageModel,
    ModelResponse,
    PromptTemplate,
    Question,
)
from workers.prompts import rotate_letters
from workers.voting import majority_vote

logger = logging.getLogger(__name__)

Status = EvaluationRun.Status
State = ModelResponse.State

DEFAULT_TEMPLATE_NAME = "default-zh"
DEFAULT_SYSTEM_TEXT = "你是一名正在参加中国医师职称考试的临床医生，请认真作答。"
DEFAULT_USER_TEMPLATE = (
    "以下是一道{question_type}。\n\n{stem}\n\n{options}\n\n"
    "请简要分析后作答，最后一行写“答案：”加上所选选项的字母（多选题写出全部正确选项的字母）。"
)


def prompt_template_get_default() -> PromptTemplate:
    """Return the default Chinese prompt template, creating version 1 if none exists."""
    template, created = PromptTemplate.objects.get_or_create(
        name=DEFAULT_TEMPLATE_NAME,
        version=1,
        defaults={"system_text": DEFAULT_SYSTEM_TEXT, "user_template": DEFAULT_USER_TEMPLATE},
    )
    if created:
        logger.info("created default prompt template %s", template.pk)
    return template


def questions_select(question_filter: dict[str, Any]):
    """Return the active questions a run's question_filter selects, in id order.

    Keys: specialty (code), level (code), source, question_ids (list), limit (int).
    """
    questions = Question.objects.filter(status=Question.Status.ACTIVE).order_by("id")
    if question_filter.get("specialty"):
        questions = questions.filter(specialty__code=question_filter["specialty"])
    if question_filter.get("level"):
        questions = questions.filter(level__code=question_filter["level"])
    if question_filter.get("source"):
        questions = questions.filter(source=question_filter["source"])
    if question_filter.get("question_ids"):
        questions = questions.filter(id__in=question_filter["question_ids"])
    if question_filter.get("limit"):
        questions = questions[: int(question_filter["limit"])]
    return questions


def run_create(
    *,
    model: LanguageModel,
    prompt_template: PromptTemplate,
    endpoint: Endpoint | None = None,
    question_filter: dict[str, Any] | None = None,
    samples_per_question: int = 1,
    seed: int | None = None,
    shuffle_options: bool = False,
    decoding: dict[str, Any] | None = None,
    name: str = "",
    created_by=None,
) -> EvaluationRun:
    """Create a PENDING run of model; the endpoint defaults to the model's first active one.

    decoding overrides the endpoint's decoding parameters for this run only.
    """
    if endpoint is None:
        endpoint = model.endpoints.filter(is_active=True).order_by("id").first()
        if endpoint is None:
            raise ValueError(
                f"model {model.name!r} has no active endpoint; register one with add_model."
            )
    if samples_per_question < 1:
        raise ValueError(f"samples_per_question={samples_per_question} must be at least 1.")

    run = EvaluationRun.objects.create(
        name=name or f"{model.name} · {prompt_template}",
        model=model,
        endpoint=endpoint,
        prompt_template=prompt_template,
        question_filter=question_filter or {},
        samples_per_question=samples_per_question,
        seed=seed,
        shuffle_options=shuffle_options,
        decoding={**endpoint.decoding, **(decoding or {})},
        created_by=created_by,
    )
    logger.info("created run %s of model %s on endpoint %s", run.pk, model.pk, endpoint.pk)
    return run


def _response_rows(run: EvaluationRun) -> list[ModelResponse]:
    rows = []
    for question in questions_select(run.question_filter):
        letters = question.letters
        rotations = range(len(letters)) if run.shuffle_options else range(1)
        for sample in range(run.samples_per_question):
            for rotation in rotations:
                index = sample * len(rotations) + rotation
                rows.append(
                    ModelResponse(
                        run=run,
                        question=question,
                        sample_index=index,
                        option_order=rotate_letters(letters, rotation)
                        if run.shuffle_options
                        else "",
                        seed=None if run.seed is None else run.seed + index,
                        prompt_hash=run.prompt_template.content_hash,
                        decoding=run.decoding,
                    )
                )
    return rows


def run_start(*, run_id: int) -> int:
    """Create the run's PENDING responses, mark it running and enqueue the work.

    Returns the number of responses created. Starting a run that is not
    PENDING changes nothing and returns 0.
    """
    from workers.tasks import dispatch_run

    with transaction.atomic():
        started = EvaluationRun.objects.filter(pk=run_id, status=Status.PENDING).update(
            status=Status.RUNNING, started_at=timezone.now()
        )
        if not started:
            logger.info("run %s is not pending; start ignored", run_id)
            return 0
        run = EvaluationRun.objects.select_related("prompt_template").get(pk=run_id)
        rows = _response_rows(run)
        ModelResponse.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        transaction.on_commit(lambda: dispatch_run.delay(run_id))

    logger.info("started run %s with %s responses", run_id, len(rows))
    if not rows:
        run_finish_if_done(run_id=run_id)
    return len(rows)


def run_pause(*, run_id: int) -> bool:
    """Pause a running run: requests in flight finish, nothing new is claimed."""
    paused = EvaluationRun.objects.filter(pk=run_id, status=Status.RUNNING).update(
        status=Status.PAUSED
    )
    logger.info("run %s pause requested: %s", run_id, "paused" if paused else "not running")
    return bool(paused)


def run_resume(*, run_id: int) -> bool:
    """Resume a paused run and enqueue its pending responses."""
    from workers.tasks import dispatch_run

    with transaction.atomic():
        resumed = EvaluationRun.objects.filter(pk=run_id, status=Status.PAUSED).update(
            status=Status.RUNNING
        )
        if resumed:
            transaction.on_commit(lambda: dispatch_run.delay(run_id))
    logger.info("run %s resume requested: %s", run_id, "resumed" if resumed else "not paused")
    return bool(resumed)


def run_cancel(*, run_id: int) -> bool:
    """Cancel a run: its pending responses are failed as cancelled; in-flight ones finish."""
    with transaction.atomic():
        cancelled = EvaluationRun.objects.filter(
            pk=run_id, status__in=[Status.PENDING, Status.RUNNING, Status.PAUSED]
        ).update(status=Status.CANCELLED, finished_at=timezone.now())
        if cancelled:
            ModelResponse.objects.filter(run_id=run_id, state=State.PENDING).update(
                state=State.FAILED,
                error="cancelled before it was sent",
                extraction_status=ModelResponse.Extraction.ERROR,
                finished_at=timezone.now(),
            )
    if cancelled:
        logger.info("cancelled run %s", run_id)
        _on_run_finished(run_id)
    return bool(cancelled)


def run_finish_if_done(*, run_id: int) -> bool:
    """Finish a running run whose responses are all done or failed; True if this call did."""
    unfinished = ModelResponse.objects.filter(
        run_id=run_id, state__in=[State.PENDING, State.IN_PROGRESS]
    )
    if unfinished.exists():
        return False
    has_failures = ModelResponse.objects.filter(run_id=run_id, state=State.FAILED).exists()
    status = Status.COMPLETED_WITH_ERRORS if has_failures else Status.COMPLETED

    # Only one caller can move the run out of RUNNING, so it finishes once.
    finished = EvaluationRun.objects.filter(pk=run_id, status=Status.RUNNING).update(
        status=status, finished_at=timezone.now()
    )
    if not finished:
        return False
    logger.info("run %s finished: %s", run_id, status)
    _on_run_finished(run_id)
    return True


def runs_stop_for_endpoint(*, endpoint_id: int, reason: str) -> list[int]:
    """Disable an endpoint that rejected a request, and fail its running and paused runs.

    Their pending responses become FAILED with the reason; returns the ids of
    the runs this call stopped.
    """
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint_id, disabled_reason="").update(disabled_reason=reason)
        run_ids = list(
            EvaluationRun.objects.select_for_update()
            .filter(endpoint_id=endpoint_id, status__in=[Status.RUNNING, Status.PAUSED])
            .values_list("id", flat=True)
        )
        EvaluationRun.objects.filter(id__in=run_ids).update(
            status=Status.FAILED, error_message=reason, finished_at=timezone.now()
        )
        ModelResponse.objects.filter(run_id__in=run_ids, state=State.PENDING).update(
            state=State.FAILED,
            error=reason,
            extraction_status=ModelResponse.Extraction.ERROR,
            finished_at=timezone.now(),
        )
    for run_id in run_ids:
        logger.error("run %s stopped: %s", run_id, reason)
        _on_run_finished(run_id)
    return run_ids


def _on_run_finished(run_id: int) -> None:
    """Hook called exactly once per run, when it leaves running for a final status.

    The final status may be completed, completed_with_errors, failed or
    cancelled; read it from the run.
    """
    from review.services import assignments_create_for_run

    run = EvaluationRun.objects.only("status").get(pk=run_id)
    if run.status not in (Status.COMPLETED, Status.COMPLETED_WITH_ERRORS):
        logger.info("run %s finished as %s; nothing sent to review", run_id, run.status)
        return
    slots = assignments_create_for_run(run_id=run_id)
    logger.info("run %s finished; %s review slots created", run_id, slots)


def run_majority_votes(*, run_id: int) -> dict[int, str | None]:
    """Return each question's majority answer over the run's samples (question id -> letters).

    Only responses whose extraction is "ok" vote. A tie, or no such response,
    gives None.
    """
    letters_by_question: dict[int, list[str]] = {}
    rows = ModelResponse.objects.filter(
        run_id=run_id, extraction_status=ModelResponse.Extraction.OK
    ).values_list("question_id", "extracted_letters")
    for question_id in ModelResponse.objects.filter(run_id=run_id).values_list(
        "question_id", flat=True
    ):
        letters_by_question.setdefault(question_id, [])
    for question_id, letters in rows:
        letters_by_question[question_id].append(letters)
    return {
        question_id: majority_vote(answers) for question_id, answers in letters_by_question.items()
    }


@dataclass(frozen=True)
class RunProgress:
    total: int
    pending: int
    in_flight: int
    done: int
    failed: int
    rate_per_s: float
    seconds_left: float | None

    @property
    def finished_count(self) -> int:
        return self.done + self.failed


def run_progress(*, run_id: int, window_s: int = 60) -> RunProgress:
    """Count a run's responses by state; rate is over the last window_s seconds."""
    since = timezone.now() - timedelta(seconds=window_s)
    counts = ModelResponse.objects.filter(run_id=run_id).aggregate(
        total=Count("id"),
        pending=Count("id", filter=Q(state=State.PENDING)),
        in_flight=Count("id", filter=Q(state=State.IN_PROGRESS)),
        done=Count("id", filter=Q(state=State.DONE)),
        failed=Count("id", filter=Q(state=State.FAILED)),
        recent=Count("id", filter=Q(finished_at__gte=since)),
    )
    run = EvaluationRun.objects.only("started_at").get(pk=run_id)
    elapsed = window_s
    if run.started_at is not None:
        elapsed = min(window_s, max(1.0, (timezone.now() - run.started_at).total_seconds()))
    rate = counts["recent"] / elapsed
    remaining = counts["pending"] + counts["in_flight"]
    seconds_left = remaining / rate if rate > 0 else None
    return RunProgress(
        total=counts["total"],
        pending=counts["pending"],
        in_flight=counts["in_flight"],
        done=counts["done"],
        failed=counts["failed"],
        rate_per_s=rate,
        seconds_left=0.0 if remaining == 0 else seconds_left,
    )
