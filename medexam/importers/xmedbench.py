"""XMedBench JSONL (the Apollo project's Chinese subsets).

Each line: {"question": str, "option": "(A) text.\\n(B) text.", "anwer": "(D)", "source": str}.
The answer key is spelled "anwer" in the published files; "answer" is read too.
A key of several letters, e.g. "(ABCDE)", marks a multiple-answer question.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from medexam.importers.jsonl import iter_json_lines, not_an_object_reason
from medexam.importers.rows import RawRow, ReaderOptions, RowError

_OPTION_START = re.compile(r"^\(([A-H])\)\s?", re.MULTILINE)


def split_option_string(text: str) -> dict[str, str] | None:
    """Split "(A) x.\\n(B) y." into {"A": "x", "B": "y"}; None if no option starts a line.

    XMedBench appends one "." to every option when it builds the string, so a
    single trailing ASCII full stop is removed; a Chinese "。" is kept.
    """
    starts = list(_OPTION_START.finditer(text))
    if not starts:
        return None
    options: dict[str, str] = {}
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        body = text[match.end() : end].strip()
        if body.endswith(".") and not body.endswith(".."):
            body = body[:-1].rstrip()
        options[match.group(1)] = body
    return options


def read_xmedbench(path: Path, options: ReaderOptions) -> Iterator[RawRow | RowError]:
    for item in iter_json_lines(path, options):
        if isinstance(item, RowError):
            yield item
            continue
        number, record = item
        if not isinstance(record, dict):
            yield RowError(number, "json", not_an_object_reason())
            continue
        option_text = record.get("option")
        if option_text is None:
            yield RowError(
                number,
                "option",
                _('the key "option" is missing; add the options as lines such as "(A) text."'),
            )
            continue
        parsed = split_option_string(option_text) if isinstance(option_text, str) else None
        if parsed is None:
            yield RowError(
                number,
                "option",
                _(
                    'no line of "option" starts with a letter in brackets; write each option '
                    'on its own line, such as "(A) text."'
                ),
            )
            continue
        answer = record.get("anwer", record.get("answer", ""))
        yield RawRow(
            line=number,
            stem=str(record.get("question") or ""),
            options=parsed,
            answer=str(answer or ""),
            source=str(record.get("source") or ""),
            # The published rows carry no id: file name and line trace a question
            # back to its row upstream.
            source_id=f"{path.name}:{number}",
        )
