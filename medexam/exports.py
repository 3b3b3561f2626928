"""Export formats for dataset records: JSONL, CSV, Parquet and a Markdown datasheet.

Every writer consumes an iterator of records and writes in batches, so memory
stays flat however many records there are. Records contain no reviewer
identity, so no export can contain one.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.utils import timezone, translation
from django.utils.translation import gettext

from medexam.models import DatasetVersion, Question
from medexam.services.datasets import (
    agreement_summary,
    canonical_line,
    question_records,
    summarise_records,
    version_records,
)
from review.agreement_report import dimensions as rubric_dimensions

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "parquet", "datasheet")
CONTENT_TYPES = {
    "jsonl": "application/x-ndjson; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "datasheet": "text/markdown; charset=utf-8",
}
EXTENSIONS = {"jsonl": "jsonl", "csv": "csv", "parquet": "parquet", "datasheet": "md"}
OPTION_COLUMNS = tuple(f"option_{letter}" for letter in "ABCDE")
FLAT_COLUMNS = (
    "question_id",
    "stem",
    *OPTION_COLUMNS,
    "options_extra",
    "answer",
    "original_answer",
    "type",
    "specialty",
    "level",
    "explanation",
    "source",
    "source_id",
    "validity",
    "validity_reasons",
    "review_summary",
)
BATCH_SIZE = 5000

# A spreadsheet treats a cell that starts with one of these as a formula. A
# cell that starts with apostrophes followed by one of them is escaped too, so
# the importer can remove exactly one apostrophe (importers.tabular.unescape_formula).
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")


def iter_jsonl(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Yield one JSON line per record, in batches of joined lines."""
    batch: list[bytes] = []
    for record in records:
        batch.append(canonical_line(record))
        if len(batch) >= BATCH_SIZE:
            yield b"\n".join(batch) + b"\n"
            batch = []
    if batch:
        yield b"\n".join(batch) + b"\n"


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """Flatten a record to plain columns: options A-E as text, nested values as JSON."""
    options = record.get("options") or {}
    flat: dict[str, Any] = {
        "question_id": record.get("question_id"),
        "stem": record["stem"],
    }
    for letter, column in zip("ABCDE", OPTION_COLUMNS, strict=True):
        flat[column] = options.get(letter, "")
    extra = {k: v for k, v in options.items() if k not in "ABCDE"}
    flat["options_extra"] = json.dumps(extra, ensure_ascii=False) if extra else ""
    for key in (
        "answer",
        "original_answer",
        "type",
        "specialty",
        "level",
        "explanation",
        "source",
        "source_id",
        "validity",
    ):
        flat[key] = record.get(key) or ""
    flat["validity_reasons"] = json.dumps(record.get("validity_reasons") or [], ensure_ascii=False)
    summary = record.get("review_summary")
    flat["review_summary"] = json.dumps(summary, ensure_ascii=False) if summary else ""
    return flat


