"""Dataset versions: immutable snapshots of the question set after review.

A version freezes, per question, the record that exports write: stem, options,
the answer key after adjudication, the original key, validity and its reasons,
and a review summary that names no reviewer. The content hash is SHA-256 over
the records in question order, so two versions with the same content share it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from kombu.exceptions import OperationalError as KombuOperationalError

from medexam.models import DatasetItem, DatasetVersion, Question, QuestionChange, ValidityRuleSet
from review import agreement
from review.agreement_report import agreement_report, item_summaries, review_rows
from review.validity import Rules, adjudicated_keys, sole_rule_set, validity_apply

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
# First key of the PostgreSQL advisory locks that guard version builds. The
# second key is the version id, or ALL_BUILDS_KEY (no version has id 0) for the
# lock that lets one build run at a time.
BUILD_LOCK_CLASS = 4207
ALL_BUILDS_KEY = 0


def record_for(
    question: dict[str, Any],
    summary: dict[str, Any] | None,
    corrected_key: str | None,
    original_key: str | None = None,
) -> dict[str, Any]:
    """Build the exported record of one question from its row values.

    The keys follow the project's JSONL question schema, plus question_id,
    validity, validity_reasons, review_summary and original_answer: the key
    the question had before its first recorded key change, else its key.
    """
    return {
        "question_id": question["id"],
        "stem": question["stem"],
        "options": question["options"],
        "answer": corrected_key or question["answer_key"],
        "type": question["question_type"],
        "specialty": question["specialty__code"],
        "level": question["level__code"],
        "explanation": question["explanation"],
        "source": question["source"],
        "source_id": question["source_id"],
        "validity": question["validity"],
        "validity_reasons": question["validity_reasons"],
        "review_summary": summary,
        "original_answer": original_key or question["answer_key"],
    }


def original_keys(question_ids: list[int]) -> dict[int, str]:
    """Return the answer key each question had before its first recorded key change.

    A corrected key is written to the question itself (and its responses are
    rescored), so the key the source gave survives only in the history.
    """
    first: dict[int, str] = {}
    changes = (
        QuestionChange.objects.filter(question_id__in=question_ids, field="answer_key")
        .order_by("question_id", "changed_at", "id")
        .values_list("question_id", "old_value")
    )
    for question_id, old_value in changes:
        first.setdefault(question_id, old_value)
    return first


QUESTION_FIELDS = (
    "id",
    "stem",
    "options",
    "answer_key",
    "question_type",
    "specialty__code",
    "level__code",
    "explanation",
    "source",
    "source_id",
    "validity",
    "validity_reasons",
)


def question_records(
    queryset: QuerySet[Question], *, with_reviews: bool = True
) -> Iterator[dict[str, Any]]:
    """Yield the record of each question in queryset, in id order, a chunk at a time.

    Reviews and adjudications are loaded per chunk, so memory depends on the
    chunk size and not on the number of questions.
    """
    chunk: list[dict[str, Any]] = []
    rows = queryset.order_by("id").values(*QUESTION_FIELDS).iterator(chunk_size=CHUNK_SIZE)
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK_SIZE:
            yield from _chunk_records(chunk, with_reviews)
            chunk = []
    if chunk:
        yield from _chunk_records(chunk, with_reviews)


def _chunk_records(chunk: list[dict[str, Any]], with_reviews: bool) -> Iterator[dict[str, Any]]:
    ids = [row["id"] for row in chunk]
    summaries = item_summaries(review_rows(question_ids=ids)) if with_reviews else {}
    keys = adjudicated_keys(ids) if with_reviews else {}
    originals = original_keys(ids)
    for row in chunk:
        yield record_for(
            row, summaries.get(row["id"]), keys.get(row["id"]), originals.get(row["id"])
        )


def version_records(version: DatasetVersion) -> Iterator[dict[str, Any]]:
    """Yield the frozen records of a dataset version in question order."""
    items = (
        DatasetItem.objects.filter(dataset=version)
        .order_by("question_id")
        .values_list("record", flat=True)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    yield from items


def canonical_line(record: dict[str, Any]) -> bytes:
    """Serialise a record the same way every time, for hashing and JSONL."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, allow_nan=False).encode("utf-8")


