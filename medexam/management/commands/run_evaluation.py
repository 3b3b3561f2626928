"""Start an evaluation run of one model and, with --wait, follow it to the end."""

from __future__ import annotations

import sys
import time

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from medexam.failures import failure_text_display
from medexam.models import Endpoint, EvaluationRun, LanguageModel, ModelResponse, PromptTemplate
from medexam.services.runs import (
    prompt_template_get_default,
    questions_select,
    run_create,
    run_progress,
    run_start,
)


def check_endpoint_reachable(endpoint: Endpoint) -> None:
    """Raise CommandError naming the endpoint if its server refuses or times out.

    Only the connection is checked (GET {base_url}/models); HTTP errors are
    left to the run, which reports them per request.
    """
    url = endpoint.base_url.rstrip("/") + "/models"
    try:
        httpx.get(url, timeout=min(10.0, endpoint.timeout_s))
    except httpx.HTTPError as exc:
        raise CommandError(
            _(
                "Endpoint %(name)s at %(url)s cannot be reached (%(error)s). Check that the "
                "model server is running, that the base URL and port are right and end in /v1, "
                "and that this machine can reach it. No run was created."
            )
            % {"name": endpoint.name, "url": endpoint.base_url, "error": exc}
        ) from exc


def _format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class Command(BaseCommand):
    help = _("Create and start an evaluation run of one model over the active questions.")

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help=_("model name (see add_model)"))
        parser.add_argument("--limit", type=int, help=_("ask at most this many questions"))
        parser.add_argument("--samples", type=int, default=1, help=_("samples per question"))
        parser.add_argument("--seed", type=int, help=_("run seed; sample i uses seed + i"))
        parser.add_argument("--specialty", help=_("specialty code"))
        parser.add_argument("--level", help=_("level code"))
        parser.add_argument("--prompt-template", help=_("prompt template name (latest version)"))
        parser.add_argument(
            "--shuffle-options", action="store_true", help=_("ask once per rotation of options")
        )
        parser.add_argument("--wait", action="store_true", help=_("show progress until done"))

    def handle(self, *args, **options):
        model = LanguageModel.objects.filter(name=options["model"]).first()
        if model is None:
            raise CommandError(
                _("Model %(name)s is not registered; add it with add_model first.")
                % {"name": options["model"]}
            )
        endpoint = model.endpoints.filter(is_active=True).order_by("id").first()
        if endpoint is None:
            raise CommandError(_("Model %(name)s has no active endpoint.") % {"name": model.name})
        if endpoint.disabled_reason:
            raise CommandError(
                _("Endpoint %(name)s is disabled: %(reason)s")
                % {"name": endpoint.name, "reason": failure_text_display(endpoint.disabled_reason)}
            )
        template = self._template(options["prompt_template"])

        question_filter = {
            key: options[key] for key in ("specialty", "level", "limit") if options[key]
        }
        question_count = questions_select(question_filter).count()
        if not question_count:
            raise CommandError(
                _("No active question matches %(filter)s.")
                % {"filter": question_filter or _("(no filter)")}
            )
        if endpoint.kind == Endpoint.Kind.OPENAI:
            check_endpoint_reachable(endpoint)

        run = run_create(
            model=model,
            endpoint=endpoint,
            prompt_template=template,
            question_filter=question_filter,
            samples_per_question=options["samples"],
            seed=options["seed"],
            shuffle_options=options["shuffle_options"],
        )
        created = run_start(run_id=run.pk)
        self.stdout.write(
            _("Started run %(run)s: %(count)s responses to collect from %(model)s.")
            % {"run": run.pk, "count": created, "model": model.name}
        )
        if options["wait"]:
            self._follow(run.pk)
            self._summarise(run.pk)

    def _template(self, name: str | None) -> PromptTemplate:
        if not name:
            return prompt_template_get_default()
        template = PromptTemplate.objects.filter(name=name).order_by("-version").first()
        if template is None:
            raise CommandError(_("Prompt template %(name)s does not exist.") % {"name": name})
        return template

    def _follow(self, run_id: int) -> None:
        width = 30
        while True:
            progress = run_progress(run_id=run_id)
            finished = progress.finished_count
            filled = width * finished // max(1, progress.total)
            bar = "#" * filled + "-" * (width - filled)
            line = _(
                "[%(bar)s] %(finished)s/%(total)s  %(rate).1f/s  time left %(left)s  failed "
                "%(failed)s"
            ) % {
                "bar": bar,
                "finished": finished,
                "total": progress.total,
                "rate": progress.rate_per_s,
                "left": _format_seconds(progress.seconds_left),
                "failed": progress.failed,
            }
            self.stdout.write("\r" + line, ending="")
            sys.stdout.flush()
            status = EvaluationRun.objects.values_list("status", flat=True).get(pk=run_id)
            if status in EvaluationRun.FINISHED:
                self.stdout.write("")
                return
            # Eager mode (no broker) has already done the work inside run_start.
            time.sleep(0.2 if settings.CELERY_TASK_ALWAYS_EAGER else 1)

    def _summarise(self, run_id: int) -> None:
        run = EvaluationRun.objects.get(pk=run_id)
        self.stdout.write(
            _("Run %(run)s: %(status)s") % {"run": run.pk, "status": run.get_status_display()}
        )
        if run.error_message:
            self.stdout.write(self.style.ERROR(failure_text_display(run.error_message)))
        responses = run.responses.all()
        breakdowns = (
            ("state", _("By state"), ModelResponse.State),
            ("extraction_status", _("By extraction"), ModelResponse.Extraction),
        )
        for field, title, choices in breakdowns:
            counts = responses.values(field).annotate(n=Count("id")).order_by(field)
            labels = dict(choices.choices)
            parts = pgettext("list separator", ", ").join(
                _("%(value)s: %(count)s")
                % {"value": labels.get(row[field], row[field] or "-"), "count": row["n"]}
                for row in counts
            )
            self.stdout.write(_("%(title)s: %(parts)s") % {"title": title, "parts": parts})
        total = responses.count()
        correct = responses.filter(is_correct=True).count()
        if total:
            self.stdout.write(
                _(
                    "Accuracy: %(correct)s/%(total)s = %(pct).1f%% (failures and truncated "
                    "replies count as not correct)"
                )
                % {"correct": correct, "total": total, "pct": 100 * correct / total}
            )
