"""Report agreement between reviewers, or on an external reliability table."""

from __future__ import annotations

import csv
import json
import math
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from medexam.management.base import TranslatedCommand
from medexam.models import Level, Specialty
from review import agreement
from review.agreement_report import GROUPINGS, agreement_report
from review.models import Review


def read_reliability_csv(
    path: Path, level: agreement.Level, *, header: bool = False
) -> tuple[np.ndarray, list[str]]:
    """Read a CSV with one row per coder and one column per unit, empty cells missing.

    With header, the first row (unit names) is skipped. A first column that is
    not numeric in every row is taken as the coder label. Nominal data may be
    any text, and other levels need numbers.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except OSError as exc:
        message = _("Cannot read %(path)s: %(error)s.") % {"path": path, "error": exc.strerror}
        raise CommandError(message) from exc
    if header:
        rows = rows[1:]
    if not rows:
        raise CommandError(
            _("%(path)s has no rating rows; expected one row per coder.") % {"path": path}
        )

    labelled = not all(_is_number(row[0]) or not row[0].strip() for row in rows)
    labels = (
        [row[0].strip() for row in rows] if labelled else [str(i + 1) for i in range(len(rows))]
    )
    cells = [[cell.strip() or None for cell in (row[1:] if labelled else row)] for row in rows]
    width = max(len(row) for row in cells)
    cells = [row + [None] * (width - len(row)) for row in cells]

    if level == "nominal":
        matrix, _labels = agreement.encode_matrix(cells)
        return matrix, labels
    matrix = np.full((len(cells), width), np.nan)
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            if cell is None:
                continue
            if not _is_number(cell):
                message = _(
                    "Row %(row)r, column %(column)d: %(cell)r is not a number; %(level)s "
                    "data needs numbers. Use --header if this is a row of unit names, or "
                    "--level nominal for categories."
                )
                raise CommandError(
                    message % {"row": labels[i], "column": j + 1, "cell": cell, "level": level}
                )
            matrix[i, j] = float(cell)
    return matrix, labels


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Report Krippendorff's alpha and related agreement figures over stored reviews, "
        "or over an external CSV reliability table (--input)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help=gettext_lazy("Print JSON instead of a table.")
        )
        parser.add_argument("--by", choices=GROUPINGS, help=gettext_lazy("Also report per group."))
        parser.add_argument(
            "--run", type=int, help=gettext_lazy("Only reviews of this evaluation run id.")
        )
        parser.add_argument(
            "--input",
            type=Path,
            help=gettext_lazy("CSV reliability table: one row per coder, one column per unit."),
        )
        parser.add_argument(
            "--header",
            action="store_true",
            help=gettext_lazy("The first row of --input names the units."),
        )
        parser.add_argument(
            "--level",
            choices=agreement.LEVELS,
            default=None,
            help=gettext_lazy(
                "Level of measurement: for --input (default nominal), or for the 1-5 ratings "
                "of stored reviews (default ordinal)."
            ),
        )
        parser.add_argument(
            "--bootstrap",
            type=int,
            default=agreement.BOOTSTRAP_SAMPLES,
            help=gettext_lazy("Bootstrap resamples for the 95%% interval (0 turns it off)."),
        )
        parser.add_argument(
            "--resampling",
            choices=agreement.RESAMPLINGS,
            default=agreement.BOOTSTRAP_METHOD,
            help=gettext_lazy(
                "What the bootstrap resamples: units, or pairs of values within units "
                "(Hayes and Krippendorff 2007)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["bootstrap"] < 0:
            raise CommandError(_("--bootstrap must be 0 or more."))
        if options["input"]:
            if options["by"] or options["run"]:
                raise CommandError(_("--by and --run apply to stored reviews, not to --input."))
            level: agreement.Level = options["level"] or "nominal"
            matrix, coders = read_reliability_csv(options["input"], level, header=options["header"])
            report = {
                "input": str(options["input"]),
                "overall": agreement.summarise_matrix(
                    matrix,
                    level,
                    bootstrap_samples=options["bootstrap"],
                    resampling=options["resampling"],
                ),
                "coders": {
                    coder: agreement.coder_agreement(matrix, i, level)
                    for i, coder in enumerate(coders)
                }
                if matrix.shape[0] > 2
                else {},
            }
        else:
            report = agreement_report(
                by=options["by"],
                run_id=options["run"],
                rating_level=options["level"] or "ordinal",
                bootstrap_samples=options["bootstrap"],
                resampling=options["resampling"],
            )

        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False))
            return
        self._write_table(report)

    def _write_table(self, report: dict[str, Any]) -> None:
        overall = report["overall"]
        sections = overall.get("dimensions") or {"ratings": overall}
        self.stdout.write(_("Overall agreement"))
        bootstrap = next(iter(sections.values()), {}).get("bootstrap")
        if bootstrap:
            message = _("95%% intervals: %(samples)d resamples of %(resampling)s, seed %(seed)d")
            labels = {
                "units": _("units"),
                "pairs": _("pairable values (Hayes and Krippendorff)"),
            }
            resampling = labels.get(bootstrap["resampling"], bootstrap["resampling"])
            self.stdout.write(message % {**bootstrap, "resampling": resampling})
        for name, figures in sections.items():
            self.stdout.write("  " + _labelled(_dimension_label(name), _format_figures(figures)))
        groups = report.get("groups") or {}
        if report.get("by") == "item":
            self.stdout.write(_("Agreement per question"))
            self.stdout.write(_item_table(groups))
            groups = {}
        headings = _group_headings(report.get("by"), list(groups))
        for key, group in groups.items():
            self.stdout.write(headings[key])
            if "dimensions" in group:
                for name, figures in group["dimensions"].items():
                    line = _labelled(_dimension_label(name), _format_figures(figures))
                    self.stdout.write("  " + line)
            else:
                for name, figures in group.items():
                    line = _labelled(_dimension_label(name), _format_coder(figures))
                    self.stdout.write("  " + line)
        for coder, figures in (report.get("coders") or {}).items():
            self.stdout.write(_labelled(coder, _format_coder(figures)))


def _labelled(label: str, figures: str) -> str:
    """Join a row's label and its figures with the language's colon."""
    return _("%(label)s: %(figures)s") % {"label": label, "figures": figures}


def _group_headings(by: str | None, keys: list[str]) -> dict[str, str]:
    """Name each group of a --by report in the active language: specialty and level by name."""
    if by in ("specialty", "level"):
        model = Specialty if by == "specialty" else Level
        english = (get_language() or "").startswith("en")
        names = {
            code: (name_en if english else name_zh) or code
            for code, name_zh, name_en in model.objects.filter(code__in=keys).values_list(
                "code", "name_zh", "name_en"
            )
        }
        missing = _("no specialty") if by == "specialty" else _("no level")
        template = _("Specialty: %(name)s") if by == "specialty" else _("Level: %(name)s")
        return {key: template % {"name": names.get(key, missing)} for key in keys}
    if by == "run":
        return {key: _("Evaluation run %(id)s") % {"id": key} for key in keys}
    if by == "reviewer":
        return {key: _("Reviewer %(pseudonym)s") % {"pseudonym": key} for key in keys}
    return {key: key for key in keys}


def _item_table(groups: dict[str, dict[str, Any]]) -> str:
    """Lay out the per-question summaries as a table with a header row."""
    verdict_labels = dict(Review.Verdict.choices)
    flag_labels = dict(Review.Flag.choices)
    header = [
        _("Question ID"),
        _("Reviews"),
        _("Reviewers"),
        _("Responses"),
        _("Verdict agreement"),
        _("Modal verdict share"),
        _("Verdicts"),
        _("Flags"),
    ]
    rows = [header]
    for question_id, summary in groups.items():
        agreement_value = summary["verdict_agreement"]
        rows.append(
            [
                question_id,
                str(summary["reviews"]),
                str(summary["reviewers"]),
                str(summary["responses"]),
                "–" if agreement_value is None else f"{agreement_value:.3f}",
                f"{summary['modal_verdict_share']:.3f}",
                _tally_text(summary["verdicts"], verdict_labels),
                _tally_text(summary["flags"], flag_labels) or "–",
            ]
        )
    widths = [max(_display_width(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        padded = zip(row, widths, strict=True)
        cells = [cell + " " * (width - _display_width(cell)) for cell, width in padded]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _tally_text(counts: dict[str, int], labels: dict[str, Any]) -> str:
    return ", ".join(f"{labels.get(code, code)} {count}" for code, count in counts.items())


def _display_width(text: str) -> int:
    """Count the terminal columns text takes: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _format_coefficient(data: dict[str, Any]) -> str:
    if data["value"] is None:
        # The reason is one of the agreement.UNDEFINED_* messages, stored in English.
        # gettext("") would return the catalogue header, so an empty reason stays empty.
        reason = data.get("undefined") or ""
        return _("undefined (%(reason)s)") % {"reason": _(reason) if reason else ""}
    text = f"{data['value']:.3f}"
    if "ci" in data:
        text += f" [{data['ci'][0]:.3f}, {data['ci'][1]:.3f}]"
    return text


