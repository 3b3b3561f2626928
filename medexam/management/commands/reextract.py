from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medexam.management.base import TranslatedCommand
from medexam.models import EvaluationRun
from medexam.services.responses import responses_reextract


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Extract the chosen letters again from stored raw text with the current rules, and "
        "score them again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--run", type=int, help=gettext_lazy("Evaluation run id; all runs when omitted.")
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=2000,
            help=gettext_lazy("Rows read and written per batch."),
        )

    def handle(self, *args, run=None, batch_size=2000, **options):
        if run is not None and not EvaluationRun.objects.filter(pk=run).exists():
            raise CommandError(
                _("Evaluation run %(run)s not found; list runs in the admin.") % {"run": run}
            )
        result = responses_reextract(run_id=run, batch_size=batch_size)
        self.stdout.write(
            _(
                "Re-extracted %(total)d responses with extraction version %(version)s: "
                "%(changed)d changed."
            )
            % {"total": result.total, "version": result.version, "changed": result.changed}
        )
