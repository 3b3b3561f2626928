"""Translated labels for what the import report contains: row fields and near-duplicate kinds."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Labels of the field names that readers and the validator put in RowError.field.
FIELD_LABELS = {
    "stem": gettext_lazy("stem"),
    "answer": gettext_lazy("answer key"),
    "options": gettext_lazy("options"),
    "option": gettext_lazy("options"),
    "options_extra": gettext_lazy("further options (options_extra)"),
    "type": gettext_lazy("question type"),
    "specialty": gettext_lazy("specialty"),
    "level": gettext_lazy("level"),
    "explanation": gettext_lazy("explanation"),
    "encoding": gettext_lazy("encoding"),
    "header": gettext_lazy("header row"),
    "columns": gettext_lazy("columns"),
    "json": gettext_lazy("JSON"),
    "id": gettext_lazy("id"),
    "questions": gettext_lazy("question file"),
    "file": gettext_lazy("file"),
}
NEAR_DUPLICATE_KINDS = {
    "in_file": gettext_lazy("within the file"),
    "stored": gettext_lazy("with stored questions"),
    "stored_key_differs": gettext_lazy("stored with another answer key"),
}


def field_label(name: str) -> str:
    """Translate a RowError field name; "option C" becomes the label of option C."""
    if name.startswith("option "):
        return _("option %(letter)s") % {"letter": name.removeprefix("option ")}
    return str(FIELD_LABELS.get(name, name))