def _count_summary(counts: dict[str, Counter[str]]) -> dict[str, Any]:
    return {name: dict(sorted(counter.items())) for name, counter in counts.items()}


def summarise_records(records: Iterator[dict[str, Any]]) -> dict[str, Any]:
    """Count records per specialty, level, validity and question type in one pass."""
    counts: dict[str, Counter[str]] = {
        "specialty": Counter(),
        "level": Counter(),
        "validity": Counter(),
        "type": Counter(),
        "specialty_level": Counter(),
    }
    total = 0
    for record in records:
        total += 1
        specialty = record["specialty"] or "(none)"
        level = record["level"] or "(none)"
        counts["specialty"][specialty] += 1
        counts["level"][level] += 1
        counts["validity"][record["validity"]] += 1
        counts["type"][record["type"]] += 1
        counts["specialty_level"][f"{specialty}/{level}"] += 1
    return {"items": total, "counts": _count_summary(counts)}


def agreement_summary(
    bootstrap_samples: int = agreement.BOOTSTRAP_SAMPLES,
    resampling: agreement.Resampling = agreement.BOOTSTRAP_METHOD,
    question_ids: Iterable[int] | None = None,
) -> dict[str, Any]:
    """Return the overall agreement per rubric dimension.

    With question_ids (a list or a values_list query), only the reviews of
    those questions count; otherwise every stored review does.
    """
    report = agreement_report(
        bootstrap_samples=bootstrap_samples, resampling=resampling, question_ids=question_ids
    )
    return report["overall"]


def dataset_version_request(
    *,
    name: str,
    rule_set_id: int,
    user: AbstractBaseUser | AnonymousUser | None = None,
    validated_only: bool = True,
    bootstrap_samples: int = agreement.BOOTSTRAP_SAMPLES,
    resampling: agreement.Resampling = agreement.BOOTSTRAP_METHOD,
    enqueue: bool = True,
) -> DatasetVersion:
    """Reserve the next version number of name as a pending version.

    With enqueue, a Celery worker builds it (build_dataset_version_task) once
    the current transaction commits. Raises ValueError on a blank name, an
    unknown resampling, an invalid rule set or an unreachable broker.
    """
    name = name.strip()
    if not name:
        raise ValueError("Dataset name is missing; give a short name such as 'cmb-validated'.")
    if resampling not in agreement.RESAMPLINGS:
        raise ValueError(
            f"Unknown resampling {resampling!r}; use one of {', '.join(agreement.RESAMPLINGS)}."
        )
    rule_set = ValidityRuleSet.objects.get(pk=rule_set_id)
    rules = _rules_snapshot(rule_set, validated_only)
    version = _new_version(
        name,
        rule_set,
        rules,
        user,
        validated_only=validated_only,
        bootstrap_samples=bootstrap_samples,
        resampling=resampling,
    )
    logger.info(
        "dataset version requested id=%s name=%s version=%s", version.pk, name, version.version
    )
    if enqueue:
        transaction.on_commit(lambda: _enqueue_build(version.pk))
    return version


def _enqueue_build(version_id: int) -> None:
    """Send the build task; if the broker is unreachable, fail the version and raise ValueError."""
    from medexam.tasks import build_dataset_version_task

    try:
        build_dataset_version_task.delay(version_id)
    except KombuOperationalError as exc:
        logger.error("dataset version %s not queued, broker unreachable: %s", version_id, exc)
        reason = (
            f"The task broker could not be reached ({exc}); "
            "check that Redis is running, then request the version again."
        )
        _record_failure(version_id, reason)
        raise ValueError(reason) from exc


