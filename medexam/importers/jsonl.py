"""The project's own JSONL question schema, one object per line.

{"stem": str, "options": {"A": str, ...}, "answer": "A" or "ACD",
 "type": "single" | "multiple", "specialty": code or null, "level": code or null,
 "explanation": str, "source": str, "source_id": str}

Extra keys are ignored, so an export can be imported again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from medexam.importers.messages import json_error_in_text, quoted
from medexam.importers.rows import RawRow, ReaderOptions, RowError
from medexam.importers.text import DecodeFailure, json_key_before, line_text, read_text


def looks_like_xmedbench(path: Path) -> bool:
    """Return True if the first record has XMedBench's option string and answer fields."""
    with path.open("rb") as handle:
        first = handle.readline()
    try:
        record = json.loads(first.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and "option" in record and "stem" not in record


def iter_json_lines(path: Path, options: ReaderOptions) -> Iterator[tuple[int, object] | RowError]:
    """Yield (line number, decoded JSON value) per non-blank line, or a RowError."""
    try:
        text = read_text(path, options.encoding)
    except DecodeFailure as exc:
        key = json_key_before(line_text(path.read_bytes(), exc))
        place = _("in the value of %(key)s") % {"key": quoted(key)} if key else ""
        yield RowError(exc.line, "encoding", exc.describe(place))
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            yield RowError(number, "json", json_error_in_text(exc))


def not_an_object_reason() -> str:
    return _("the line is not a JSON object; write one object {...} per line")


def _text(record: dict[str, object], key: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def read_jsonl(path: Path, options: ReaderOptions) -> Iterator[RawRow | RowError]:
    for item in iter_json_lines(path, options):
        if isinstance(item, RowError):
            yield item
            continue
        number, record = item
        if not isinstance(record, dict):
            yield RowError(number, "json", not_an_object_reason())
            continue
        raw_options = record.get("options")
        if raw_options is None:
            yield RowError(
                number,
                "options",
                _('the key "options" is missing; add an object such as {"A": "...", "B": "..."}'),
            )
            continue
        if not isinstance(raw_options, dict):
            yield RowError(
                number,
                "options",
                _('"options" is not an object; write it as {"A": "...", "B": "..."}'),
            )
            continue
        yield RawRow(
            line=number,
            stem=_text(record, "stem"),
            options={str(key): "" if val is None else str(val) for key, val in raw_options.items()},
            answer=_text(record, "answer"),
            question_type=_text(record, "type"),
            specialty=_text(record, "specialty"),
            level=_text(record, "level"),
            explanation=_text(record, "explanation"),
            source=_text(record, "source"),
            source_id=_text(record, "source_id"),
        )
