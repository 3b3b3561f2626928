from __future__ import annotations

import json
import logging
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import translation
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from medexam import figures, tables
from medexam.leaderboard import (
    COMMON,
    NO_VALIDATED_QUESTIONS,
    SCOPES,
    Leaderboard,
    architecture_difference,
    leaderboard_compute,
    level_gaps,
    models_without_params,
    paired_comparisons,
    size_correlations,
    validated_questions_exist,
)
from medexam.management.base import TranslatedCommand
from medexam.models import Question
from medexam.outcomes import outcomes_frame
from medexam.statistics import (
    CONSTANT_X,
    CONSTANT_Y,
    Correlation,
    Difference,
    bootstrap_settings,
)

logger = logging.getLogger(__name__)


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Write the leaderboard as a paper lays it out: tables as CSV, Markdown and LaTeX, "
        "figures as PNG, SVG and PDF, paired model comparisons, the size-accuracy correlation "
        "and each model's outcome per question."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", required=True, help=gettext_lazy("Directory to write into (created).")
        )
        parser.add_argument(
            "--validated",
            action="store_true",
            help=gettext_lazy("Use only questions whose validity is validated."),
        )
        parser.add_argument(
            "--language",
            default="zh-hans",
            choices=["zh-hans", "en"],
            help=gettext_lazy("Language of column and figure labels."),
        )
        parser.add_argument(
            "--scope",
            default=COMMON,
            choices=SCOPES,
            help=gettext_lazy(
                "common (default): compare models on the questions all of them answered; "
                "all: score each model on all the questions it answered."
            ),
        )

    def handle(self, *args, output, validated=False, language="zh-hans", scope=COMMON, **options):
        directory = Path(output)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(
                _("Cannot create output directory %(path)s: %(error)s")
                % {"path": directory, "error": error}
            ) from error

        if validated and not validated_questions_exist():
            raise CommandError(str(NO_VALIDATED_QUESTIONS))
        items = Question.objects.filter(validity=Question.Validity.VALIDATED) if validated else None
        board = leaderboard_compute(items=items, scope=scope)
        if not board.rows:
            raise CommandError(
                _join(
                    _("No counted model responses to report; run an evaluation first."),
                    self.exclusion_text(board),
                )
            )

        with translation.override(language):
            written = self.write_tables(board, directory, language)
            written += self.write_figures(board, directory, language)
            written += self.write_statistics(board, directory)
            written += self.write_outcomes(board, directory)
            written.append(self.write_document(directory))
            summary = [self.scope_text(board), self.exclusion_text(board)]
            summary.append(self.missing_params_text(board))
            summary.append(
                _("Wrote %(count)d files to %(path)s.") % {"count": len(written), "path": directory}
            )
            self.stdout.write("\n".join(line for line in summary if line))
        logger.info("report written path=%s files=%d", directory, len(written))

    def scope_text(self, board: Leaderboard) -> str:
        if board.scope == COMMON and not board.common_item_count:
            return _(
                "No question was answered by every model, so the tables are empty; "
                "use --scope all, or run the models on the same questions."
            )
        if board.scope == COMMON:
            return _(
                "Models compared on the %(common)d questions all of them answered "
                "(%(answered)d answered by any)."
            ) % {"common": board.common_item_count, "answered": board.answered_item_count}
        return _(
            "Each model scored on all the questions it answered (%(answered)d in all; "
            "%(common)d answered by every model)."
        ) % {"common": board.common_item_count, "answered": board.answered_item_count}

    def exclusion_text(self, board: Leaderboard) -> str:
        """Say how many responses were left out and why, or "" when none were."""
        if not sum(board.excluded.values()):
            return ""
        text = (
            _(
                "Left out: %(configuration)d responses that failed for endpoint configuration "
                "(HTTP 400/401/403/404), %(not_sent)d never sent, %(unfinished)d unfinished."
            )
            % board.excluded
        )
        if board.excluded_models:
            names = ", ".join(model.name for model in board.excluded_models)
            text = _join(text, _("Not ranked, no counted response: %(names)s.") % {"names": names})
        return text

    def missing_params_text(self, board: Leaderboard) -> str:
        missing = models_without_params(board)
        if not missing:
            return ""
        return _(
            "No parameter count, left out of the size figure and correlation: %(names)s. "
            "Add the counts in the admin (Models) or pass --total-params-b, "
            "--active-params-b and --params-source to add_model."
        ) % {"names": ", ".join(missing)}

    def write_tables(self, board: Leaderboard, directory: Path, language: str) -> list[Path]:
        frames = {
            "main": tables.paper_frame(board, language=language),
            "accuracy": tables.accuracy_frame(board),
            "failures": tables.failure_frame(board),
            "specialty_level": tables.specialty_level_frame(board),
            "paired_mcnemar": tables.paired_frame(paired_comparisons(board)),
            "level_gap": tables.gap_frame(level_gaps(board)),
        }
        items = self.scope_text(board)
        captions = {
            "main": _("Accuracy (%) with 95% Wilson intervals by specialty, level and overall."),
            "accuracy": _("Accuracy (%) per model; failures count as wrong."),
            "failures": _("Failures per model: count and rate (%)."),
            "specialty_level": _("Accuracy (%) per model, specialty and level."),
            "paired_mcnemar": _("Paired McNemar exact tests with Holm adjustment."),
            "level_gap": _join(
                _("Accuracy gap (percentage points), lower minus higher level."),
                bootstrap_text(),
            ),
        }
        written = []
        for name, frame in frames.items():
            # main is already laid out for people; the others keep machine keys in CSV.
            human = frame if name == "main" else tables.human_frame(frame, board, language=language)
            caption = _join(captions[name], items)
            csv_path = directory / f"{name}.csv"
            csv_frame = frame
            if name == "level_gap":
                csv_frame = frame.assign(**_bootstrap_columns())
            csv_frame.to_csv(csv_path, index=False, encoding="utf-8-sig")
            md_path = directory / f"{name}.md"
            markdown = tables.to_markdown(human)
            if name == "level_gap":
                markdown += "\n" + bootstrap_text() + "\n"
            md_path.write_text(markdown, encoding="utf-8")
            tex_path = directory / f"{name}.tex"
            tex_path.write_text(tables.to_latex(human, caption=caption), encoding="utf-8")
            written += [csv_path, md_path, tex_path]
        return written

    def write_document(self, directory: Path) -> Path:
        """Write report.tex, which inputs the tables and statistics and includes the figures."""
        figure_captions = {
            "heatmap": _("Accuracy (%) by model and specialty."),
            "parameters": _("Overall accuracy (%) against total and active parameters."),
            "levels": _("Accuracy (%) by level with 95% Wilson intervals."),
        }
        document = directory / "report.tex"
        document.write_text(
            tables.latex_document(
                [*REPORT_TABLES, "statistics"],
                title=_("Leaderboard"),
                figures=[
                    (f"figure_{name}.{figures.PDF}", figure_captions[name])
                    for name in figures.FIGURES
                ],
            ),
            encoding="utf-8",
        )
        return document

    def write_figures(self, board, directory: Path, language: str) -> list[Path]:
        written = []
        for name in figures.FIGURES:
            figure = figures.draw(name, board, language=language)
            for file_format in [*figures.FORMATS, figures.PDF]:
                path = directory / f"figure_{name}.{file_format}"
                path.write_bytes(figures.render(figure, file_format))
                written.append(path)
            # The same bytes as the page's CSV download, byte-order mark included.
            data_path = directory / f"figure_{name}.csv"
            data_path.write_text("\ufeff" + figures.figure_csv(name, board), encoding="utf-8")
            written.append(data_path)
        return written

    def write_statistics(self, board: Leaderboard, directory: Path) -> list[Path]:
        correlations = size_correlations(board)
        summary = {
            "scope": board.scope,
            "item_count": board.item_count,
            "common_item_count": board.common_item_count,
            "answered_item_count": board.answered_item_count,
            "excluded_responses": board.excluded,
            "excluded_models": [model.name for model in board.excluded_models],
            "models_without_params": models_without_params(board),
            "spearman_total_params": _correlation(correlations.total),
            "spearman_active_params": _correlation(correlations.active),
            "moe_minus_dense": _difference(architecture_difference(board)),
            "bootstrap": bootstrap_settings(),
        }
        path = directory / "statistics.json"
        path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")

        lines = [
            "# " + _("Size, architecture and accuracy"),
            "",
            _join(self.scope_text(board), self.exclusion_text(board)),
            "",
            _correlation_line(_("Total parameters"), correlations.total),
            _correlation_line(_("Active parameters"), correlations.active),
            _difference_line(architecture_difference(board)),
            "",
            bootstrap_text(),
            "",
        ]
        missing = self.missing_params_text(board)
        if missing:
            lines += [missing, ""]
        markdown = directory / "statistics.md"
        markdown.write_text("\n".join(lines), encoding="utf-8")
        latex = directory / "statistics.tex"
        latex.write_text(
            tables.latex_text(lines[0].removeprefix("# "), [line for line in lines[1:] if line]),
            encoding="utf-8",
        )
        return [path, markdown, latex]

    def write_outcomes(self, board: Leaderboard, directory: Path) -> list[Path]:
        path = directory / "outcomes.csv"
        outcomes_frame(board).to_csv(path, index=False, encoding="utf-8-sig")
        return [path]


