"""The checks every imported row passes before it may be stored."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from medexam.importers.messages import quoted
from medexam.importers.rows import RawRow, RowError
from medexam.importers.text import find_invalid_character
from medexam.models.questions import OPTION_LETTERS, compute_content_hash

_TYPE_ALIASES = {
    "single": {"single", "单选", "单选题", "单项选择题", "a1", "a2", "a3", "a4", "b1", "a"},
    "multiple": {"multiple", "多选", "多选题", "多项选择题", "x", "x型题"},
}
# Separators allowed between letters in an answer key: "A,C", "A、C", "(AC)", "A C".
_ANSWER_SEPARATORS = re.compile(r"[\s,，、;；()（）\[\]]+")


@dataclass
class Catalogue:
    """Specialty and level codes stored in the database, with each specialty's keywords."""

    specialty_ids: dict[str, int]
    level_ids: dict[str, int]
    # Any accepted spelling (code, Chinese name, English name, lower-cased) -> code.
    specialty_aliases: dict[str, str] = field(default_factory=dict)
    level_aliases: dict[str, str] = field(default_factory=dict)
    keywords: dict[str, list[str]] = field(default_factory=dict)

    _keyword_pattern: re.Pattern[str] | None = None
    _code_by_keyword: dict[str, str] = field(default_factory=dict)

    def suggest_specialty(self, text: str) -> str:
        """Return the code whose keywords occur most often in text; "" on no hit or a tie.

        Matches do not overlap, and the longer keyword wins where two start at
        one place ("心力衰竭" before "心衰").
        """
        if self._keyword_pattern is None:
            for code, words in self.keywords.items():
                for word in words:
                    if word:
                        self._code_by_keyword.setdefault(word, code)
            alternatives = sorted(self._code_by_keyword, key=len, reverse=True)
            # A pattern that never matches when no specialty has keywords.
            self._keyword_pattern = re.compile("|".join(map(re.escape, alternatives)) or r"(?!x)x")
        counts: dict[str, int] = {}
        for match in self._keyword_pattern.finditer(text):
            code = self._code_by_keyword[match.group(0)]
            counts[code] = counts.get(code, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
        if not ranked:
            return ""
        if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
            return ""
        return ranked[0][0]


@dataclass
class Defaults:
    """Values the user gave for rows that state none (--specialty, --level, --source)."""

    specialty: str = ""
    level: str = ""
    source: str = ""


@dataclass
class ValidRow:
    line: int
    stem: str
    options: dict[str, str]
    answer_key: str
    question_type: str
    specialty_id: int | None
    level_id: int | None
    suggested_specialty_id: int | None
    explanation: str
    source: str
    source_id: str
    content_hash: str


def normalise_answer(answer: str) -> str | None:
    """Return the answer's letters, sorted and upper-case, or None if it is not only letters."""
    folded = unicodedata.normalize("NFKC", answer).upper()
    letters = _ANSWER_SEPARATORS.sub("", folded)
    if not letters or any(letter not in OPTION_LETTERS for letter in letters):
        return None
    return "".join(sorted(set(letters)))


def _resolve(value: str, aliases: dict[str, str]) -> str | None:
    return aliases.get(value.strip().lower())


def _check_text(row: RawRow, errors: list[RowError]) -> None:
    fields = [("stem", row.stem), ("explanation", row.explanation)]
    fields.extend((f"option {letter}", text) for letter, text in sorted(row.options.items()))
    for name, text in fields:
        problem = find_invalid_character(text)
        if problem:
            errors.append(RowError(row.line, name, problem))


def _check_options(row: RawRow, errors: list[RowError]) -> dict[str, str]:
    options = {key.strip().upper(): text.strip() for key, text in row.options.items()}
    options = {key: text for key, text in options.items() if text}
    unknown = sorted(key for key in options if key not in OPTION_LETTERS or len(key) != 1)
    if unknown:
        reason = _(
            "option labels %(labels)s are not letters A-H; label the options A, B, C and so on"
        ) % {"labels": ", ".join(quoted(label) for label in unknown)}
        errors.append(RowError(row.line, "options", reason))
        return options
    if len(options) < 2:
        reason = ngettext(
            "%(count)s non-empty option; at least 2 are needed, so fill in the missing options",
            "%(count)s non-empty options; at least 2 are needed, so fill in the missing options",
            len(options),
        ) % {"count": len(options)}
        errors.append(RowError(row.line, "options", reason))
        return options
    expected = OPTION_LETTERS[: len(options)]
    if "".join(sorted(options)) != expected:
        reason = _(
            "option letters %(letters)s leave a gap; they must run from A without a gap "
            "(%(expected)s)"
        ) % {"letters": "".join(sorted(options)), "expected": expected}
        errors.append(RowError(row.line, "options", reason))
    return options


def _check_answer(row: RawRow, options: dict[str, str], errors: list[RowError]) -> tuple[str, str]:
    """Return (answer key, question type)."""
    key = normalise_answer(row.answer)
    if key is None:
        if row.answer.strip():
            reason = _(
                "answer %(answer)s is not option letters; write the letters of the correct "
                "options, such as A or ACD"
            ) % {"answer": quoted(row.answer.strip())}
        else:
            reason = _(
                "the answer is empty; write the letters of the correct options, such as A or ACD"
            )
        errors.append(RowError(row.line, "answer", reason))
        return "", ""

    missing = [letter for letter in key if letter not in options]
    if missing and options:
        reason = _(
            "answer %(key)s names option(s) %(missing)s that the question does not offer "
            "(%(offered)s)"
        ) % {"key": key, "missing": "".join(missing), "offered": "".join(sorted(options))}
        errors.append(RowError(row.line, "answer", reason))

    declared = row.question_type.strip().lower()
    if declared:
        question_type = next(
            (name for name, aliases in _TYPE_ALIASES.items() if declared in aliases), ""
        )
        if not question_type:
            reason = _(
                "type %(type)s is neither single nor multiple; write single, multiple, "
                "单选题 or 多选题, or leave it empty"
            ) % {"type": quoted(row.question_type)}
            errors.append(RowError(row.line, "type", reason))
            return key, ""
    else:
        question_type = "multiple" if len(key) > 1 else "single"
    if question_type == "single" and len(key) > 1:
        reason = _(
            "a single-answer question has %(count)s answer letters (%(key)s); keep one letter "
            "or set the type to multiple"
        ) % {"count": len(key), "key": key}
        errors.append(RowError(row.line, "answer", reason))
    return key, question_type


def _unknown_code_reason(kind: str, text: str, codes: list[str]) -> str:
    values = {"value": quoted(text), "codes": ", ".join(sorted(codes))}
    if kind == "specialty":
        return (
            _(
                "unknown specialty %(value)s; valid codes: %(codes)s (the Chinese or English name "
                "of a specialty works too)"
            )
            % values
        )
    return (
        _(
            "unknown level %(value)s; valid codes: %(codes)s (the Chinese or English name of a "
            "level works too)"
        )
        % values
    )


def validate_row(
    raw: RawRow, *, catalogue: Catalogue, defaults: Defaults
) -> ValidRow | list[RowError]:
    """Validate one row; return the row to store, or every reason it is rejected."""
    errors: list[RowError] = []
    stem = raw.stem.strip()
    if not stem:
        errors.append(
            RowError(raw.line, "stem", _("the stem is empty; write the text of the question"))
        )
    _check_text(raw, errors)
    options = _check_options(raw, errors)
    answer_key, question_type = _check_answer(raw, options, errors)

    specialty_code = ""
    specialty_text = raw.specialty.strip() or defaults.specialty
    if specialty_text:
        specialty_code = _resolve(specialty_text, catalogue.specialty_aliases) or ""
        if not specialty_code:
            reason = _unknown_code_reason(
                "specialty", specialty_text, list(catalogue.specialty_ids)
            )
            errors.append(RowError(raw.line, "specialty", reason))
    elif raw.specialty_hint:
        specialty_code = catalogue.suggest_specialty(raw.specialty_hint)

    level_code = ""
    level_text = raw.level.strip() or defaults.level
    if level_text:
        level_code = _resolve(level_text, catalogue.level_aliases) or ""
        if not level_code:
            reason = _unknown_code_reason("level", level_text, list(catalogue.level_ids))
            errors.append(RowError(raw.line, "level", reason))

    if errors:
        return errors

    suggested = ""
    if not specialty_code:
        suggested = catalogue.suggest_specialty(stem + "\n" + "\n".join(options.values()))
    return ValidRow(
        line=raw.line,
        stem=stem,
        options=options,
        answer_key=answer_key,
        question_type=question_type,
        specialty_id=catalogue.specialty_ids.get(specialty_code),
        level_id=catalogue.level_ids.get(level_code),
        suggested_specialty_id=catalogue.specialty_ids.get(suggested),
        explanation=raw.explanation.strip(),
        source=(raw.source.strip() or defaults.source)[:128],
        source_id=raw.source_id.strip()[:128],
        content_hash=compute_content_hash(stem, options),
    )
