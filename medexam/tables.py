"""Leaderboard tables laid out as a paper prints them, and their CSV, Markdown and LaTeX forms.

Models are rows; specialties and levels are columns; accuracies are
percentages with one decimal, and intervals are Wilson 95% intervals.
"""

from __future__ import annotations

import math

import pandas as pd
from django.utils.translation import gettext as _

from medexam.leaderboard import Cell, Leaderboard
from medexam.scoring import FAILURE_STATUSES
from medexam.statistics import Difference, PairedTest


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _cell_text(cell: Cell | None) -> str:
    if cell is None or cell.accuracy is None or cell.low is None or cell.high is None:
        return "–"
    return f"{cell.accuracy * 100:.1f} ({cell.low * 100:.1f}–{cell.high * 100:.1f})"


def accuracy_frame(board: Leaderboard) -> pd.DataFrame:
    """Overall, per-specialty and per-level accuracy (%) of each model, one row per model."""
    records = []
    for row in board.rows:
        record = {
            "model": row.name,
            "architecture": row.architecture,
            "baseline": row.is_baseline,
            "total_params_b": row.total_params_b,
            "active_params_b": row.active_params_b,
            "n": row.overall.total,
            "accuracy": _percent(row.overall.accuracy),
            "ci_low": _percent(row.overall.low),
            "ci_high": _percent(row.overall.high),
            "macro_accuracy": _percent(row.macro_accuracy),
            "failure_rate": _percent(row.failure_rate),
        }
        for column in board.specialties:
            record[f"specialty:{column.code}"] = _percent(_accuracy(row.by_specialty, column.code))
        for column in board.levels:
            record[f"level:{column.code}"] = _percent(_accuracy(row.by_level, column.code))
        if row.all_rotations is not None:
            record["all_rotations"] = _percent(row.all_rotations.accuracy)
        records.append(record)
    return pd.DataFrame.from_records(records)


def _accuracy(cells: dict[str, Cell], code: str) -> float | None:
    cell = cells.get(code)
    return cell.accuracy if cell else None


def paper_frame(board: Leaderboard, *, language: str = "en") -> pd.DataFrame:
    """The main results table as text: accuracy (95% CI) per specialty and level, and overall.

    Column headers follow the active language; specialty and level names follow `language`.
    """

    def label(column) -> str:
        return column.name_zh if language.startswith("zh") else column.name_en

    records = []
    for row in board.rows:
        params = _params_text(row.total_params_b, row.active_params_b)
        baseline = " (" + _("baseline") + ")" if row.is_baseline else ""
        record = {
            _("Model"): row.name + baseline,
            _("Architecture"): row.architecture,
            _("Parameters (B)"): params,
        }
        for column in board.specialties:
            record[label(column)] = _cell_text(row.by_specialty.get(column.code))
        for column in board.levels:
            record[label(column)] = _cell_text(row.by_level.get(column.code))
        record[_("Overall")] = _cell_text(row.overall)
        record[_("Macro average")] = _percent_text(row.macro_accuracy)
        record[_("Failure rate")] = _percent_text(row.failure_rate)
        records.append(record)
    return pd.DataFrame.from_records(records)


def _percent_text(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}"


def _params_text(total: float | None, active: float | None) -> str:
    if total is None:
        return "–"
    if active is not None and active != total:
        return f"{total:g} / {active:g}"
    return f"{total:g}"


def failure_frame(board: Leaderboard) -> pd.DataFrame:
    """Count and rate (%) of each failure status per model."""
    records = []
    for row in board.rows:
        record: dict[str, object] = {"model": row.name, "n": row.overall.total}
        for status in FAILURE_STATUSES:
            count = row.failures.get(status, 0)
            record[status] = count
            record[f"{status}_rate"] = (
                round(count / row.overall.total * 100, 1) if row.overall.total else None
            )
        records.append(record)
    return pd.DataFrame.from_records(records)


def specialty_level_frame(board: Leaderboard) -> pd.DataFrame:
    """Long table of model x specialty x level accuracy with Wilson intervals."""
    records = []
    for row in board.rows:
        for key, cell in row.by_specialty_level.items():
            specialty, level = key.split(":", 1)
            records.append(
                {
                    "model": row.name,
                    "specialty": specialty,
                    "level": level,
                    "correct": cell.correct,
                    "n": cell.total,
                    "accuracy": _percent(cell.accuracy),
                    "ci_low": _percent(cell.low),
                    "ci_high": _percent(cell.high),
                }
            )
    return pd.DataFrame.from_records(records)


def paired_frame(tests: list[PairedTest]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                "model_1": test.first,
                "model_2": test.second,
                "only_1_correct": test.only_first_correct,
                "only_2_correct": test.only_second_correct,
                "p_exact": test.p_value,
                "p_holm": test.p_holm,
            }
            for test in tests
        ],
        columns=["model_1", "model_2", "only_1_correct", "only_2_correct", "p_exact", "p_holm"],
    )


def gap_frame(gaps: dict[str, Difference]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                "model": name,
                "gap": _percent(gap.estimate),
                "ci_low": _percent(gap.interval.low),
                "ci_high": _percent(gap.interval.high),
                "p_fisher": gap.p_value,
            }
            for name, gap in gaps.items()
        ],
        columns=["model", "gap", "ci_low", "ci_high", "p_fisher"],
    )


def to_markdown(frame: pd.DataFrame) -> str:
    """Render a frame as a GitHub-flavoured Markdown table (pipes in cells escaped)."""
    header = [str(column) for column in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for values in frame.itertuples(index=False):
        cells = [_plain(value).replace("|", "\\|") for value in values]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def to_latex(frame: pd.DataFrame, *, caption: str = "") -> str:
    """Render a frame as a booktabs LaTeX table; CJK headers need xeCJK or ctex to typeset."""
    escape = str.maketrans(_LATEX_SPECIAL)
    columns = "l" * len(frame.columns)
    lines = [r"\begin{table}[t]", r"\centering", rf"\begin{{tabular}}{{{columns}}}", r"\toprule"]
    lines.append(" & ".join(str(c).translate(escape) for c in frame.columns) + r" \\")
    lines.append(r"\midrule")
    for values in frame.itertuples(index=False):
        lines.append(" & ".join(_plain(v).translate(escape) for v in values) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(rf"\caption{{{caption.translate(escape)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def _plain(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
