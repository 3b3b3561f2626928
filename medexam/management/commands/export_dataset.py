"""Export a dataset version, a newly created version, or the current questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from medexam.exports import FORMATS, export_write
from medexam.management.base import TranslatedCommand
from medexam.models import DatasetVersion, Question, ValidityRuleSet
from medexam.services.datasets import (
    dataset_version_create,
    dataset_version_get,
    validity_refresh,
)


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Export a dataset version as JSONL, CSV, Parquet or a Markdown datasheet. Without "
        "--version or --create, export the current questions with their reviews, agreement "
        "and validity status."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Django's own --version (print the Django version) gives way to the
        # dataset --version option.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format", choices=FORMATS, required=True, help=gettext_lazy("Export format.")
        )
        parser.add_argument(
            "--output", type=Path, required=True, help=gettext_lazy("File to write.")
        )
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--version",
            help=gettext_lazy("Existing version as NAME:N (NAME alone: latest)."),
        )
        source.add_argument(
            "--create", metavar="NAME", help=gettext_lazy("Create the next version of NAME.")
        )
        parser.add_argument(
            "--rule-set",
            help=gettext_lazy(
                "Validity rule set name for --create and for the export of the current "
                "questions (default: the only rule set, if there is one)."
            ),
        )
        parser.add_argument(
            "--all-items",
            action="store_true",
            help=gettext_lazy(
                "With --create, keep every active question with its status, not only validated."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        version = None
        if options["version"]:
            try:
                version = dataset_version_get(options["version"])
            except (ValueError, DatasetVersion.DoesNotExist) as exc:
                raise CommandError(str(exc)) from exc
        elif options["create"]:
            rule_set = self._rule_set(options["rule_set"])
            try:
                version = dataset_version_create(
                    name=options["create"],
                    rule_set_id=rule_set.id,
                    validated_only=not options["all_items"],
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                _("Created %(version)s with %(items)d items, content hash %(hash)s.")
                % {"version": version, "items": version.item_count, "hash": version.content_hash}
            )
        else:
            # The current questions carry the status their reviews give now, so
            # the rules run first, as they do when a version is built.
            rule_set = self._rule_set(options["rule_set"])
            counts = validity_refresh(rule_set_id=rule_set.id)
            self.stdout.write(
                _("Applied validity rule set %(rule_set)s: %(counts)s.")
                % {"rule_set": rule_set.name, "counts": _status_counts(counts)}
            )

        output: Path = options["output"]
        if not output.parent.exists():
            raise CommandError(
                _("Folder %(folder)s does not exist; create it first.") % {"folder": output.parent}
            )
        export_write(options["format"], str(output), version)
        self.stdout.write(_("Wrote %(path)s.") % {"path": output})

    def _rule_set(self, name: str | None) -> ValidityRuleSet:
        names = list(ValidityRuleSet.objects.order_by("name").values_list("name", flat=True))
        if name:
            try:
                return ValidityRuleSet.objects.get(name=name)
            except ValidityRuleSet.DoesNotExist as exc:
                raise CommandError(
                    _("Validity rule set %(name)s not found. Existing rule sets: %(names)s.")
                    % {"name": name, "names": _names_text(names)}
                ) from exc
        if len(names) == 1:
            return ValidityRuleSet.objects.get(name=names[0])
        if not names:
            raise CommandError(
                _("No validity rule set exists; add one in the admin and name it with --rule-set.")
            )
        raise CommandError(
            _("There is more than one validity rule set; name one with --rule-set: %(names)s.")
            % {"names": _names_text(names)}
        )


def _names_text(names: list[str]) -> str:
    return ", ".join(names) if names else _("none")


def _status_counts(counts: dict[str, int]) -> str:
    labels = dict(Question.Validity.choices)
    separator = pgettext("list separator", ", ")
    return separator.join(f"{labels[status]} {counts.get(status, 0)}" for status in labels)
