"""python manage.py demo: the whole validation loop on the bundled sample.

Migrates the database, imports the demo questions, answers them with the
built-in baselines (and with a real model when MEDEXAM_DEMO_BASE_URL and
MEDEXAM_DEMO_MODEL are set), sends the answers to review, creates demo
accounts and prints what to open. Running it again keeps what is stored.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from medexam import roles
from medexam.models import EvaluationRun, LanguageModel, Question, Specialty
from medexam.services.runs import prompt_template_get_default, run_create, run_start
from review.models import Assignment, Reviewer

SAMPLE_PATH = Path(__file__).resolve().parents[2] / "sample" / "questions.jsonl"
SAMPLE_SOURCE = "medexam-demo"
DEMO_SEED = 20261204

# (user name, roles, is_staff): staff users may open the Django admin.
DEMO_ACCOUNTS = [
    ("curator", [roles.CURATOR], True),
    ("coordinator", [roles.COORDINATOR], False),
    ("adjudicator", [roles.ADJUDICATOR], False),
    ("reviewer1", [roles.REVIEWER], False),
    ("reviewer2", [roles.REVIEWER], False),
    ("reviewer3", [roles.REVIEWER], False),
]

BASELINES = [("baseline-chance", "chance"), ("baseline-always-A", "always_A")]


class Command(BaseCommand):
    help = _(
        "Run the validation loop on the bundled demo questions: migrate, import, answer with "
        "baselines (or the model named by MEDEXAM_DEMO_BASE_URL and MEDEXAM_DEMO_MODEL), send "
        "the answers to review, create demo accounts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--serve",
            action="store_true",
            help=_("Start the development server when the demo is ready."),
        )
        parser.add_argument(
            "--addrport",
            default="127.0.0.1:8000",
            help=_("Address and port for --serve and the printed links (default 127.0.0.1:8000)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verbosity"] < 2:
            # The step lines and the summary report progress, and -v 2 shows the services' logs.
            for name in ("medexam", "review", "workers", "celery", "kombu"):
                logging.getLogger(name).setLevel(logging.WARNING)
        self._step(_("Creating or updating the database tables"))
        call_command("migrate", interactive=False, verbosity=0)

        self._step(_("Importing the demo questions"))
        self._import_sample()

        self._step(_("Registering the models to evaluate"))
        models = self._register_models()

        self._step(_("Answering the questions"))
        for model in models:
            self._evaluate(model)

        self._step(_("Creating demo accounts"))
        passwords = self._create_accounts()

        self._print_summary(passwords, options["addrport"])

        if options["serve"]:
            call_command("runserver", options["addrport"], use_reloader=False)

    def _step(self, message: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"== {message}"))

    def _import_sample(self) -> None:
        output = StringIO()
        try:
            # The command writes progress to stderr. The step line after it reports what was stored.
            call_command(
                "import_questions", str(SAMPLE_PATH), format="jsonl", stdout=output, stderr=output
            )
        except CommandError as exc:
            raise CommandError(
                _("The demo questions in %(path)s could not be imported: %(error)s")
                % {"path": SAMPLE_PATH, "error": exc}
            ) from exc
        stored = Question.objects.filter(source=SAMPLE_SOURCE).count()
        self.stdout.write(_("%(count)d demo questions stored.") % {"count": stored})

    def _register_models(self) -> list[LanguageModel]:
        names = []
        for name, baseline in BASELINES:
            call_command("add_model", name=name, baseline=baseline, stdout=StringIO())
            names.append(name)

        base_url = os.environ.get("MEDEXAM_DEMO_BASE_URL", "").strip()
        served_model = os.environ.get("MEDEXAM_DEMO_MODEL", "").strip()
        if base_url and served_model:
            name = f"demo-{served_model}"
            call_command(
                "add_model",
                name=name,
                base_url=base_url,
                served_model_id=served_model,
                api_key_env=os.environ.get("MEDEXAM_DEMO_API_KEY_ENV", ""),
                max_concurrency=4,
                stdout=StringIO(),
            )
            names.append(name)
            self.stdout.write(
                _("Real model %(model)s at %(url)s added.")
                % {"model": served_model, "url": base_url}
            )
        elif base_url or served_model:
            raise CommandError(
                _("Set both MEDEXAM_DEMO_BASE_URL and MEDEXAM_DEMO_MODEL, or neither.")
            )
        else:
            self.stdout.write(
                _(
                    "No model server configured: only the baselines answer. They are not "
                    "language models."
                )
            )
        return list(LanguageModel.objects.filter(name__in=names).order_by("name"))

    def _evaluate(self, model: LanguageModel) -> None:
        question_filter = {"source": SAMPLE_SOURCE}
        run = (
            EvaluationRun.objects.filter(model=model, question_filter=question_filter)
            .order_by("-created_at")
            .first()
        )
        if run is None:
            run = run_create(
                model=model,
                prompt_template=prompt_template_get_default(),
                question_filter=question_filter,
                seed=DEMO_SEED,
                name=f"demo · {model.name}",
            )
            run_start(run_id=run.pk)
            run.refresh_from_db()
            if not settings.CELERY_TASK_ALWAYS_EAGER and run.status not in EvaluationRun.FINISHED:
                self.stdout.write(
                    _(
                        "Run %(run)d is queued; a Celery worker (celery -A medexam worker) "
                        "answers it."
                    )
                    % {"run": run.pk}
                )
                return

        figures = run.responses.aggregate(
            total=Count("id"),
            correct=Count("id", filter=Q(is_correct=True)),
            failed=Count("id", filter=~Q(extraction_status="ok")),
        )
        self.stdout.write(
            _(
                "%(model)s: run %(run)d %(status)s, %(correct)d of %(total)d correct, "
                "%(failed)d not extracted."
            )
            % {
                "model": model.name,
                "run": run.pk,
                "status": run.get_status_display(),
                "correct": figures["correct"],
                "total": figures["total"],
                "failed": figures["failed"],
            }
        )

    @transaction.atomic
    def _create_accounts(self) -> dict[str, str]:
        user_model = get_user_model()
        specialties = list(Specialty.objects.all())
        passwords = {}
        for username, role_names, is_staff in DEMO_ACCOUNTS:
            user, _created = user_model.objects.get_or_create(username=username)
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.is_staff = is_staff
            user.save()
            user.groups.add(*Group.objects.filter(name__in=role_names))
            if roles.REVIEWER in role_names:
                reviewer, _created = Reviewer.objects.get_or_create(user=user)
                reviewer.specialties.set(specialties)
            passwords[username] = password
        # The curator edits questions, models, endpoints and runs in the admin.
        curator = user_model.objects.get(username="curator")
        curator.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=["medexam", "review"])
        )
        return passwords

    def _print_summary(self, passwords: dict[str, str], addrport: str) -> None:
        slots = Assignment.objects.filter(
            status__in=[Assignment.Status.OPEN, Assignment.Status.CLAIMED]
        ).count()
        python = _interpreter()
        self._step(_("Ready"))
        self.stdout.write(
            _("%(slots)d review slots are waiting for the three demo reviewers.") % {"slots": slots}
        )
        self.stdout.write("")
        self.stdout.write(_("Accounts (new passwords on every run of demo):"))
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<12} {password}")
        self.stdout.write("")
        if not settings.DEBUG:
            self.stdout.write(
                _("Start the web server:  %(python)s manage.py runserver %(addrport)s")
                % {"python": python, "addrport": addrport}
            )
        base = f"http://{addrport}"
        pages = [
            ("/review/", _("review the next answer (reviewer1, reviewer2, reviewer3)")),
            ("/review/adjudicate/", _("adjudication queue (adjudicator)")),
            ("/review/coordinate/", _("review progress and gold items (coordinator)")),
            ("/runs/", _("evaluation runs and their progress (curator)")),
            ("/leaderboard/", _("leaderboard, tables and figures")),
            ("/datasets/", _("validated dataset versions (coordinator)")),
            ("/admin/", _("curate questions, models and runs (curator)")),
            ("/api/docs/", _("REST API documentation")),
        ]
        self.stdout.write(_("Then open:"))
        for path, label in pages:
            self.stdout.write(f"  {base}{path:<22} {label}")
        self.stdout.write("")
        self.stdout.write(
            _(
                "After the reviewers have submitted verdicts: %(python)s manage.py agreement, and "
                "%(python)s manage.py export_dataset --format jsonl --output validated.jsonl"
            )
            % {"python": python}
        )


def _interpreter() -> str:
    """Return the path of this Python relative to the working directory, e.g. .venv/bin/python."""
    executable = Path(sys.executable)
    try:
        return str(executable.relative_to(Path.cwd()))
    except ValueError:
        return "python"
