"""Roles are Django groups with these names; superusers are administrators.

A user may hold several roles. Pages and API views check membership with
has_role, never by comparing group names inline.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

REVIEWER = "reviewer"
ADJUDICATOR = "adjudicator"
COORDINATOR = "coordinator"
CURATOR = "curator"

ALL_ROLES = (REVIEWER, ADJUDICATOR, COORDINATOR, CURATOR)

ROLE_NAMES = {
    REVIEWER: pgettext_lazy("role", "reviewer"),
    ADJUDICATOR: pgettext_lazy("role", "adjudicator"),
    COORDINATOR: pgettext_lazy("role", "coordinator"),
    CURATOR: pgettext_lazy("role", "curator"),
}


# Attribute that caches a user's group names on the user object.
_CACHE_ATTRIBUTE = "_medexam_role_names"


def role_names(user: AbstractBaseUser) -> frozenset[str]:
    """Return the names of user's groups, read once per user object.

    A page checks several roles (the view, then each menu entry), and
    request.user is loaded afresh for every request, so one query per request
    suffices. Like Django's permission cache, the cached names do not see
    groups added to the same user object later.
    """
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    """Return True if user is active and in any of roles, or is a superuser."""
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return not role_names(user).isdisjoint(roles)  # type: ignore[arg-type]


def sees_model_results(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Return True if user may see results by model (leaderboard, its figures and API).

    Physicians judge model responses blind to the model. A reviewer or adjudicator who
    also saw each model's accuracy per specialty could guess which model wrote
    a response, so they see results only if they also curate or coordinate, or
    once MEDEXAM_RESULTS_FOR_REVIEWERS is set (e.g. after the review).
    Accounts with no role (researchers) and staff see them.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        return True
    user_roles = role_names(user)  # type: ignore[arg-type]
    if user_roles & {CURATOR, COORDINATOR}:
        return True
    if user_roles & {REVIEWER, ADJUDICATOR}:
        return bool(settings.RESULTS_FOR_REVIEWERS)
    return True


def blinded_message() -> str:
    """Return the access-denied text for results hidden from a blinded physician."""
    return _(
        "Results by model are hidden from reviewers and adjudicators while they review, so "
        "that no answer can be traced to its model. An administrator can show them after "
        "the review (MEDEXAM_RESULTS_FOR_REVIEWERS)."
    )


def _group_label(role: str) -> str:
    """Name a role's group as the admin lists it, after the role's name where the two differ."""
    name = str(ROLE_NAMES.get(role, role))
    if name == role:
        return role
    return pgettext("role and its group", "“%(role)s” (%(group)s)") % {"role": name, "group": role}


def missing_role_message(*allowed: str) -> str:
    """Return the access-denied text for a user with none of the allowed roles.

    The text names the roles and who grants them. Only administrators grant
    roles, by adding the account to the group named after the role in the
    admin. add_reviewer also grants the reviewer role.
    """
    separator = pgettext("list separator", ", ")
    names = separator.join(str(ROLE_NAMES.get(r, r)) for r in allowed)
    groups = separator.join(_group_label(role) for role in allowed)

    # Chinese has one plural form, but the sentence for a single role reads
    # differently from the one for a choice, so these are separate messages.
    if len(allowed) == 1:
        needed = _("This page needs the role %(roles)s.")
        grant = _(
            "An administrator grants it by adding your account to the group %(groups)s "
            "in the admin."
        )
    else:
        needed = _("This page needs one of the roles %(roles)s.")
        grant = _(
            "An administrator grants one by adding your account to one of the groups "
            "%(groups)s in the admin."
        )
    message = needed % {"roles": names} + " " + grant % {"groups": groups}

    if REVIEWER in allowed:
        message += " " + _(
            "A reviewer's account can also be set up with "
            "manage.py add_reviewer USERNAME --specialty CODE."
        )
    return message
