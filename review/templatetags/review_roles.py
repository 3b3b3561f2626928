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


@register.filter(name="sees_model_results")
def sees_model_results_filter(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Return True if user may see results by model; blinded physicians may not."""
    return roles.sees_model_results(user)
