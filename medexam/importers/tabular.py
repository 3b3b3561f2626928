"""CSV, Excel and Parquet question tables, with Chinese or English headers or none.

A header row is recognised when it names a stem and an answer column. Files
without one (or with an unnamed index column) need --columns, a
comma-separated list naming each column in order; "-" or "index" skips one.
The project's own CSV and Parquet exports are read back as they are written:
options A-E in their own columns and further options in options_extra (a JSON
object). In CSV, cells the export protected from spreadsheet formulas lose
that apostrophe again.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from medexam.importers.messages import json_error_in_text, quoted
from medexam.importers.rows import RawRow, ReaderOptions, RowError
from medexam.importers.text import DecodeFailure, line_text, read_text

FIELD_NAMES = ("stem", "answer", "type", "specialty", "level", "explanation", "source", "source_id")
OPTION_LETTERS = "ABCDEFGH"
SKIP = {"-", "index", "skip", ""}
EXTRA_OPTIONS = "options_extra"
# The CSV export puts an apostrophe before a cell that a spreadsheet would run
# as a formula, and before a cell that already starts with apostrophes and
# then such a character, so removing one apostrophe here restores the text.
_ESCAPED_FORMULA = re.compile(r"^'+[=+\-@\t\r]")

_HEADER_ALIASES = {
    "stem": {"题干", "题目", "stem", "question", "问题"},
    "answer": {"答案", "标准答案", "正确答案", "answer", "answer_key", "key"},
    "type": {"题型", "type", "question_type"},
    "specialty": {"专科", "科室", "specialty"},
    "level": {"级别", "职称级别", "level"},
    "explanation": {"解析", "答案解析", "explanation"},
    "source": {"来源", "source"},
    "source_id": {"来源编号", "编号", "source_id", "id"},
}


def unescape_formula(cell: str) -> str:
    """Undo the CSV export's formula protection (medexam.exports.excel_safe)."""
    return cell[1:] if _ESCAPED_FORMULA.match(cell) else cell


def _header_to_field(header: str) -> str:
    """Map a header cell to a field name or option letter; "" when unknown."""
    name = header.strip().lower().replace(" ", "_")
    if name == EXTRA_OPTIONS:
        return EXTRA_OPTIONS
    for field_name, aliases in _HEADER_ALIASES.items():
        if name in aliases:
            return field_name
    for prefix in ("选项", "option_", "option", "opt_", ""):
        if name.startswith(prefix):
            rest = name[len(prefix) :].upper()
            if len(rest) == 1 and rest in OPTION_LETTERS:
                return rest
    return ""


def _column_spec(columns: list[str]) -> list[str]:
    spec = []
    for column in columns:
        name = column.strip()
        if name.lower() in SKIP:
            spec.append("")
        elif name.upper() in OPTION_LETTERS and len(name) == 1:
            spec.append(name.upper())
        elif name.lower() in FIELD_NAMES:
            spec.append(name.lower())
        else:
            raise ValueError(
                _(
                    "Unknown column %(name)s in --columns; use stem, A-H, answer, type, "
                    "specialty, level, explanation, source, source_id, or - to skip a column."
                )
                % {"name": quoted(name)}
            )
    return spec


def _rows_from_cells(
    cell_rows: Iterable[tuple[int, list[str]]], options: ReaderOptions
) -> Iterator[RawRow | RowError]:
    rows = iter(cell_rows)
    if options.columns:
        try:
            spec = _column_spec(options.columns)
        except ValueError as exc:
            yield RowError(0, "columns", str(exc))
            return
    else:
        first = next(rows, None)
        if first is None:
            return
        spec = [_header_to_field(cell) for cell in first[1]]
        if "stem" not in spec or "answer" not in spec:
            yield RowError(
                first[0],
                "header",
                _(
                    "no header naming the stem (题干/stem/question) and answer (答案/answer) "
                    "columns; add a header row or pass --columns stem,A,B,C,D,E,answer"
                ),
            )
            return

    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(spec) and any(cell.strip() for cell in cells[len(spec) :]):
            yield RowError(line, "columns", _column_count_reason(len(cells), len(spec), options))
            continue
        values: dict[str, str] = {}
        row_options: dict[str, str] = {}
        extra_error = ""
        for name, cell in zip(spec, cells, strict=False):
            if not name:
                continue
            if name == EXTRA_OPTIONS:
                extra, extra_error = _extra_options(cell)
                row_options.update(extra)
            elif name in OPTION_LETTERS:
                if cell.strip():
                    row_options[name] = cell.strip()
            else:
                values[name] = cell.strip()
        if extra_error:
            yield RowError(line, EXTRA_OPTIONS, extra_error)
            continue
        yield RawRow(
            line=line,
            stem=values.get("stem", ""),
            options=row_options,
            answer=values.get("answer", ""),
            question_type=values.get("type", ""),
            specialty=values.get("specialty", ""),
            level=values.get("level", ""),
            explanation=values.get("explanation", ""),
            source=values.get("source", ""),
            source_id=values.get("source_id", ""),
        )


