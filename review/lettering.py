"""Option letters as the model saw them, for reviewing responses of runs with rotated options.

A run made with --shuffle-options stores each response's option_order: for
each letter shown to the model, the original letter it replaces ("BCDEA":
the model's A is the question's B). The model's reply uses the shown letters,
while extracted_letters and the answer key use the original ones. Review
pages show the options in the model's order and letters, and give every
letter in both letterings, so a reviewer never reads one option for another.
"""

from __future__ import annotations

from dataclasses import dataclass

from medexam.models import ModelResponse, Question


@dataclass(frozen=True)
class ShownOption:
    """One option as the model saw it: its letter then, its original letter, its text."""

    letter: str
    original_letter: str
    text: str


@dataclass(frozen=True)
class Lettering:
    """Options in the order the model saw them, with extracted letters and key in its letters."""

    options: list[ShownOption]
    # False when the model saw the original order, so both letterings agree.
    rotated: bool
    extracted_letters: str
    answer_key: str


def _to_shown(letters: str, shown_for_original: dict[str, str]) -> str:
    # A letter outside the shown options (a key naming a removed option) stays as it is.
    return "".join(sorted(shown_for_original.get(letter, letter) for letter in letters))


def lettering_for(response: ModelResponse, question: Question) -> Lettering:
    """Build the options and letters of response as its model saw them."""
    original = question.letters
    order = response.option_order or original
    shown_letters = original[: len(order)]
    options = [
        ShownOption(letter=shown, original_letter=source, text=question.options.get(source, ""))
        for shown, source in zip(shown_letters, order, strict=True)
    ]
    shown_for_original = {option.original_letter: option.letter for option in options}
    return Lettering(
        options=options,
        rotated=any(option.letter != option.original_letter for option in options),
        extracted_letters=_to_shown(response.extracted_letters, shown_for_original),
        answer_key=_to_shown(question.answer_key, shown_for_original),
    )
