"""Leaderboard tables laid out as a paper prints them, and their CSV, Markdown and LaTeX forms.

Models are rows; specialties and levels are columns; accuracies are
percentages with one decimal, and intervals are Wilson 95% intervals.

The CSV forms of the data tables keep English machine keys as column names
(model, accuracy, ci_low, specialty:<code>, ...) so scripts can rely on them.
human_frame() relabels a frame for people, in the active language, before
it is written as Markdown or LaTeX.
"""

from __future__ import annotations

import math
import numbers

import pandas as pd
from django.utils.translation import gettext as _

from medexam.leaderboard import Cell, Column, Leaderboard
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
            "full_set_n": row.full_set.total,
            "full_set_accuracy": _percent(row.full_set.accuracy),
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

    records = []
    for row in board.rows:
        params = _params_text(row.total_params_b, row.active_params_b)
        baseline = " (" + _("baseline") + ")" if row.is_baseline else ""
        record = {
            _("Model"): row.name + baseline,
            _("Architecture"): architecture_label(row.architecture),
            _("Parameters (B)"): params,
        }
        for column in board.specialties:
            record[_column_label(column, language)] = _cell_text(row.by_specialty.get(column.code))
        for column in board.levels:
            record[_column_label(column, language)] = _cell_text(row.by_level.get(column.code))
        record[_("Overall")] = _cell_text(row.overall)
        record[_("Macro average")] = _percent_text(row.macro_accuracy)
        record[_("Failure rate")] = _percent_text(row.failure_rate)
        records.append(record)
    return pd.DataFrame.from_records(records)


def _column_label(column: Column, language: str) -> str:
    return column.name_zh if language.startswith("zh") else column.name_en


def architecture_label(architecture: str) -> str:
    """Return the architecture's name in the active language."""
    labels = {"dense": _("dense"), "moe": _("mixture-of-experts"), "baseline": _("baseline")}
    return labels.get(architecture, architecture)


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
        for reason, count in row.excluded.items():
            record[f"excluded_{reason}"] = count
        record["superseded"] = row.superseded
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
    columns = ["model", "specialty", "level", "correct", "n", "accuracy", "ci_low", "ci_high"]
    return pd.DataFrame.from_records(records, columns=columns)


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


def _headers() -> dict[str, str]:
    """Map machine column keys to headers in the active language."""
    headers = {
        "model": _("Model"),
        "architecture": _("Architecture"),
        "baseline": _("Baseline"),
        "total_params_b": _("Total parameters (B)"),
        "active_params_b": _("Active parameters (B)"),
        "n": _("Questions"),
        "correct": _("Correct"),
        "accuracy": _("Accuracy (%)"),
        "ci_low": _("95% CI low"),
        "ci_high": _("95% CI high"),
        "macro_accuracy": _("Macro average (%)"),
        "failure_rate": _("Failure rate (%)"),
        "full_set_n": _("All its questions"),
        "full_set_accuracy": _("Accuracy on all its questions (%)"),
        "all_rotations": _("Right under all rotations (%)"),
        "specialty": _("Specialty"),
        "level": _("Level"),
        "model_1": _("Model 1"),
        "model_2": _("Model 2"),
        "only_1_correct": _("Only model 1 right"),
        "only_2_correct": _("Only model 2 right"),
        "p_exact": _("Exact p"),
        "p_holm": _("Holm-adjusted p"),
        "gap": _("Gap (points)"),
        "p_fisher": _("Fisher exact p"),
        "excluded_configuration": _("Left out: endpoint configuration"),
        "excluded_not_sent": _("Left out: never sent"),
        "excluded_unfinished": _("Left out: unfinished"),
        "superseded": _("Replaced by a later run"),
    }
    statuses = {
        "no_answer": _("no answer"),
        "ambiguous": _("ambiguous"),
        "invalid": _("invalid"),
        "truncated": _("truncated"),
        "error": _("error"),
        "failed": _("failed"),
    }
    for status, label in statuses.items():
        headers[status] = label
        headers[f"{status}_rate"] = _("%(name)s (%%)") % {"name": label}
    return headers


def human_frame(frame: pd.DataFrame, board: Leaderboard, *, language: str) -> pd.DataFrame:
    """Relabel a data table for people: translated headers, names for codes and architectures.

    Call it inside translation.override(language); unknown columns keep their key.
    """
    # Look codes up per kind because specialties and levels both use "unassigned",
    # and a specialty may share any other code with a level too.
    names = {
        "specialty": {c.code: _column_label(c, language) for c in board.specialties},
        "level": {c.code: _column_label(c, language) for c in board.levels},
    }
    headers = _headers()

    def header(key: str) -> str:
        prefix, _sep, code = str(key).partition(":")
        if prefix in names and code:
            return _("%(name)s (%%)") % {"name": names[prefix].get(code, code)}
        return headers.get(str(key), str(key))

    human = frame.copy()
    for column in human.columns:
        if _is_percent_column(str(column)):
            human[column] = human[column].map(_one_decimal)
    if "architecture" in human.columns:
        human["architecture"] = human["architecture"].map(architecture_label)
    if "baseline" in human.columns:
        human["baseline"] = human["baseline"].map(lambda value: _("yes") if value else "")
    for key, labels in names.items():
        if key in human.columns:
            human[key] = human[key].replace(labels)
    return human.rename(columns=header)


