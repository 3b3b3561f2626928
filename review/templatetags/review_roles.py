"""Role checks in templates, through medexam.roles.has_role."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from medexam import roles

register = template.Library()


@register.filter(name="has_role")
def has_role_filter(user: AbstractBaseUser | AnonymousUser, role_names: str) -> bool:
    """Return True if user holds any of the comma-separated roles, e.g. "curator,coordinator"."""
    return roles.has_role(user, *role_names.split(","))
