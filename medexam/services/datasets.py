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
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet

from medexam.models import DatasetItem, DatasetVersion, Question, ValidityRuleSet
from review import agreement
from review.agreement_report import agreement_report, item_summaries, review_rows
from review.validity import Rules, adjudicated_keys, validity_apply

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000


def record_for(
    question: dict[str, Any], summary: dict[str, Any] | None, corrected_key: str | None
) -> dict[str, Any]:
    """Build the exported record of one question from its row values.

    The keys follow the project's JSONL question schema, plus question_id,
    validity, validity_reasons, review_summary and original_answer.
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
        "original_answer": question["answer_key"],
    }


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
    for row in chunk:
        yield record_for(row, summaries.get(row["id"]), keys.get(row["id"]))


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


def agreement_summary(bootstrap_samples: int = agreement.BOOTSTRAP_SAMPLES) -> dict[str, Any]:
    """Return the overall agreement per rubric dimension over every stored review."""
    report = agreement_report(bootstrap_samples=bootstrap_samples)
    return report["overall"]


def dataset_version_create(
    *,
    name: str,
    rule_set_id: int,
    user: AbstractBaseUser | AnonymousUser | None = None,
    validated_only: bool = True,
    bootstrap_samples: int = agreement.BOOTSTRAP_SAMPLES,
) -> DatasetVersion:
    """Apply a rule set, then freeze the resulting items as the next version of name.

    With validated_only, only validated, active questions enter the version.
    Otherwise every active question does, each with its validity status.
    """
    name = name.strip()
    if not name:
        raise ValueError("Dataset name is missing; give a short name such as 'cmb-validated'.")
    rule_set = ValidityRuleSet.objects.get(pk=rule_set_id)
    started = time.monotonic()
    logger.info("dataset version create started name=%s rule_set=%s", name, rule_set_id)

    validity_counts = validity_apply(rule_set_id=rule_set_id)
    queryset = Question.objects.filter(status=Question.Status.ACTIVE)
    if validated_only:
        queryset = queryset.filter(validity=Question.Validity.VALIDATED)

    with transaction.atomic():
        version = _new_version(name, rule_set, user, validated_only)
        digest = hashlib.sha256()
        summary_counts: dict[str, Counter[str]] = {"specialty": Counter(), "level": Counter()}
        batch: list[DatasetItem] = []
        total = 0
        for record in question_records(queryset):
            digest.update(canonical_line(record) + b"\n")
            summary_counts["specialty"][record["specialty"] or "(none)"] += 1
            summary_counts["level"][record["level"] or "(none)"] += 1
            batch.append(
                DatasetItem(dataset=version, question_id=record["question_id"], record=record)
            )
            total += 1
            if len(batch) >= CHUNK_SIZE:
                DatasetItem.objects.bulk_create(batch)
                batch = []
        if batch:
            DatasetItem.objects.bulk_create(batch)

        version.content_hash = digest.hexdigest()
        version.item_count = total
        version.summary = {
            "items": total,
            "validated_only": validated_only,
            "validity_of_all_questions": validity_counts,
            "counts": _count_summary(summary_counts),
            "agreement": agreement_summary(bootstrap_samples),
        }
        version.save(update_fields=["content_hash", "item_count", "summary"])

    logger.info(
        "dataset version create finished id=%s name=%s version=%s items=%d took %.0f ms",
        version.id,
        name,
        version.version,
        total,
        (time.monotonic() - started) * 1000,
    )
    return version


def _new_version(
    name: str,
    rule_set: ValidityRuleSet,
    user: AbstractBaseUser | AnonymousUser | None,
    validated_only: bool,
) -> DatasetVersion:
    latest = DatasetVersion.objects.filter(name=name).aggregate(latest=Max("version"))["latest"]
    try:
        with transaction.atomic():
            return DatasetVersion.objects.create(
                name=name,
                version=(latest or 0) + 1,
                rules={
                    "rule_set": rule_set.name,
                    **Rules.from_rule_set(rule_set).as_dict(),
                    "validated_only": validated_only,
                },
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
