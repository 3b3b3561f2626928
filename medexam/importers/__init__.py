"""Readers for question files, one module per layout, and the row validator they share.

Each reader yields RawRow objects (one per question as the file states it)
or RowError objects (a line it could not read). validate.validate_row turns
a RawRow into a ValidRow ready to store, or into the reasons it is rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from medexam.importers.messages import quoted
from medexam.importers.rows import RawRow, ReaderOptions, RowError

FORMATS = ("xmedbench", "cmb", "csv", "excel", "jsonl", "parquet")


def detect_format(path: Path) -> str:
    """Guess the layout from the file name and, for JSONL, the first record's keys."""
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return "excel"
    if suffix in {".csv", ".tsv", ".txt"}:
        return "csv"
    if suffix == ".json":
        return "cmb"
    if suffix == ".parquet":
        return "parquet"
    if suffix == ".jsonl":
        from medexam.importers.jsonl import looks_like_xmedbench

        return "xmedbench" if looks_like_xmedbench(path) else "jsonl"
    raise ValueError(
        _(
            "Cannot tell the format of %(file)s from its extension; pass --format (the format "
            "field of the upload form) with one of: %(formats)s."
        )
        % {"file": quoted(path.name, limit=200), "formats": ", ".join(FORMATS)}
    )


def read_rows(path: Path, file_format: str, options: ReaderOptions) -> Iterator[RawRow | RowError]:
    """Yield the rows of path read as file_format."""
    if file_format == "xmedbench":
        from medexam.importers.xmedbench import read_xmedbench

        return read_xmedbench(path, options)
    if file_format == "cmb":
        from medexam.importers.cmb import read_cmb

        return read_cmb(path, options)
    if file_format == "csv":
        from medexam.importers.tabular import read_csv

        return read_csv(path, options)
    if file_format == "excel":
        from medexam.importers.tabular import read_excel

        return read_excel(path, options)
    if file_format == "jsonl":
        from medexam.importers.jsonl import read_jsonl

        return read_jsonl(path, options)
    if file_format == "parquet":
        from medexam.importers.tabular import read_parquet

        return read_parquet(path, options)
    raise ValueError(
        _("Unknown format %(format)s; use one of: %(formats)s.")
        % {"format": quoted(file_format), "formats": ", ".join(FORMATS)}
    )


__all__ = ["FORMATS", "RawRow", "ReaderOptions", "RowError", "detect_format", "read_rows"]
