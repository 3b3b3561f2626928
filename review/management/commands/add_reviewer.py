"""Give a physician a log-in and a reviewer profile: the specialties they judge."""

from __future__ import annotations

import secrets
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medexam import roles
from medexam.management.base import TranslatedCommand
from medexam.models import Specialty
from review.models import Reviewer
from review.services import reviewer_update

# Roles a physician may hold beside reviewer; curators are staff and get the admin.
EXTRA_ROLES = (roles.ADJUDICATOR, roles.COORDINATOR)


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Create or update a physician's account and reviewer profile. A new account gets a "
        "generated password, printed once, unless --password-stdin gives one."
    )
    # Tests pass a stream for --password-stdin through call_command.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help=gettext_lazy("log-in name"))
        parser.add_argument(
            "--specialty",
            action="append",
            default=[],
            metavar="CODE",
            help=gettext_lazy("a specialty code the physician judges; repeat for several"),
        )
        parser.add_argument(
            "--all-specialties",
            action="store_true",
            help=gettext_lazy("judge every specialty in the bank"),
        )
        parser.add_argument(
            "--general",
            action="store_true",
            help=gettext_lazy(
                "also review questions without a specialty (imported CMB and XMedBench rows "
                "have none unless --specialty was given at import)"
            ),
        )
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            choices=EXTRA_ROLES,
            help=gettext_lazy("an extra role; repeat for several"),
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help=gettext_lazy("read the password from standard input instead of generating one"),
        )
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help=gettext_lazy("give an existing account a new generated password"),
        )
        parser.add_argument(
            "--deactivate",
            action="store_true",
            help=gettext_lazy(
                "stop the physician receiving new responses to review; their reviews are kept"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"].strip()
        if not username:
            raise CommandError(_("The username is empty; give the physician's log-in name."))
        specialties = self._specialties(options["specialty"], options["all_specialties"])
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is not None and not hasattr(user, "reviewer") and options["deactivate"]:
            raise CommandError(
                _("%(username)s has no reviewer profile; there is nothing to deactivate.")
                % {"username": username}
            )
        if options["deactivate"]:
            self._deactivate(user, username)
            return
        if (
            not specialties
            and not options["general"]
            and (user is None or not hasattr(user, "reviewer"))
        ):
            raise CommandError(
                _(
                    "Give --specialty CODE, --all-specialties or --general: a reviewer with "
                    "none of them would never receive a response to review."
                )
            )

        password = None
        if options["password_stdin"]:
            password = (options.get("stdin") or sys.stdin).readline().rstrip("\n")
        elif user is None or options["reset_password"]:
            password = secrets.token_urlsafe(12)
        if password is not None:
            candidate = user or user_model(username=username)
            try:
                validate_password(password, candidate)
            except ValidationError as exc:
                raise CommandError(
                    _("The password was refused: %(reasons)s") % {"reasons": " ".join(exc.messages)}
                ) from exc

        existing = getattr(user, "reviewer", None) if user is not None else None
        specialty_ids = (
            [specialty.pk for specialty in specialties]
            if specialties
            else list(existing.specialties.values_list("id", flat=True))
            if existing
            else []
        )
        with transaction.atomic():
            created = user is None
            if created:
                user = user_model(username=username)
            if password is not None:
                user.set_password(password)
            user.is_active = True
            user.save()
            user.groups.add(*Group.objects.filter(name__in=[roles.REVIEWER, *options["role"]]))
            reviewer = reviewer_update(
                user_id=user.pk,
                specialty_ids=specialty_ids,
                is_general=options["general"] or bool(existing and existing.is_general),
            )

        self._report(reviewer, created, password if not options["password_stdin"] else None)

    def _specialties(self, codes: list[str], every: bool) -> list[Specialty]:
        if every:
            return list(Specialty.objects.all())
        known = {specialty.code: specialty for specialty in Specialty.objects.all()}
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise CommandError(
                _("Unknown specialty code %(codes)s; valid codes: %(valid)s.")
                % {"codes": ", ".join(unknown), "valid": ", ".join(sorted(known))}
            )
        return [known[code] for code in codes]

    def _deactivate(self, user: Any, username: str) -> None:
        if user is None:
            raise CommandError(_("No account named %(username)s.") % {"username": username})
        reviewer = reviewer_update(
            user_id=user.pk,
            specialty_ids=user.reviewer.specialties.values_list("id", flat=True),
            is_general=user.reviewer.is_general,
            is_active=False,
        )
        self.stdout.write(
            _("Reviewer %(pseudonym)s (%(username)s) receives no new responses to review.")
            % {"pseudonym": reviewer.pseudonym, "username": username}
        )

    def _report(self, reviewer: Reviewer, created: bool, password: str | None) -> None:
        username = reviewer.user.get_username()
        if created:
            self.stdout.write(_("Created %(username)s.") % {"username": username})
        else:
            self.stdout.write(_("Updated %(username)s.") % {"username": username})
        codes = ", ".join(reviewer.specialties.values_list("code", flat=True)) or "-"
        self.stdout.write(
            _("Pseudonym in exports: %(pseudonym)s") % {"pseudonym": reviewer.pseudonym}
        )
        self.stdout.write(_("Specialties: %(codes)s") % {"codes": codes})
        self.stdout.write(
            _("Questions without a specialty: %(answer)s")
            % {"answer": _("yes") if reviewer.is_general else _("no")}
        )
        roles_held = ", ".join(
            str(roles.ROLE_NAMES.get(name, name))
            for name in sorted(reviewer.user.groups.values_list("name", flat=True))
        )
        self.stdout.write(_("Roles: %(roles)s") % {"roles": roles_held})
        if password is not None:
            self.stdout.write(
                _(
                    "Password (shown once; give it to the physician in person or by a "
                    "private channel): %(password)s"
                )
                % {"password": password}
            )
