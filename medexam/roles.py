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


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    """Return True if user is active and in any of roles, or is a superuser."""
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return user.groups.filter(name__in=roles).exists()  # type: ignore[union-attr]
