"""Checks on a question that a curator writes by hand (admin form or API).

Each problem is reported against the field to fix, with the bad value and
the fix, in the user's language.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from medexam.importers.validate import normalise_answer
from medexam.models.questions import OPTION_LETTERS, Question, compute_content_hash

# Tab, line feed and carriage return are the only control characters allowed in text.
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


@dataclass
class CheckedQuestion:
    """Cleaned content, and the problems found as (field name, message) pairs.

    Field names are stem, answer_key, question_type, options, or option_A to option_H.
    """

    options: dict[str, str]
    answer_key: str
    errors: list[tuple[str, str]] = field(default_factory=list)


def option_field(letter: str) -> str:
    return f"option_{letter}"


def _bad_character(text: str) -> tuple[int, str] | None:
    for index, char in enumerate(text):
        if char == "\ufffd" or (
            unicodedata.category(char) in {"Cc", "Cs"} and char not in _ALLOWED_CONTROLS
        ):
            return index + 1, f"U+{ord(char):04X}"
    return None


def _check_text(name: str, label: str, text: str, errors: list[tuple[str, str]]) -> None:
    found = _bad_character(text)
    if found:
        position, code = found
        errors.append(
            (
                name,
                _(
                    "%(label)s contains the character %(code)s at position %(position)d, "
                    "which a question must not contain; delete it."
                )
                % {"label": label, "code": code, "position": position},
            )
        )


def _check_options(options: dict[str, str], errors: list[tuple[str, str]]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for label, text in options.items():
        letter = str(label).strip().upper()
        if len(letter) != 1 or letter not in OPTION_LETTERS:
            errors.append(
                (
                    "options",
                    _("Option label %(label)s is not a letter A–H; name the options A, B, C …")
                    % {"label": repr(label)},
                )
            )
            continue
        text = (text or "").strip()
        if text:
            label = _("Option %(letter)s") % {"letter": letter}
            _check_text(option_field(letter), label, text, errors)
            cleaned[letter] = text

    filled = "".join(sorted(cleaned))
    if len(cleaned) < 2:
        errors.append(
            (
                "options",
                _("Only %(count)d option is filled in; a question needs at least options A and B.")
                % {"count": len(cleaned)},
            )
        )
        return cleaned
    for position, letter in enumerate(OPTION_LETTERS[: len(filled)]):
        if letter != filled[position]:
            later = filled[position]
            errors.append(
                (
                    option_field(letter),
                    _(
                        "Option %(missing)s is empty but option %(later)s is filled in; options "
                        "must run from A without a gap. Fill in option %(missing)s or move the "
                        "text of option %(later)s up."
                    )
                    % {"missing": letter, "later": later},
                )
            )
            break
    return cleaned


def _check_answer(
    answer_key: str, question_type: str, options: dict[str, str], errors: list[tuple[str, str]]
) -> str:
    key = normalise_answer(answer_key)
    if key is None:
        errors.append(
            (
                "answer_key",
                _(
                    "The answer key %(value)s is not option letters; enter letters such as B, "
                    "or ACD for a multiple-answer question."
                )
                % {"value": repr(answer_key.strip())},
            )
        )
        return answer_key
    missing = "".join(letter for letter in key if letter not in options)
    if missing and options:
        errors.append(
            (
                "answer_key",
                _(
                    "The answer key %(value)s names option %(missing)s, which is empty; use "
                    "letters from %(offered)s, or fill in option %(missing)s."
                )
                % {"value": key, "missing": missing, "offered": "".join(sorted(options))},
            )
        )
    if question_type == Question.Type.SINGLE and len(key) > 1:
        errors.append(
            (
                "answer_key",
                _(
                    "The answer key %(value)s has %(count)d letters but the question is "
                    "single-answer; enter one letter, or set the type to multiple-answer."
                )
                % {"value": key, "count": len(key)},
            )
        )
    return key


def check_question(
    *, stem: str, options: dict[str, str], answer_key: str, question_type: str
) -> CheckedQuestion:
    """Check stem, options and answer key together; return the cleaned values and problems."""
    errors: list[tuple[str, str]] = []
    if not stem.strip():
        errors.append(("stem", _("The stem is empty; enter the question text.")))
    else:
        _check_text("stem", _("The stem"), stem, errors)
    cleaned = _check_options(options, errors)
    key = _check_answer(answer_key, question_type, cleaned, errors)
    return CheckedQuestion(options=cleaned, answer_key=key, errors=errors)


def content_conflict(*, stem: str, options: dict[str, str], exclude_id: int | None) -> str:
    """Return a message if another question has the same stem and options, else ""."""
    other = (
        Question.objects.filter(content_hash=compute_content_hash(stem.strip(), options))
        .exclude(pk=exclude_id)
        .values_list("pk", flat=True)
        .first()
    )
    if other is None:
        return ""
    return _(
        "Question #%(id)s already has this stem and these options; edit that question instead, "
        "or change this one's text."
    ) % {"id": other}