def dataset_version_create(
    *,
    name: str,
    rule_set_id: int,
    user: AbstractBaseUser | AnonymousUser | None = None,
    validated_only: bool = True,
    bootstrap_samples: int = agreement.BOOTSTRAP_SAMPLES,
    resampling: agreement.Resampling = agreement.BOOTSTRAP_METHOD,
) -> DatasetVersion:
    """Request a version and build it in this process; return it published.

    With validated_only, only validated, active questions enter the version.
    Otherwise every active question does, each with its validity status.
    Raises ValueError when the request is invalid or the build fails.
    """
    version = dataset_version_request(
        name=name,
        rule_set_id=rule_set_id,
        user=user,
        validated_only=validated_only,
        bootstrap_samples=bootstrap_samples,
        resampling=resampling,
        enqueue=False,
    )
    built = dataset_version_build(version_id=version.pk)
    if built is None or built.status != DatasetVersion.Status.PUBLISHED:
        reason = built.error_message if built is not None else _("another process is building it")
        raise ValueError(
            _("Dataset version %(version)s was not built: %(reason)s")
            % {"version": version, "reason": reason}
        )
    return built


def _rules_snapshot(rule_set: ValidityRuleSet, validated_only: bool) -> dict[str, Any]:
    return {
        "rule_set": rule_set.name,
        **Rules.from_rule_set(rule_set).as_dict(),
        "validated_only": validated_only,
    }


@contextmanager
def _all_builds_lock() -> Iterator[None]:
    """Hold the PostgreSQL session lock under which every question's validity is rewritten.

    Version builds and validity_refresh take it, so a build never selects its
    items by a status that another rule set has just overwritten. Other
    databases (the embedded SQLite default runs tasks in-process) get no lock.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [BUILD_LOCK_CLASS, ALL_BUILDS_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [BUILD_LOCK_CLASS, ALL_BUILDS_KEY])


@contextmanager
def _build_lock(version_id: int) -> Iterator[bool]:
    """Hold PostgreSQL session locks on one version's build; yield whether it was acquired.

    The version's own lock is only tried, so a second delivery of the same
    task returns at once. The shared lock of _all_builds_lock then makes
    builds of different versions wait for each other, because each build
    rewrites every question's validity under its own rule set before
    freezing the items. The locks end with the worker's database session, so
    a build whose worker died can be taken over by the redelivered task.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [BUILD_LOCK_CLASS, version_id])
        acquired = bool(cursor.fetchone()[0])
    if not acquired:
        yield False
        return
    try:
        with _all_builds_lock():
            yield True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [BUILD_LOCK_CLASS, version_id])


def validity_refresh(*, rule_set_id: int) -> dict[str, int]:
    """Apply a rule set to every question now, after any running version build finishes.

    Returns the number of questions per status, as validity_apply does.
    """
    with _all_builds_lock():
        return validity_apply(rule_set_id=rule_set_id)


