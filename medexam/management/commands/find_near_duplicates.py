"""python manage.py find_near_duplicates: group the bank's nearly equal stems for curators."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medexam.management.base import TranslatedCommand
from medexam.services.near_duplicates import near_duplicate_threshold, near_duplicates_refresh


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Find groups of questions with nearly equal stems in the whole bank and mark them "
        "for the admin's near-duplicate filter."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--threshold",
            type=float,
            default=None,
            help=gettext_lazy(
                "Jaccard similarity of stem character bigrams, above 0 and at most 1; "
                "default MEDEXAM_NEAR_DUPLICATE_THRESHOLD."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        threshold = options["threshold"]
        if threshold is None:
            threshold = near_duplicate_threshold()
        if not 0.0 < threshold <= 1.0:
            raise CommandError(
                _("--threshold %(value)s must be above 0 and at most 1.") % {"value": threshold}
            )
        groups = near_duplicates_refresh(threshold=threshold)
        self.stdout.write(
            _("%(groups)d near-duplicate groups at similarity %(threshold).2f or more.")
            % {"groups": groups, "threshold": threshold}
        )
