"""Import of question files: validate every row, then store all of them or none."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from medexam import near_duplicates
from medexam.importers import ReaderOptions, RowError, detect_format, read_rows
from medexam.importers.validate import Catalogue, Defaults, ValidRow, validate_row
from medexam.models import ImportJob, Level, Question, Specialty
from medexam.services.near_duplicates import (
    near_duplicate_threshold,
    near_duplicates_refresh_enqueue,
    stems_by_id,
    stored_signatures,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
PROGRESS_EVERY = 5000
# The job row keeps at most this many rejected rows; the command prints them all.
STORED_ERRORS_MAX = 2000

ProgressCallback = Callable[[str, int], None]


@dataclass
class ImportReport:
    """Outcome of an import: rows created, already stored, skipped as repeats, and rejected."""

    job_id: int
    file_format: str
    dry_run: bool
    rows_total: int = 0
    created: int = 0
    unchanged: int = 0
    duplicates: list[dict[str, int]] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)
    near_duplicates: list[dict[str, object]] = field(default_factory=list)
    stored: bool = False
    seconds: float = 0.0


def catalogue_load() -> Catalogue:
    """Read the specialty and level codes, names and keywords from the database."""
    catalogue = Catalogue(specialty_ids={}, level_ids={})
    for specialty in Specialty.objects.all():
        catalogue.specialty_ids[specialty.code] = specialty.pk
        catalogue.keywords[specialty.code] = [str(word) for word in specialty.keywords or []]
        for alias in (specialty.code, specialty.name_zh, specialty.name_en):
            catalogue.specialty_aliases[alias.strip().lower()] = specialty.code
    for level in Level.objects.all():
        catalogue.level_ids[level.code] = level.pk
        for alias in (level.code, level.name_zh, level.name_en):
            catalogue.level_aliases[alias.strip().lower()] = level.code
    return catalogue


def import_job_create(
    *,
    path: Path,
    file_format: str = "",
    dry_run: bool = False,
    reader_options: ReaderOptions | None = None,
    defaults: Defaults | None = None,
    user_id: int | None = None,
) -> ImportJob:
    """Record an import of path as a pending job; import_job_execute runs it."""
    reader_options = reader_options or ReaderOptions()
    defaults = defaults or Defaults()
    file_format = file_format or detect_format(path)
    return ImportJob.objects.create(
        source_name=defaults.source or path.name,
        file_format=file_format,
        dry_run=dry_run,
        file_path=str(path.resolve()),
        parameters={
            "encoding": reader_options.encoding,
            "columns": reader_options.columns,
            "questions_path": reader_options.questions_path,
            "specialty": defaults.specialty,
            "level": defaults.level,
            "source": defaults.source,
        },
        created_by_id=user_id,
    )


def _options_from_job(job: ImportJob) -> tuple[ReaderOptions, Defaults]:
    params = job.parameters or {}
    reader_options = ReaderOptions(
        encoding=params.get("encoding", ""),
        columns=list(params.get("columns") or []),
        questions_path=params.get("questions_path", ""),
    )
    defaults = Defaults(
        specialty=params.get("specialty", ""),
        level=params.get("level", ""),
        source=params.get("source", ""),
    )
    return reader_options, defaults


def _set_progress(job_id: int, rows_done: int, progress: ProgressCallback | None) -> None:
    ImportJob.objects.filter(pk=job_id).update(rows_done=rows_done)
    if progress:
        progress("read", rows_done)


def _validate_file(
    job: ImportJob, report: ImportReport, progress: ProgressCallback | None
) -> list[ValidRow]:
    """Read and validate every row; keep the first of exact repeats within the file."""
    reader_options, defaults = _options_from_job(job)
    catalogue = catalogue_load()
    first_line_by_hash: dict[str, ValidRow] = {}
    valid_rows: list[ValidRow] = []

    for item in read_rows(Path(job.file_path), job.file_format, reader_options):
        if isinstance(item, RowError):
            report.rejected.append(item)
            continue
        report.rows_total += 1
        if report.rows_total % PROGRESS_EVERY == 0:
            _set_progress(job.pk, report.rows_total, progress)

        result = validate_row(item, catalogue=catalogue, defaults=defaults)
        if isinstance(result, list):
            report.rejected.extend(result)
            continue
        earlier = first_line_by_hash.get(result.content_hash)
        if earlier is None:
            first_line_by_hash[result.content_hash] = result
            valid_rows.append(result)
        elif earlier.answer_key == result.answer_key:
            report.duplicates.append({"line": result.line, "first_line": earlier.line})
        else:
            reason = _(
                "repeats line %(first)s (same stem and options) with answer %(key)s instead of "
                "%(first_key)s; keep one of the two rows, with the correct answer"
            ) % {"first": earlier.line, "key": result.answer_key, "first_key": earlier.answer_key}
            report.rejected.append(RowError(result.line, "answer", reason))
    return valid_rows


def _split_stored(rows: list[ValidRow]) -> tuple[list[ValidRow], dict[str, tuple[int, str]]]:
    """Return the rows not yet stored, and {content_hash: (id, answer_key)} of those that are."""
    stored: dict[str, tuple[int, str]] = {}
    hashes = [row.content_hash for row in rows]
    for start in range(0, len(hashes), BATCH_SIZE):
        chunk = hashes[start : start + BATCH_SIZE]
        for pk, content_hash, answer_key in Question.objects.filter(
            content_hash__in=chunk
        ).values_list("pk", "content_hash", "answer_key"):
            stored[content_hash] = (pk, answer_key)
    new_rows = [row for row in rows if row.content_hash not in stored]
    return new_rows, stored


def _find_near_duplicates(
    rows: list[ValidRow], new_rows: list[ValidRow], stored: dict[str, tuple[int, str]]
) -> tuple[list[dict[str, object]], dict[str, bytes]]:
    """List groups of nearly equal stems that contain at least one new row of the file.

    A group may join rows of the file and stored questions. Stored questions
    that a row of the file matches exactly are left out: they are the same
    question. Also returns the stem signature of every row, by content hash.
    """
    found: list[dict[str, object]] = []
    for row in rows:
        if row.content_hash in stored and stored[row.content_hash][1] != row.answer_key:
            found.append(
                {
                    "kind": "stored_key_differs",
                    "lines": [row.line],
                    "question_ids": [stored[row.content_hash][0]],
                    "detail": _("the file says %(file_key)s, the stored key is %(stored_key)s")
                    % {"file_key": row.answer_key, "stored_key": stored[row.content_hash][1]},
                    "file_key": row.answer_key,
                    "stored_key": stored[row.content_hash][1],
                }
            )

    row_matrix = near_duplicates.signatures([row.stem for row in rows])
    signature_by_hash = {
        row.content_hash: near_duplicates.signature_to_bytes(signature)
        for row, signature in zip(rows, row_matrix, strict=True)
    }
    stored_ids, stored_matrix = stored_signatures(exclude_ids={pk for pk, _key in stored.values()})
    matrix = np.vstack([row_matrix, stored_matrix])

    def load_stems(indices: Collection[int]) -> dict[int, str]:
        stems = stems_by_id(
            stored_ids[index - len(rows)] for index in indices if index >= len(rows)
        )
        return {
            index: rows[index].stem if index < len(rows) else stems[stored_ids[index - len(rows)]]
            for index in indices
        }

    new_hashes = {row.content_hash for row in new_rows}
    groups = near_duplicates.find_groups(matrix, load_stems, threshold=near_duplicate_threshold())
    for group in groups:
        lines = [rows[index].line for index in group.indices if index < len(rows)]
        question_ids = [
            stored_ids[index - len(rows)] for index in group.indices if index >= len(rows)
        ]
        if not any(
            rows[index].content_hash in new_hashes for index in group.indices if index < len(rows)
        ):
            continue
        found.append(
            {
                "kind": "stored" if question_ids else "in_file",
                "lines": lines,
                "question_ids": question_ids,
                "similarity": group.similarity,
            }
        )
    return found, signature_by_hash


def _question_from_row(row: ValidRow, signature: bytes) -> Question:
    return Question(
        stem=row.stem,
        options=row.options,
        answer_key=row.answer_key,
        question_type=row.question_type,
        explanation=row.explanation,
        specialty_id=row.specialty_id,
        suggested_specialty_id=row.suggested_specialty_id,
        level_id=row.level_id,
        source=row.source,
        source_id=row.source_id,
        content_hash=row.content_hash,
        stem_signature=signature,
    )


def _store(
    job_id: int,
    new_rows: list[ValidRow],
    signature_by_hash: dict[str, bytes],
    progress: ProgressCallback | None,
) -> None:
    """Insert all new rows in one transaction: a failure leaves nothing behind."""
    with transaction.atomic():
        for start in range(0, len(new_rows), BATCH_SIZE):
            batch = new_rows[start : start + BATCH_SIZE]
            Question.objects.bulk_create(
                [_question_from_row(row, signature_by_hash[row.content_hash]) for row in batch]
            )
            if progress:
                progress("stored", start + len(batch))


def _finish_job(job: ImportJob, report: ImportReport, status: str, message: str = "") -> None:
    job.status = status
    job.rows_total = report.rows_total
    job.rows_done = report.rows_total
    job.created_count = report.created
    job.unchanged_count = report.unchanged
    job.rejected_count = len(report.rejected)
    job.duplicate_count = len(report.duplicates)
    job.errors = [error.as_dict() for error in report.rejected[:STORED_ERRORS_MAX]]
    job.near_duplicates = report.near_duplicates[:STORED_ERRORS_MAX]
    job.error_message = message
    job.finished_at = timezone.now()
    job.save()


def reading_failed_message(exc: OSError | ValueError) -> str:
    """Describe a failure to read the file; the readers' ValueErrors are translated already."""
    if isinstance(exc, OSError):
        return _(
            "The file could not be read (%(error)s); check that it exists and that this process "
            "may read it."
        ) % {"error": exc}
    return str(exc)


