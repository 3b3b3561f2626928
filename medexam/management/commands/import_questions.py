"""python manage.py import_questions PATH: validate a question file and store it atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from medexam.importers import FORMATS, ReaderOptions
from medexam.importers.labels import NEAR_DUPLICATE_KINDS, field_label
from medexam.importers.validate import Defaults
from medexam.management.base import TranslatedCommand
from medexam.services.imports import (
    ImportReport,
    import_job_create,
    import_job_enqueue,
    import_job_execute,
    reading_failed_message,
)

# Rejected rows printed before the rest are summarised; the job row keeps more.
PRINT_ERRORS_MAX = 200

STAGES = {"read": gettext_lazy("read"), "stored": gettext_lazy("stored")}


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Import questions from XMedBench JSONL, CMB, CSV, Excel or the project's JSONL. "
        "Any rejected row means nothing is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help=gettext_lazy("The question file."))
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="",
            help=gettext_lazy("Layout; guessed from the name if unset."),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=gettext_lazy("Report what would change; store nothing."),
        )
        parser.add_argument(
            "--encoding",
            default="",
            help=gettext_lazy("Text encoding, e.g. gb18030; default UTF-8 then GB18030."),
        )
        parser.add_argument(
            "--columns",
            default="",
            help=gettext_lazy(
                "Column names in order for CSV or Excel without a header, "
                "e.g. -,stem,A,B,C,D,E,answer (- skips a column)."
            ),
        )
        parser.add_argument(
            "--questions",
            default="",
            help=gettext_lazy("CMB question file (id, question, option)."),
        )
        parser.add_argument(
            "--specialty", default="", help=gettext_lazy("Specialty code for rows that give none.")
        )
        parser.add_argument(
            "--level", default="", help=gettext_lazy("Level code for rows that give none.")
        )
        parser.add_argument(
            "--source", default="", help=gettext_lazy("Source name for rows that give none.")
        )
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default="",
            help=gettext_lazy(
                "Language of the output and of the rejection reasons stored on the job; "
                "default LANGUAGE_CODE (zh-hans). A --background import stores reasons in the "
                "worker's language, zh-hans."
            ),
        )
        parser.add_argument(
            "--background",
            action="store_true",
            help=gettext_lazy(
                "Queue the import for a Celery worker and return at once; follow it in the admin."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["language"]:
            with translation.override(options["language"]):
                self._import(options)
        else:
            self._import(options)

    def _import(self, options: dict[str, Any]) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(_("File %(path)s not found.") % {"path": path})
        columns = [name for name in options["columns"].split(",")] if options["columns"] else []
        try:
            job = import_job_create(
                path=path,
                file_format=options["format"],
                dry_run=options["dry_run"],
                reader_options=ReaderOptions(
                    encoding=options["encoding"],
                    columns=columns,
                    questions_path=options["questions"],
                ),
                defaults=Defaults(
                    specialty=options["specialty"],
                    level=options["level"],
                    source=options["source"],
                ),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        if options["background"]:
            import_job_enqueue(job_id=job.pk)
            self.stdout.write(_("Import job %(id)s queued.") % {"id": job.pk})
            return

        verbosity = options["verbosity"]

        def show_progress(stage: str, count: int) -> None:
            if verbosity >= 1:
                self.stderr.write(
                    _("%(stage)s: %(count)s rows")
                    % {"stage": STAGES.get(stage, stage), "count": count}
                )

        try:
            report = import_job_execute(job_id=job.pk, progress=show_progress)
        except (OSError, ValueError) as exc:
            raise CommandError(reading_failed_message(exc)) from exc
        self._print_report(report)
        if report.rejected:
            raise CommandError(
                ngettext(
                    "%(count)s row rejected; nothing was stored. Fix it and run again.",
                    "%(count)s rows rejected; nothing was stored. Fix them and run again.",
                    len(report.rejected),
                )
                % {"count": len(report.rejected)}
            )

    def _print_report(self, report: ImportReport) -> None:
        write = self.stdout.write
        for error in report.rejected[:PRINT_ERRORS_MAX]:
            values = {"line": error.line, "field": field_label(error.field), "reason": error.reason}
            if error.line:
                write(_("rejected: line %(line)s, %(field)s: %(reason)s") % values)
            else:
                # Line 0 marks a problem with the whole file, such as a missing header.
                write(_("rejected: %(field)s: %(reason)s") % values)
        if len(report.rejected) > PRINT_ERRORS_MAX:
            write(
                _("... %(count)s more rejected rows")
                % {"count": len(report.rejected) - PRINT_ERRORS_MAX}
            )
        for duplicate in report.duplicates:
            write(
                _("duplicate in file: line %(line)s repeats line %(first)s")
                % {"line": duplicate["line"], "first": duplicate["first_line"]}
            )
        for group in report.near_duplicates:
            values = {
                "kind": NEAR_DUPLICATE_KINDS.get(str(group["kind"]), group["kind"]),
                "lines": _join(group["lines"]),
                "ids": _join(group["question_ids"]),
            }
            # A group found within the file involves no stored question.
            if values["ids"]:
                message = (
                    _("near-duplicate (%(kind)s): lines %(lines)s, stored questions %(ids)s")
                    % values
                )
            else:
                message = _("near-duplicate (%(kind)s): lines %(lines)s") % values
            if "similarity" in group:
                message += _(", similarity %(similarity).2f") % {"similarity": group["similarity"]}
            if group["kind"] == "stored_key_differs":
                message += _(", answer key %(file_key)s in the file, %(stored_key)s stored") % {
                    "file_key": group.get("file_key", "?"),
                    "stored_key": group.get("stored_key", "?"),
                }
            write(message)
        created_label = (
            pgettext("import summary", "would create")
            if report.dry_run
            else pgettext("import summary", "created")
        )
        write(
            _(
                "Import job %(job)s (%(format)s): %(rows)s rows read, "
                "%(created_label)s %(created)s, unchanged %(unchanged)s, "
                "duplicate in file %(duplicates)s, rejected %(rejected)s."
            )
            % {
                "job": report.job_id,
                "format": report.file_format,
                "rows": report.rows_total,
                "created_label": created_label,
                "created": report.created,
                "unchanged": report.unchanged,
                "duplicates": len(report.duplicates),
                "rejected": len(report.rejected),
            }
        )


def _join(values: object) -> str:
    return ", ".join(str(value) for value in values) if isinstance(values, list) else ""