def _dimension_label(name: str) -> str:
    """Name a rubric dimension for the table; JSON keeps the code."""
    labels = {
        "verdict": _("First verdict (before the key)"),
        "rating_factual": _("Factual accuracy"),
        "rating_reasoning": _("Clinical reasoning"),
        "rating_safety": _("Safety"),
        "ratings": _("Ratings"),
    }
    if name in labels:
        return labels[name]
    if name.startswith("flag:"):
        code = name.removeprefix("flag:")
        flag = dict(Review.Flag.choices).get(code, code)
        return _("Flag: %(flag)s") % {"flag": flag}
    return name


def _level_label(level: str) -> str:
    labels = {
        "nominal": _("nominal"),
        "ordinal": _("ordinal"),
        "interval": _("interval"),
        "ratio": _("ratio"),
    }
    return labels.get(level, level)


def _format_figures(figures: dict[str, Any]) -> str:
    parts = [
        _("alpha (%(level)s) %(value)s")
        % {
            "level": _level_label(figures["level"]),
            "value": _format_coefficient(figures["alpha"]),
        },
        _("observed agreement %(value)s")
        % {"value": _format_coefficient(figures["percent_agreement"])},
    ]
    if "fleiss_kappa" in figures:
        parts.append(f"Fleiss kappa {_format_coefficient(figures['fleiss_kappa'])}")
        parts.append(f"Gwet AC1 {_format_coefficient(figures['gwet_ac1'])}")
    parts.append(
        _("pairable units %(pairable)s/%(units)s")
        % {"pairable": figures["pairable_units"], "units": figures["units"]}
    )
    return "  ".join(parts)


def _format_coder(figures: dict[str, Any]) -> str:
    parts = [
        _("ratings %(count)s") % {"count": figures["ratings"]},
        _("alpha without this coder %(value)s")
        % {"value": _format_coefficient(figures["alpha_without"])},
        _("pairwise agreement %(value)s")
        % {"value": _format_coefficient(figures["pairwise_agreement"])},
        _("mean Cohen kappa %(value)s")
        % {"value": _format_coefficient(figures["mean_cohen_kappa"])},
    ]
    return "  ".join(parts)
