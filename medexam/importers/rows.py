"""The row types every reader produces."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RawRow:
    """One question as a file states it, before validation. Empty strings mean absent."""

    line: int
    stem: str
    options: dict[str, str]
    answer: str
    question_type: str = ""
    specialty: str = ""
    level: str = ""
    explanation: str = ""
    source: str = ""
    source_id: str = ""
    # Free text such as CMB's exam_subject ("心内科高级职称"), matched against the
    # specialties' keywords when the row names no specialty code.
    specialty_hint: str = ""


@dataclass(frozen=True)
class RowError:
    """Why one row (or the line of a file that holds it) is rejected."""

    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


@dataclass
class ReaderOptions:
    """Reader settings the user gave for the file (command-line options)."""

    encoding: str = ""
    columns: list[str] = field(default_factory=list)
    questions_path: str = ""
