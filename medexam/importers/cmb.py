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

from medexam.importers.rows import RawRow, ReaderOptions, RowError
from medexam.importers.text import DecodeFailure, read_text

LEVEL_BY_EXAM_CLASS = {"中级职称": "attending", "高级职称": "senior"}
TYPE_BY_QUESTION_TYPE = {"单项选择题": "single", "多项选择题": "multiple"}


def _load_records(path: Path, encoding: str) -> list[dict[str, object]]:
    """Read a JSON array, or JSONL, of objects."""
    text = read_text(path, encoding).strip()
    if text.startswith("["):
        records = json.loads(text)
    else:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not isinstance(records, list) or not all(isinstance(item, dict) for item in records):
        raise ValueError(f"{path.name} must hold a JSON array of objects or one object per line.")
    return records


def read_cmb(path: Path, options: ReaderOptions) -> Iterator[RawRow | RowError]:
    if not options.questions_path:
        yield RowError(
            0,
            "questions",
            "CMB label files hold no question text; pass the question file with --questions.",
        )
        return
    try:
        labels = _load_records(path, options.encoding)
        questions = _load_records(Path(options.questions_path), options.encoding)
    except DecodeFailure as exc:
        yield RowError(exc.line, "encoding", str(exc))
        return
    except ValueError as exc:
        yield RowError(0, "json", f"invalid JSON: {exc}")
        return

    label_by_id = {str(label.get("id")): label for label in labels}
    # Line numbers for a JSON array are the record's position (1-based) in the question file.
    for position, record in enumerate(questions, start=1):
        question_id = str(record.get("id", ""))
        label = label_by_id.get(question_id)
        if label is None:
            yield RowError(
                position, "id", f"id {question_id!r} is not in the label file {path.name}"
            )
            continue
        raw_options = record.get("option") or record.get("options")
        if not isinstance(raw_options, dict):
            yield RowError(
                position, "option", 'expected an object such as {"A": "...", "B": "..."}'
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