@contextmanager
def _builds_shared_lock() -> Iterator[None]:
    """Hold the shared form of _all_builds_lock: wait for builds, not for other refreshes."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_lock_shared(%s, %s)", [BUILD_LOCK_CLASS, ALL_BUILDS_KEY]
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock_shared(%s, %s)", [BUILD_LOCK_CLASS, ALL_BUILDS_KEY]
            )


def validity_refresh_questions(*, question_ids: list[int]) -> dict[str, int] | None:
    """Recompute some questions' validity under the only rule set, after their reviews changed.

    Returns the number of questions per status, or None and changes nothing
    when there is no rule set or more than one.
    """
    rule_set = sole_rule_set()
    if rule_set is None:
        # NOTE: with several rule sets, validity stays as the last build or
        # export_dataset left it until a coordinator applies one of them.
        logger.info(
            "validity refresh of %d questions skipped: no single validity rule set",
            len(question_ids),
        )
        return None
    with _builds_shared_lock():
        return validity_apply(rule_set_id=rule_set.pk, question_ids=question_ids)


def dataset_version_build(*, version_id: int) -> DatasetVersion | None:
    """Build a pending version: apply its rule set, freeze the items, publish it.

    Safe to run twice: a published or failed version is left as it is, and a
    build that another process has locked is skipped (returns None). A version
    left in "building" by a worker that died is rebuilt from scratch. On an
    error the partial items are deleted and the version is marked failed with
    the reason. A ValueError (invalid rules or data) ends there, and any other
    error is raised again.
    """
    with _build_lock(version_id) as acquired:
        if not acquired:
            logger.info("dataset version %s is being built by another worker; skipped", version_id)
            return None
        version = DatasetVersion.objects.get(pk=version_id)
        if version.status in (DatasetVersion.Status.PUBLISHED, DatasetVersion.Status.FAILED):
            logger.info(
                "dataset version %s is already %s; not built again", version_id, version.status
            )
            return version
        if version.status == DatasetVersion.Status.BUILDING:
            logger.warning("dataset version %s was left building; building it again", version_id)
            DatasetItem.objects.filter(dataset_id=version_id).delete()

        DatasetVersion.objects.filter(pk=version_id).update(
            status=DatasetVersion.Status.BUILDING, item_count=0, error_message=""
        )
        try:
            _build(version_id)
        except ValueError as exc:
            # Invalid data or rules: the reason is for the coordinator, not a bug.
            logger.warning("dataset version %s build failed: %s", version_id, exc)
            _record_failure(version_id, str(exc))
        except Exception as exc:
            # Any other error, including Celery's soft time limit, must leave a
            # failed version with its reason instead of one that stays "building".
            logger.exception("dataset version %s build failed", version_id)
            _record_failure(version_id, f"{type(exc).__name__}: {exc}")
            raise
        return DatasetVersion.objects.get(pk=version_id)


def _record_failure(version_id: int, reason: str) -> None:
    DatasetItem.objects.filter(dataset_id=version_id).delete()
    DatasetVersion.objects.filter(pk=version_id).update(
        status=DatasetVersion.Status.FAILED,
        error_message=reason[:2000],
        item_count=0,
        finished_at=timezone.now(),
    )


def _build(version_id: int) -> None:
    version = DatasetVersion.objects.select_related("rule_set").get(pk=version_id)
    rule_set = version.rule_set
    if rule_set is None:
        raise ValueError(
            "The validity rule set was deleted after the request; request the version again."
        )
    started = time.monotonic()
    logger.info(
        "dataset version build started id=%s name=%s rule_set=%s",
        version_id,
        version.name,
        rule_set.pk,
    )

    # The rules are copied again here, so the version records exactly what was applied.
    rules = _rules_snapshot(rule_set, version.validated_only)
    validity_counts = validity_apply(rule_set_id=rule_set.pk)
    queryset = Question.objects.filter(status=Question.Status.ACTIVE)
    if version.validated_only:
        queryset = queryset.filter(validity=Question.Validity.VALIDATED)
    items_total = queryset.count()
    if items_total == 0:
        raise ValueError(_empty_version_reason(rule_set.name, version.validated_only))
    DatasetVersion.objects.filter(pk=version_id).update(rules=rules, items_total=items_total)

    digest = hashlib.sha256()
    summary_counts: dict[str, Counter[str]] = {"specialty": Counter(), "level": Counter()}
    batch: list[DatasetItem] = []
    total = 0
    for record in question_records(queryset):
        digest.update(canonical_line(record) + b"\n")
        summary_counts["specialty"][record["specialty"] or "(none)"] += 1
        summary_counts["level"][record["level"] or "(none)"] += 1
        batch.append(
            DatasetItem(dataset_id=version_id, question_id=record["question_id"], record=record)
        )
        total += 1
        if len(batch) >= CHUNK_SIZE:
            _store_items(version_id, batch, total)
            batch = []
    if batch:
        _store_items(version_id, batch, total)

    item_questions = DatasetItem.objects.filter(dataset_id=version_id).values("question_id")
    version.refresh_from_db()
    version.rules = rules
    version.content_hash = digest.hexdigest()
    version.item_count = total
    version.items_total = total
    version.summary = {
        "items": total,
        "validated_only": version.validated_only,
        "validity_of_all_questions": validity_counts,
        "counts": _count_summary(summary_counts),
        "agreement": agreement_summary(
            version.bootstrap_samples,
            version.resampling,
            question_ids=item_questions,  # type: ignore[arg-type]
        ),
        "agreement_scope": "reviews of this version's items",
    }
    if version.validated_only:
        # The rules keep only items whose reviewers agree, so agreement on the
        # kept items is high by construction; the datasheet sets this beside it.
        active_questions = Question.objects.filter(status=Question.Status.ACTIVE).values("pk")
        version.summary["agreement_before_selection"] = agreement_summary(
            version.bootstrap_samples,
            version.resampling,
            question_ids=active_questions,  # type: ignore[arg-type]
        )
    version.status = DatasetVersion.Status.PUBLISHED
    version.finished_at = timezone.now()
    version.save()
    logger.info(
        "dataset version build finished id=%s name=%s version=%s items=%d took %.0f ms",
        version_id,
        version.name,
        version.version,
        total,
        (time.monotonic() - started) * 1000,
    )


def _empty_version_reason(rule_set_name: str, validated_only: bool) -> str:
    """Explain why a version would have no item, listing the active questions per status."""
    active = Question.objects.filter(status=Question.Status.ACTIVE)
    if not validated_only or not active.exists():
        return _("There is no active question, so the version would be empty. Import questions.")
    labels = dict(Question.Validity.choices)
    counts = active.values_list("validity").annotate(n=Count("id")).order_by("validity")
    separator = pgettext("list separator", ", ")
    by_status = separator.join(f"{labels.get(status, status)} {n}" for status, n in counts)
    return _(
        "No active question is validated under rule set %(rule_set)s, so the version would be "
        "empty and was not published. Active questions by status: %(counts)s. Questions with "
        "too few reviews need more reviews, and disputed ones need a decision in the "
        "adjudication queue (/review/adjudicate/). To publish every active question with its "
        "status instead, tick “keep every active question” on the datasets page or pass "
        "--all-items."
    ) % {"rule_set": rule_set_name, "counts": by_status}


def _store_items(version_id: int, batch: list[DatasetItem], done: int) -> None:
    """Insert one batch of items and record the progress the datasets page shows."""
    with transaction.atomic():
        DatasetItem.objects.bulk_create(batch)
        DatasetVersion.objects.filter(pk=version_id).update(item_count=done)


def _new_version(
    name: str,
    rule_set: ValidityRuleSet,
    rules: dict[str, Any],
    user: AbstractBaseUser | AnonymousUser | None,
    *,
    validated_only: bool,
    bootstrap_samples: int,
    resampling: str,
) -> DatasetVersion:
    latest = DatasetVersion.objects.filter(name=name).aggregate(latest=Max("version"))["latest"]
    try:
        with transaction.atomic():
            return DatasetVersion.objects.create(
                name=name,
                version=(latest or 0) + 1,
                rule_set=rule_set,
                validated_only=validated_only,
                bootstrap_samples=bootstrap_samples,
                resampling=resampling,
                rules=rules,
                created_by=user if user is not None and user.is_authenticated else None,  # type: ignore[misc]
            )
    except IntegrityError as exc:
        # Two coordinators created a version of the same name at the same moment.
        raise ValueError(
            f"Version {(latest or 0) + 1} of dataset {name!r} was just created by someone else; "
            "create it again to get the next number."
        ) from exc


def dataset_version_get(label: str) -> DatasetVersion:
    """Find a version by "NAME:N" (or "NAME" for its latest version)."""
    name, _, number = label.partition(":")
    queryset = DatasetVersion.objects.filter(name=name)
    if number:
        if not number.isdigit():
            raise ValueError(f"Invalid version {label!r}; write NAME:N, e.g. cmb-validated:2.")
        queryset = queryset.filter(version=int(number))
    version = queryset.order_by("-version").first()
    if version is None:
        raise DatasetVersion.DoesNotExist(f"Dataset version {label!r} not found.")
    return version


def dataset_version_verify(version: DatasetVersion) -> bool:
    """Recompute a version's content hash from its stored items and compare it."""
    digest = hashlib.sha256()
    for record in version_records(version):
        digest.update(canonical_line(record) + b"\n")
    matches = digest.hexdigest() == version.content_hash
    if not matches:
        logger.warning("dataset version %s content hash mismatch", version.id)
    return matches