# Tables that report.tex inputs, in order; write_tables writes each as CSV, Markdown and LaTeX.
REPORT_TABLES = ("main", "accuracy", "failures", "specialty_level", "paired_mcnemar", "level_gap")


def bootstrap_text() -> str:
    """Name the bootstrap behind the intervals of the level gap, Spearman and MoE-minus-dense."""
    return (
        _(
            "Bootstrap intervals: %(samples)d resamples, seed %(seed)d, percentile method, "
            "two-sided 95%%."
        )
        % bootstrap_settings()
    )


def _bootstrap_columns() -> dict[str, object]:
    settings = bootstrap_settings()
    return {
        "bootstrap_samples": settings["samples"],
        "bootstrap_seed": settings["seed"],
        "bootstrap_method": settings["method"],
    }


def _correlation(value: Correlation) -> dict:
    return {
        "undefined": value.undefined,
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
        return "- " + _undefined_correlation_text(label, value)
    low, high = value.interval.low, value.interval.high
    interval = (
        _("undefined")
        if low is None or high is None
        else _("%(low).3f to %(high).3f") % {"low": low, "high": high}
    )
    # Resampling a handful of models yields few distinct resamples, so the
    # percentile interval is too narrow to trust; say so beside the number.
    caution = _("Few models: the interval is unreliable.") if value.n < 10 else ""
    sentence = _(
        "%(label)s: Spearman rho = %(rho).3f (95%% bootstrap CI %(interval)s), "
        "p %(p)s, n = %(n)d models."
    ) % {
        "label": label,
        "rho": value.rho,
        "interval": interval,
        "p": _p_text(value.p_value),
        "n": value.n,
    }
    return "- " + _join(sentence, caution)


def _undefined_correlation_text(label: str, value: Correlation) -> str:
    arguments = {"label": label, "n": value.n}
    if value.undefined == CONSTANT_X:
        return (
            _(
                "%(label)s: Spearman rho undefined, because all %(n)d models have the same "
                "parameter count."
            )
            % arguments
        )
    if value.undefined == CONSTANT_Y:
        return (
            _("%(label)s: Spearman rho undefined, because all %(n)d models have the same accuracy.")
            % arguments
        )
    return (
        ngettext(
            "%(label)s: Spearman rho undefined, because only %(n)d model has a parameter count "
            "and an accuracy; at least 3 are needed.",
            "%(label)s: Spearman rho undefined, because only %(n)d models have a parameter count "
            "and an accuracy; at least 3 are needed.",
            value.n,
        )
        % arguments
    )


def _join(*sentences: str) -> str:
    """Join sentences as the active language does: Chinese puts no space between them."""
    separator = "" if (get_language() or "").startswith("zh") else " "
    return separator.join(sentence for sentence in sentences if sentence)


def _p_text(p_value: float | None) -> str:
    if p_value is None:
        return _("undefined")
    return "< 0.001" if p_value < 0.001 else f"= {p_value:.3g}"


def _difference_line(value: Difference) -> str:
    low, high = value.interval.low, value.interval.high
    if value.estimate is None or low is None or high is None:
        return "- " + _("Mixture-of-experts minus dense: undefined (a group has no models).")
    return "- " + _(
        "Mixture-of-experts minus dense mean accuracy: %(estimate).1f points "
        "(95%% bootstrap CI %(low).1f to %(high).1f), Mann-Whitney p %(p)s."
    ) % {
        "estimate": value.estimate * 100,
        "low": low * 100,
        "high": high * 100,
        "p": _p_text(value.p_value),
    }