def excel_safe(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def iter_csv(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Yield UTF-8 CSV with a byte-order mark, so Excel reads Chinese, and neutralised formulas."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FLAT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    yield "\ufeff".encode() + buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    rows = 0
    for record in records:
        writer.writerow({k: excel_safe(v) for k, v in flatten(record).items()})
        rows += 1
        if rows % BATCH_SIZE == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


PARQUET_SCHEMA = pa.schema(
    [pa.field("question_id", pa.int64())]
    + [pa.field(name, pa.string()) for name in FLAT_COLUMNS if name != "question_id"]
)


def write_parquet(records: Iterable[dict[str, Any]], sink: str | IO[bytes]) -> int:
    """Write records as Parquet in row groups of BATCH_SIZE and return the number of rows."""
    total = 0
    columns: dict[str, list[Any]] = {name: [] for name in FLAT_COLUMNS}
    with pq.ParquetWriter(sink, PARQUET_SCHEMA, compression="zstd") as writer:
        for record in records:
            for name, value in flatten(record).items():
                columns[name].append(value)
            total += 1
            if len(columns["stem"]) >= BATCH_SIZE:
                writer.write_batch(pa.record_batch(columns, schema=PARQUET_SCHEMA))
                columns = {name: [] for name in FLAT_COLUMNS}
        if columns["stem"]:
            writer.write_batch(pa.record_batch(columns, schema=PARQUET_SCHEMA))
    return total


def _coefficient_text(data: dict[str, Any]) -> str:
    if data.get("value") is None:
        # The reason is stored in English; its Chinese form is in the catalogue.
        reason = data.get("undefined") or ""
        with translation.override("zh-hans"):
            chinese = gettext(reason) if reason else ""
        return f"undefined / 无法计算 ({reason} / {chinese})"
    text = f"{data['value']:.3f}"
    if data.get("ci"):
        text += f" (95% CI {data['ci'][0]:.3f} to {data['ci'][1]:.3f})"
    return text


RESAMPLING_TEXT = {
    "units": "units (reviewed responses) / 按单元（被审核的模型回答）重抽样",
    "pairs": "pairs of values within units (Hayes and Krippendorff 2007) "
    "/ 按单元内评分对重抽样（Hayes 与 Krippendorff 2007）",
}


def _agreement_scope_text(summary: dict[str, Any]) -> str:
    # Versions built before agreement was limited to their own items carry no scope.
    if summary.get("agreement_scope"):
        return (
            "- Agreement is computed over the reviews of this version's items only. "
            "/ 一致性仅基于本版本题目的审核记录计算。"
        )
    return (
        "- Agreement is computed over every stored review, not only the reviews of these items. "
        "/ 一致性基于全部审核记录计算，而非仅限本版本题目。"
    )


def _selection_text(summary: dict[str, Any], rules: dict[str, Any]) -> str:
    """Explain why agreement on validated items is circular and give it before selection."""
    rule_text = (
        f"min_reviews {rules.get('min_reviews', '-')}, "
        f"min_item_agreement {rules.get('min_item_agreement', '-')}"
    )
    before = ((summary.get("agreement_before_selection") or {}).get("dimensions") or {}).get(
        "verdict"
    )
    if before:
        units = f"{before['pairable_units']}/{before['units']}"
        figure = _coefficient_text(before["alpha"])
        english = (
            f"Over all reviewed items before selection, verdict alpha is {figure} "
            f"(pairable units {units})."
        )
        chinese = f"选择前全部已审核题目上，首次结论的 alpha 为 {figure}（可配对单元 {units}）。"
    else:
        english = "The agreement before selection was not recorded for this version."
        chinese = "本版本未记录选择前的一致性。"
    return (
        "- Only items whose reviewers agree pass the validity rules "
        f"({rule_text}), so agreement on the kept items is high by construction and does not "
        "show how reliable the reviews are: with 3 reviewers and a minimum agreement of 0.67, "
        f"only unanimous items are kept. {english} / 只有审核医师意见一致的题目才能通过有效性"
        f"规则（{rule_text}），因此保留题目上的一致性必然偏高，不能说明审核的可靠性："
        f"3 位审核医师、每题最低一致性 0.67 时只保留意见完全一致的题目。{chinese}"
    )


def datasheet_markdown(
    *, title: str, summary: dict[str, Any], rules: dict[str, Any], meta: dict[str, Any]
) -> str:
    """Render a datasheet in Markdown with bilingual headings.

    summary contains items and counts (see summarise_records) and, optionally,
    agreement and agreement_scope (set when agreement covers only the version's
    items). When validated_only is true, agreement_before_selection (agreement
    over every active question's reviews) is set beside it in the limitations.
    meta contains facts such as the content hash, creator and time.
    """
    lines = [f"# {title}", "", "## Overview / 概况", ""]
    for key, value in meta.items():
        lines.append(f"- {key}: {value}")
    lines.append(f"- items / 题目数: {summary.get('items', 0)}")

    counts = summary.get("counts", {})
    for key, heading in (
        ("specialty", "Items per specialty / 各专科题目数"),
        ("level", "Items per level / 各职称级别题目数"),
        ("validity", "Items per validity status / 各有效性状态题目数"),
        ("specialty_level", "Items per specialty and level / 专科与职称级别交叉"),
    ):
        if counts.get(key):
            lines += ["", f"## {heading}", "", "| | n |", "|---|---|"]
            lines += [f"| {name} | {n} |" for name, n in counts[key].items()]

    lines += ["", "## Reviewer agreement / 审核一致性", ""]
    dimensions = (summary.get("agreement") or {}).get("dimensions") or {}
    if dimensions:
        lines += [
            "| dimension | level | Krippendorff's alpha | percent agreement | units |",
            "|---|---|---|---|---|",
        ]
        # PostgreSQL's jsonb does not keep key order, so restore the rubric's order.
        rubric = [name for name, _ in rubric_dimensions()]
        ordered = sorted(dimensions, key=lambda n: rubric.index(n) if n in rubric else len(rubric))
        for name in ordered:
            figures = dimensions[name]
            lines.append(
                f"| {name} | {figures['level']} | {_coefficient_text(figures['alpha'])} | "
                f"{_coefficient_text(figures['percent_agreement'])} | "
                f"{figures['pairable_units']}/{figures['units']} |"
            )
        bootstrap = summary["agreement"]["dimensions"]["verdict"].get("bootstrap")
        if bootstrap:
            resampling = RESAMPLING_TEXT.get(bootstrap["resampling"], bootstrap["resampling"])
            lines += [
                "",
                f"Intervals: {bootstrap['interval']} bootstrap over {resampling}, "
                f"{bootstrap['samples']} resamples, seed {bootstrap['seed']}.",
            ]
    else:
        lines.append("No agreement figures were recorded. / 未记录一致性数据。")

    lines += ["", "## Validity rules / 有效性规则", ""]
    if rules:
        lines += [
            f"- {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in rules.items()
        ]
    else:
        lines.append(
            "None: the current questions with their current status. / 无：当前题目及其当前状态。"
        )

    lines += [
        "",
        "## Known limitations / 已知局限",
        "",
        _agreement_scope_text(summary),
        *([_selection_text(summary, rules)] if summary.get("validated_only") else []),
        "- Items with too few reviews are not validated, so specialties with fewer reviewers are "
        "under-represented. / 审核不足的题目未被确认，审核医师较少的专科占比偏低。",
        "- Answer keys corrected by adjudication replace the original key in `answer`; the "
        "original stays in `original_answer`. / 仲裁更正的标准答案写入 answer，原答案保留于 "
        "original_answer。",
        "- Reviewers appear in no export. / 导出文件不含审核医师身份。",
        "",
    ]
    return "\n".join(lines)


def export_records(version: DatasetVersion | None) -> Iterator[dict[str, Any]]:
    if version is not None:
        return version_records(version)
    return question_records(Question.objects.all())


def datasheet_for(version: DatasetVersion | None) -> str:
    """Render the datasheet of a version, or of the current questions when version is None."""
    if version is not None:
        summary = summarise_records(version_records(version))
        summary["agreement"] = version.summary.get("agreement")
        summary["agreement_scope"] = version.summary.get("agreement_scope")
        summary["validated_only"] = version.validated_only
        summary["agreement_before_selection"] = version.summary.get("agreement_before_selection")
        meta = {
            "version / 版本": f"{version.name}:{version.version}",
            "content hash / 内容哈希 (SHA-256)": version.content_hash,
            # The project time zone, as the API and the pages give times.
            "created / 创建时间": timezone.localtime(version.created_at).isoformat(),
            "created by / 创建者": getattr(version.created_by, "username", "") or "-",
        }
        return datasheet_markdown(
            title=f"{version.name} v{version.version}",
            summary=summary,
            rules=version.rules,
            meta=meta,
        )
    summary = summarise_records(question_records(Question.objects.all(), with_reviews=False))
    summary["agreement"] = agreement_summary()
    return datasheet_markdown(
        title="medexam questions (unversioned)",
        summary=summary,
        rules={},
        meta={"version / 版本": "current questions, not a frozen version / 当前题目，未冻结"},
    )


def export_chunks(fmt: str, version: DatasetVersion | None = None) -> Iterator[bytes]:
    """Yield the bytes of a JSONL, CSV or datasheet export. Parquet needs export_write."""
    if fmt == "jsonl":
        return iter_jsonl(export_records(version))
    if fmt == "csv":
        return iter_csv(export_records(version))
    if fmt == "datasheet":
        return iter([datasheet_for(version).encode("utf-8")])
    raise ValueError(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.")


def export_write(fmt: str, sink: IO[bytes] | str, version: DatasetVersion | None = None) -> None:
    """Write an export in fmt to a binary file object or path."""
    started = time.monotonic()
    label = f"{version.name}:{version.version}" if version else "current"
    logger.info("export started format=%s version=%s", fmt, label)
    if fmt == "parquet":
        write_parquet(export_records(version), sink)
    elif isinstance(sink, str):
        with open(sink, "wb") as handle:
            for chunk in export_chunks(fmt, version):
                handle.write(chunk)
    else:
        for chunk in export_chunks(fmt, version):
            sink.write(chunk)
    logger.info(
        "export finished format=%s version=%s took %.0f ms",
        fmt,
        label,
        (time.monotonic() - started) * 1000,
    )