# Machine keys of columns that hold percentages or percentage points.
PERCENT_COLUMNS = frozenset(
    {
        "accuracy",
        "ci_low",
        "ci_high",
        "macro_accuracy",
        "failure_rate",
        "full_set_accuracy",
        "all_rotations",
        "gap",
    }
)


def _is_percent_column(key: str) -> bool:
    prefix, _sep, code = key.partition(":")
    return (
        key in PERCENT_COLUMNS
        or key.endswith("_rate")
        or bool(code and prefix in ("specialty", "level"))
    )


def _one_decimal(value: object) -> object:
    """Format a percentage with one decimal, as the main table and the page print it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return value
    if isinstance(value, numbers.Real):
        return f"{value:.1f}"
    return value


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


def latex_escape(text: str) -> str:
    """Escape the characters LaTeX treats as commands or markup (\\ & % $ # _ { } ~ ^)."""
    return text.translate(_LATEX_ESCAPES)


_LATEX_ESCAPES = str.maketrans(_LATEX_SPECIAL)

LATEX_PACKAGES = r"\usepackage{booktabs,graphicx,longtable}"

# Tables with more rows than this become a longtable, which breaks across pages.
LATEX_LONG_ROWS = 30


def to_latex(frame: pd.DataFrame, *, caption: str = "") -> str:
    """Render a frame as a booktabs LaTeX table, every header and cell escaped.

    The table is a fragment for \\input that needs booktabs, graphicx and
    longtable. Chinese text also needs ctex (or xeCJK) under XeLaTeX or
    LuaLaTeX. latex_document() wraps fragments in a document that loads them.
    A table wider than the text is scaled down to fit. A table of more than
    LATEX_LONG_ROWS rows is a longtable instead, which is never scaled.
    """
    if frame.columns.empty:
        raise ValueError("cannot render a LaTeX table without columns")
    columns = "l" * len(frame.columns)
    header = " & ".join(latex_escape(str(c)) for c in frame.columns) + r" \\"
    body = [
        " & ".join(latex_escape(_plain(v)) for v in values) + r" \\"
        for values in frame.itertuples(index=False)
    ]
    note = "% Needs " + LATEX_PACKAGES + "; Chinese text needs ctex or xeCJK (XeLaTeX or LuaLaTeX)."

    if len(body) > LATEX_LONG_ROWS:
        lines = [note, rf"\begin{{longtable}}{{{columns}}}"]
        if caption:
            lines.append(rf"\caption{{{latex_escape(caption)}}} \\")
        lines += [r"\toprule", header, r"\midrule", r"\endhead", r"\bottomrule", r"\endfoot"]
        lines += body
        lines.append(r"\end{longtable}")
        return "\n".join(lines) + "\n"

    lines = [
        note,
        r"\begin{table}[htbp]",
        r"\centering",
        # \width is the table's natural width inside \resizebox.
        r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
        rf"\begin{{tabular}}{{{columns}}}",
        r"\toprule",
        header,
        r"\midrule",
        *body,
        r"\bottomrule",
        r"\end{tabular}}",
    ]
    if caption:
        lines.append(rf"\caption{{{latex_escape(caption)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def latex_text(title: str, paragraphs: list[str]) -> str:
    """Render a heading and paragraphs as a LaTeX fragment, every character escaped.

    Paragraphs that start with "- " become the items of a list.
    """
    lines = [rf"\subsection*{{{latex_escape(title)}}}"]
    in_list = False
    for paragraph in paragraphs:
        item = paragraph.startswith("- ")
        if item and not in_list:
            lines.append(r"\begin{itemize}")
        elif in_list and not item:
            lines.append(r"\end{itemize}")
        in_list = item
        # "--" would typeset as an en dash, which breaks option names such as --scope.
        text = latex_escape(paragraph.removeprefix("- ")).replace("--", "-{}-")
        lines.append(rf"\item {text}" if item else text + "\n")
    if in_list:
        lines.append(r"\end{itemize}")
    return "\n".join(lines) + "\n"


def latex_document(
    fragments: list[str], *, title: str = "", figures: list[tuple[str, str]] | None = None
) -> str:
    """Wrap fragments (file names for \\input) and figures in a ctexart document.

    figures pairs an image file name (PDF or PNG) with its caption; each is
    included with graphicx after the fragments. Compile it with xelatex or
    lualatex; ctex picks the CJK fonts the TeX installation has. Pages are
    A4 landscape, because the main table has a column per specialty and level.
    """
    lines = [
        r"\documentclass[a4paper]{ctexart}",
        r"\usepackage[landscape,margin=1.5cm]{geometry}",
        LATEX_PACKAGES,
        r"\begin{document}",
        r"\footnotesize",
        r"\setlength{\tabcolsep}{3pt}",
    ]
    if title:
        lines.append(rf"\section*{{{latex_escape(title)}}}")
    lines += [rf"\input{{{name}}}" for name in fragments]
    for path, caption in figures or []:
        lines += [
            r"\begin{figure}[htbp]",
            r"\centering",
            r"\includegraphics[width=\linewidth,height=0.8\textheight,keepaspectratio]"
            + f"{{{path}}}",
            rf"\caption{{{latex_escape(caption)}}}",
            r"\end{figure}",
        ]
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"


def _plain(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