def _column_count_reason(cells: int, named: int, options: ReaderOptions) -> str:
    if options.columns:
        return _(
            "the row has %(cells)s cells but --columns names %(named)s columns; name every "
            "column in --columns (- skips one) or remove the extra cells"
        ) % {"cells": cells, "named": named}
    return _(
        "the row has %(cells)s cells but the header row names %(named)s columns; add the "
        "missing header cells or remove the extra cells"
    ) % {"cells": cells, "named": named}


def _extra_options(cell: str) -> tuple[dict[str, str], str]:
    """Parse an options_extra cell such as {"F": "..."}; return the options and an error."""
    if not cell.strip():
        return {}, ""
    try:
        extra = json.loads(cell)
    except ValueError as exc:
        return {}, _('%(error)s; write an object such as {"F": "..."}') % {
            "error": json_error_in_text(exc)
        }
    if not isinstance(extra, dict):
        return {}, _('not a JSON object; write an object such as {"F": "..."}')
    return {
        str(key).strip().upper(): "" if v is None else str(v).strip() for key, v in extra.items()
    }, ""


def _dialect(first_line: str) -> type[csv.Dialect]:
    # Tab-separated when the first line has more tabs than commas (Excel's "Unicode text").
    return csv.excel_tab if first_line.count("\t") > first_line.count(",") else csv.excel


def _failed_column(path: Path, failure: DecodeFailure, options: ReaderOptions) -> str:
    """Name the column that contains the undecodable byte, e.g. "column 3, 选项B"."""
    data = path.read_bytes()
    header = line_text(data, failure, number=1)
    dialect = _dialect(header)
    index = max(len(next(csv.reader([line_text(data, failure)], dialect), [])) - 1, 0)
    names = options.columns or next(csv.reader([header], dialect), [])
    name = names[index].strip() if index < len(names) and failure.line > 1 else ""
    if name:
        return _("column %(number)s, %(name)s") % {"number": index + 1, "name": name}
    return _("column %(number)s") % {"number": index + 1}


def read_csv(path: Path, options: ReaderOptions) -> Iterator[RawRow | RowError]:
    try:
        text = read_text(path, options.encoding)
    except DecodeFailure as exc:
        yield RowError(exc.line, "encoding", exc.describe(_failed_column(path, exc, options)))
        return
    dialect = _dialect(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    cell_rows = ((reader.line_num, [unescape_formula(cell) for cell in row]) for row in reader)
    yield from _rows_from_cells(cell_rows, options)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_excel(path: Path, options: ReaderOptions) -> Iterator[RawRow | RowError]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError) as exc:
        yield RowError(
            0,
            "file",
            _("not a readable .xlsx workbook (%(error)s); save it again as .xlsx in Excel or WPS")
            % {"error": exc},
        )
        return
    try:
        sheet = workbook.worksheets[0]
        cell_rows = (
            (number, [_cell_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        yield from _rows_from_cells(cell_rows, options)
    finally:
        workbook.close()


def _parquet_cell(value: object) -> str:
    return "" if value is None else str(value)


def read_parquet(path: Path, options: ReaderOptions) -> Iterator[RawRow | RowError]:
    """Read a Parquet table, such as the project's export, one batch at a time.

    The column names are the header row (line 1). Data rows are numbered from
    2, as they would be in the same table saved as CSV.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        yield RowError(0, "file", _("not a readable Parquet file (%(error)s)") % {"error": exc})
        return

    def cell_rows() -> Iterator[tuple[int, list[str]]]:
        names = table.schema_arrow.names
        if not options.columns:
            yield 1, list(names)
        line = 1
        for batch in table.iter_batches(batch_size=5000):
            columns = [batch.column(name).to_pylist() for name in names]
            for values in zip(*columns, strict=True):
                line += 1
                yield line, [_parquet_cell(value) for value in values]

    yield from _rows_from_cells(cell_rows(), options)
