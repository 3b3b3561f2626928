"""Forms of the curation admin: a question edited as one field per option."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from medexam.models import Question
from medexam.models.questions import OPTION_LETTERS
from medexam.question_checks import check_question, content_conflict, option_field

# Letters that always get a field; a question imported with more options shows those too.
FORM_LETTERS = "ABCDE"


def _option_field(letter: str) -> forms.CharField:
    return forms.CharField(
        label=_("Option %(letter)s") % {"letter": letter},
        required=False,
        widget=forms.Textarea(attrs={"rows": 1, "cols": 80}),
    )


def option_letters(question: Question | None) -> str:
    """Return the letters that get a field when editing question: A-E and any stored beyond."""
    stored = (question.options or {}) if question is not None and question.pk else {}
    return FORM_LETTERS + "".join(
        letter for letter in OPTION_LETTERS[len(FORM_LETTERS) :] if letter in stored
    )


class QuestionForm(forms.ModelForm):
    """A question with one text field per option; the options are stored as one JSON object."""

    option_A = _option_field("A")
    option_B = _option_field("B")
    option_C = _option_field("C")
    option_D = _option_field("D")
    option_E = _option_field("E")
    option_F = _option_field("F")
    option_G = _option_field("G")
    option_H = _option_field("H")
    change_reason = forms.CharField(
        label=_("reason for the change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the answer key changes; kept in the question's history."),
    )

    class Meta:
        model = Question
        fields = [
            "stem",
            "answer_key",
            "question_type",
            "explanation",
            "specialty",
            "level",
            "status",
            "source",
            "source_id",
        ]
        help_texts = {
            "answer_key": _("Option letters, e.g. B, or ACD for a multiple-answer question."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.letters = option_letters(self.instance)
        stored = dict(self.instance.options or {}) if self.instance.pk else {}
        for letter in OPTION_LETTERS:
            name = option_field(letter)
            if letter in self.letters:
                self.fields[name].initial = stored.get(letter, "")
            else:
                del self.fields[name]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        options = {letter: cleaned.get(option_field(letter), "") for letter in self.letters}
        checked = check_question(
            stem=cleaned.get("stem", ""),
            options=options,
            answer_key=cleaned.get("answer_key", ""),
            question_type=cleaned.get("question_type", ""),
        )
        for name, message in checked.errors:
            # Problems with the option set as a whole are shown under option A.
            target = option_field("A") if name == "options" else name
            self.add_error(target if target in self.fields else None, message)
        if checked.errors:
            return cleaned

        self.instance.options = checked.options
        cleaned["answer_key"] = checked.answer_key
        conflict = content_conflict(
            stem=cleaned.get("stem", ""), options=checked.options, exclude_id=self.instance.pk
        )
        if conflict:
            self.add_error("stem", conflict)

        # The instance still has the stored values here; the form's are applied after clean().
        key_changed = self.instance.pk and checked.answer_key != self.instance.answer_key
        if key_changed and not cleaned.get("change_reason", "").strip():
            self.add_error("change_reason", _("Give a reason for changing the answer key."))
        return cleaned
