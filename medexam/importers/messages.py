"""Pieces of the translated reasons that several readers share.

Reasons are translated when they are built, in the language active at that
moment, and stored as text on the import job.
"""

from __future__ import annotations

import json

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Messages of Python's json module (3.11's C scanner and pure-Python scanner,
# and 3.13's trailing-comma messages), matched on their start because the
# pure-Python scanner appends the bad escape.
_JSON_PROBLEMS = (
    ("Expecting value", gettext_lazy("a value is expected")),
    (
        "Expecting property name enclosed in double quotes",
        gettext_lazy("a key in double quotes is expected"),
    ),
    ("Expecting ':' delimiter", gettext_lazy('a ":" is expected')),
    ("Expecting ',' delimiter", gettext_lazy('a "," is expected')),
    ("Unterminated string starting at", gettext_lazy("a string is not closed")),
    ("Invalid control character at", gettext_lazy("a string contains a control character")),
    ("Invalid \\uXXXX escape", gettext_lazy("a \\u escape is not 4 hexadecimal digits")),
    ("Invalid \\escape", gettext_lazy("a string contains an invalid \\ escape")),
    ("Extra data", gettext_lazy("text follows the end of the JSON value")),
    ("Illegal trailing comma", gettext_lazy('a "," comes before the closing bracket')),
)


def shown(value: str, limit: int = 40) -> str:
    """Return value cut to limit characters, with control characters escaped, for a reason."""
    cut = value if len(value) <= limit else value[:limit] + "…"
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in cut)


def quoted(value: str, limit: int = 40) -> str:
    """Return value quoted as the active language quotes a value (see shown)."""
    return _("'%(value)s'") % {"value": shown(value, limit)}


def json_problem(exc: ValueError) -> str:
    """Translate what json.loads found wrong; other messages stay as Python wrote them."""
    message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
    for start, problem in _JSON_PROBLEMS:
        if message.startswith(start):
            return str(problem)
    return message


def json_error_in_text(exc: ValueError) -> str:
    """Describe a JSON error in one line or cell, naming the character where it is."""
    if isinstance(exc, json.JSONDecodeError):
        return _("not valid JSON: %(problem)s at character %(column)s") % {
            "problem": json_problem(exc),
            "column": exc.colno,
        }
    return _("not valid JSON: %(problem)s") % {"problem": json_problem(exc)}


def json_error_in_file(exc: ValueError, file_name: str, *, line: int = 0) -> str:
    """Describe a JSON error in a file, naming the file, line and column.

    line is the file's line number when exc comes from decoding that line alone.
    """
    if isinstance(exc, json.JSONDecodeError):
        return _("%(file)s is not valid JSON: %(problem)s at line %(line)s, column %(column)s") % {
            "file": file_name,
            "problem": json_problem(exc),
            "line": line or exc.lineno,
            "column": exc.colno,
        }
    return _("%(file)s is not valid JSON: %(problem)s") % {
        "file": file_name,
        "problem": json_problem(exc),
    }


def alternatives(names: list[str]) -> str:
    """Join names as "A or B" ("A, B or C") in the active language."""
    if len(names) < 2:
        return "".join(names)
    return _("%(names)s or %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}
