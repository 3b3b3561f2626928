"""CMB (Chinese Medical Benchmark): a label file joined on id to a question file.

The label file (CMB-test-choice-answer.json) is a JSON array of
{id, exam_type, exam_class, exam_subject, question_type, answer}. The question
file, given with --questions, is the upstream JSON array (or JSONL) of
{id, question, option: {"A": ...}}. Level comes from exam_class, and the
specialty from the specialties' keywords matched against exam_subject.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from medexam.importers.messages import json_error_in_file, quoted
from medexam.importers.rows import RawRow, ReaderOptions, RowError
from medexam.importers.text import DecodeFailure, read_text

LEVEL_BY_EXAM_CLASS = {"中级职称": "attending", "高级职称": "senior"}
TYPE_BY_QUESTION_TYPE = {"单项选择题": "single", "多项选择题": "multiple"}


class RecordsInvalid(ValueError):
    """A CMB file that is not JSON, or not an array (or lines) of objects."""


def _load_records(path: Path, encoding: str) -> list[dict[str, object]]:
    """Read a JSON array, or JSONL, of objects. Raises DecodeFailure or RecordsInvalid."""
    text = read_text(path, encoding)
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordsInvalid(json_error_in_file(exc, path.name)) from exc
    else:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RecordsInvalid(json_error_in_file(exc, path.name, line=number)) from exc
    if not isinstance(records, list) or not all(isinstance(item, dict) for item in records):
        raise RecordsInvalid(
            _("%(file)s must hold a JSON array of objects or one object per line.")
            % {"file": path.name}
        )
    return records


def _is_clinical_qa(records: list[dict[str, object]]) -> bool:
    """Return True for CMB-Clin's case file: open questions on cases, no options to score."""
    return bool(records) and all("QA_pairs" in record for record in records)


def _clinical_qa_error(path: Path) -> RowError:
    return RowError(
        0,
        "json",
        _(
            "%(file)s holds CMB-Clin clinical cases with open questions (QA_pairs), not "
            "multiple-choice questions, so it cannot be imported. For CMB's choice "
            "questions, import the label file (CMB-test-choice-answer.json) with "
            "--questions and the question file."
        )
        % {"file": path.name},
    )


def read_cmb(path: Path, options: ReaderOptions) -> Iterator[RawRow | RowError]:
    file_paths = [path, Path(options.questions_path)] if options.questions_path else [path]
    records: list[list[dict[str, object]]] = []
    for file_path in file_paths:
        try:
            records.append(_load_records(file_path, options.encoding))
        except DecodeFailure as exc:
            reason = _("%(file)s: %(error)s") % {"file": file_path.name, "error": exc}
            yield RowError(exc.line, "encoding", reason)
            return
        except RecordsInvalid as exc:
            yield RowError(0, "json", str(exc))
            return
    if _is_clinical_qa(records[0]):
        yield _clinical_qa_error(path)
        return
    if not options.questions_path:
        yield RowError(
            0,
            "questions",
            _("CMB label files hold no question text; pass the question file with --questions."),
        )
        return
    labels, questions = records

    label_by_id = {str(label.get("id")): label for label in labels}
    # Line numbers for a JSON array are the record's position (1-based) in the question file.
    for position, record in enumerate(questions, start=1):
        question_id = str(record.get("id", ""))
        label = label_by_id.get(question_id)
        if label is None:
            yield RowError(
                position,
                "id",
                _(
                    "id %(id)s is not in the label file %(file)s; check that the two files "
                    "belong together"
                )
                % {"id": quoted(question_id), "file": path.name},
            )
            continue
        raw_options = record.get("option") or record.get("options")
        if not isinstance(raw_options, dict):
            yield RowError(
                position,
                "option",
                _('"option" is missing or not an object; write it as {"A": "...", "B": "..."}'),
            )
            continue
        yield RawRow(
            line=position,
            stem=str(record.get("question") or ""),
            options={str(key): "" if val is None else str(val) for key, val in raw_options.items()},
            answer=str(label.get("answer") or record.get("answer") or ""),
            question_type=TYPE_BY_QUESTION_TYPE.get(str(label.get("question_type", "")), ""),
            level=LEVEL_BY_EXAM_CLASS.get(str(label.get("exam_class", "")), ""),
            source="cmb",
            source_id=question_id,
            specialty_hint=str(label.get("exam_subject") or ""),
        )
