"""Roles are Django groups with these names; superusers are administrators.

A user may hold several roles. Pages and API views check membership with
has_role, never by comparing group names inline.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

REVIEWER = "reviewer"
ADJUDICATOR = "adjudicator"
COORDINATOR = "coordinator"
CURATOR = "curator"

ALL_ROLES = (REVIEWER, ADJUDICATOR, COORDINATOR, CURATOR)


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
