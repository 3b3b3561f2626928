from __future__ import annotations

import json
import logging
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from medexam import figures, tables
from medexam.leaderboard import (
    architecture_difference,
    leaderboard_compute,
    level_gaps,
    paired_comparisons,
    size_correlations,
)
from medexam.models import Question
from medexam.statistics import Correlation, Difference

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Write the leaderboard as a paper lays it out: tables as CSV, Markdown and LaTeX, "
        "figures as PNG and SVG, paired model comparisons and the size-accuracy correlation."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, help="Directory to write into (created).")
        parser.add_argument(
            "--validated",
            action="store_true",
            help="Use only questions whose validity is validated.",
        )
        parser.add_argument(
            "--language",
            default="zh-hans",
            choices=["zh-hans", "en"],
            help="Language of column and figure labels.",
        )

    def handle(self, *args, output, validated=False, language="zh-hans", **options):
        directory = Path(output)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(
                _("Cannot create output directory %(path)s: %(error)s")
                % {"path": directory, "error": error}
            ) from error

        items = Question.objects.filter(validity=Question.Validity.VALIDATED) if validated else None
        board = leaderboard_compute(items=items)
        if not board.rows:
            raise CommandError(_("No model responses to report; run an evaluation first."))

        with translation.override(language):
            written = self.write_tables(board, directory, language)
            written += self.write_figures(board, directory, language)
            written += self.write_statistics(board, directory)
        logger.info("report written path=%s files=%d", directory, len(written))
        self.stdout.write(
            _("Wrote %(count)d files to %(path)s.") % {"count": len(written), "path": directory}
        )

    def write_tables(self, board, directory: Path, language: str) -> list[Path]:
        frames = {
            "main": tables.paper_frame(board, language=language),
            "accuracy": tables.accuracy_frame(board),
            "failures": tables.failure_frame(board),
            "specialty_level": tables.specialty_level_frame(board),
            "paired_mcnemar": tables.paired_frame(paired_comparisons(board)),
            "level_gap": tables.gap_frame(level_gaps(board)),
        }
        captions = {
            "main": "Accuracy (%) with 95% Wilson intervals by specialty, level and overall.",
            "accuracy": "Accuracy (%) per model; failures count as wrong.",
            "failures": "Failures per model: count and rate (%).",
            "specialty_level": "Accuracy (%) per model, specialty and level.",
            "paired_mcnemar": "Paired McNemar exact tests with Holm adjustment.",
            "level_gap": "Accuracy gap (percentage points), lower minus higher level.",
        }
        written = []
        for name, frame in frames.items():
            csv_path = directory / f"{name}.csv"
            frame.to_csv(csv_path, index=False, encoding="utf-8-sig")
            md_path = directory / f"{name}.md"
            md_path.write_text(tables.to_markdown(frame), encoding="utf-8")
            tex_path = directory / f"{name}.tex"
            tex_path.write_text(tables.to_latex(frame, caption=captions[name]), encoding="utf-8")
            written += [csv_path, md_path, tex_path]
        return written

    def write_figures(self, board, directory: Path, language: str) -> list[Path]:
        written = []
        for name in figures.FIGURES:
            figure = figures.draw(name, board, language=language)
            for file_format in figures.FORMATS:
                path = directory / f"figure_{name}.{file_format}"
                path.write_bytes(figures.render(figure, file_format))
                written.append(path)
            data_path = directory / f"figure_{name}.csv"
            figures.figure_frame(name, board).to_csv(data_path, encoding="utf-8-sig")
            written.append(data_path)
        return written

    def write_statistics(self, board, directory: Path) -> list[Path]:
        correlations = size_correlations(board)
        summary = {
            "item_count": board.item_count,
            "spearman_total_params": _correlation(correlations.total),
            "spearman_active_params": _correlation(correlations.active),
            "moe_minus_dense": _difference(architecture_difference(board)),
        }
        path = directory / "statistics.json"
        path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")

        lines = [
            "# Size, architecture and accuracy",
            "",
            f"Questions: {board.item_count}",
            "",
            _correlation_line("Total parameters", correlations.total),
            _correlation_line("Active parameters", correlations.active),
            _difference_line(architecture_difference(board)),
            "",
        ]
        markdown = directory / "statistics.md"
        markdown.write_text("\n".join(lines), encoding="utf-8")
        return [path, markdown]


def _correlation(value: Correlation) -> dict:
    return {
        "rho": value.rho,
        "p": value.p_value,
        "ci_low": value.interval.low,
        "ci_high": value.interval.high,
        "n_models": value.n,
    }


def _difference(value: Difference) -> dict:
    return {
        "difference": value.estimate,
        "ci_low": value.interval.low,
        "ci_high": value.interval.high,
        "p_mann_whitney": value.p_value,
    }


def _correlation_line(label: str, value: Correlation) -> str:
    if value.rho is None:
        return (
            f"- {label}: Spearman rho undefined (n = {value.n} models; "
            "needs 3 or more with differing values)."
        )
    low, high = value.interval.low, value.interval.high
    interval = "undefined" if low is None or high is None else f"{low:.3f} to {high:.3f}"
    # Resampling a handful of models yields few distinct resamples, so the
    # percentile interval is too narrow to trust; say so beside the number.
    caution = " Few models: the interval is unreliable." if value.n < 10 else ""
    return (
        f"- {label}: Spearman rho = {value.rho:.3f} (95% bootstrap CI {interval}), "
        f"p {_p_text(value.p_value)}, n = {value.n} models.{caution}"
    )


def _p_text(p_value: float | None) -> str:
    if p_value is None:
        return "undefined"
    return "< 0.001" if p_value < 0.001 else f"= {p_value:.3g}"


def _difference_line(value: Difference) -> str:
    low, high = value.interval.low, value.interval.high
    if value.estimate is None or low is None or high is None:
        return "- Mixture-of-experts minus dense: undefined (a group has no models)."
    return (
        f"- Mixture-of-experts minus dense mean accuracy: {value.estimate * 100:.1f} points "
        f"(95% bootstrap CI {low * 100:.1f} to {high * 100:.1f}), "
        f"Mann-Whitney p {_p_text(value.p_value)}."
    )
