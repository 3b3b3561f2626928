"""Prompts sent to a model: a PromptTemplate filled with one question."""

from __future__ import annotations

from medexam.models import PromptTemplate, Question

QUESTION_TYPE_NAMES = {"single": "单选题", "multiple": "多选题"}


def rotate_letters(letters: str, rotation: int) -> str:
    """Return the option order for a rotation, e.g. ("ABCDE", 1) -> "BCDEA"."""
    shift = rotation % len(letters)
    return letters[shift:] + letters[:shift]


def format_options(question: Question, option_order: str) -> str:
    """Render the options one per line, relettered A, B, ... in option_order.

    option_order lists original letters; position i is shown as the i-th
    letter, so "BCDEA" shows the original B as A.
    """
    order = option_order or question.letters
    shown_letters = question.letters
    return "\n".join(
        f"{shown_letters[i]}. {question.options[original]}" for i, original in enumerate(order)
    )


def build_messages(
    template: PromptTemplate, question: Question, option_order: str = ""
) -> list[dict[str, str]]:
    """Fill template's {stem}, {options} and {question_type} for question.

    Plain replacement rather than str.format, so braces in a stem or in the
    template's own text are sent as written.
    """
    values = {
        "{stem}": question.stem,
        "{options}": format_options(question, option_order),
        "{question_type}": QUESTION_TYPE_NAMES.get(question.question_type, question.question_type),
    }
    user_text = template.user_template
    for placeholder, value in values.items():
        user_text = user_text.replace(placeholder, value)

    messages = []
    if template.system_text:
        messages.append({"role": "system", "content": template.system_text})
    messages.append({"role": "user", "content": user_text})
    return messages