def import_job_execute(*, job_id: int, progress: ProgressCallback | None = None) -> ImportReport:
    """Run a pending import job; store every new question, or none if any row is rejected.

    Questions already stored (same content hash) are counted as unchanged, so
    importing the same file again creates nothing.
    """
    started = time.monotonic()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.RUNNING
    )
    job = ImportJob.objects.get(pk=job_id)
    report = ImportReport(job_id=job_id, file_format=job.file_format, dry_run=job.dry_run)
    if not claimed:
        logger.warning("import job %s is %s, not pending; not run again", job_id, job.status)
        return report
    logger.info("import job %s started: %s as %s", job_id, job.file_path, job.file_format)

    try:
        rows = _validate_file(job, report, progress)
    except (OSError, ValueError) as exc:
        logger.warning("import job %s failed reading %s: %s", job_id, job.file_path, exc)
        _finish_job(job, report, ImportJob.Status.FAILED, reading_failed_message(exc))
        raise
    new_rows, stored = _split_stored(rows)
    report.unchanged = len(rows) - len(new_rows)
    report.created = len(new_rows)
    report.near_duplicates, signature_by_hash = _find_near_duplicates(rows, new_rows, stored)

    if report.rejected:
        report.created = 0
        _finish_job(
            job,
            report,
            ImportJob.Status.FAILED,
            ngettext(
                "%(count)s row rejected; nothing stored. Fix it and run the import again.",
                "%(count)s rows rejected; nothing stored. Fix them and run the import again.",
                len(report.rejected),
            )
            % {"count": len(report.rejected)},
        )
        logger.info("import job %s rejected %d rows; nothing stored", job_id, len(report.rejected))
        return report

    if not job.dry_run:
        try:
            _store(job_id, new_rows, signature_by_hash, progress)
        except IntegrityError as exc:
            # Another import stored one of these questions after the check above.
            logger.warning("import job %s failed storing: %s", job_id, exc)
            report.created = 0
            message = _(
                "storing failed and nothing was stored (%(error)s); another import may have "
                "stored the same questions at the same time, so run this import again"
            ) % {"error": exc}
            _finish_job(job, report, ImportJob.Status.FAILED, message)
            return report
        report.stored = True
        if new_rows:
            # The report above already lists this file's near-duplicates. Regrouping
            # the whole bank for the admin runs on a worker after the import.
            near_duplicates_refresh_enqueue()

    report.seconds = time.monotonic() - started
    _finish_job(job, report, ImportJob.Status.SUCCEEDED)
    logger.info(
        "import job %s finished in %.0f ms: %d new, %d unchanged, %d repeats in file%s",
        job_id,
        report.seconds * 1000,
        report.created,
        report.unchanged,
        len(report.duplicates),
        " (dry run)" if job.dry_run else "",
    )
    return report


def import_job_enqueue(*, job_id: int) -> None:
    """Run the job on a Celery worker once the current transaction commits."""
    from medexam.tasks import import_questions_task

    transaction.on_commit(lambda: import_questions_task.delay(job_id))
