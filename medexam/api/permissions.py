"""Role checks for API views, the same roles the pages use (medexam.roles)."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from medexam.roles import has_role


class RolePermission(BasePermission):
    """Allow reads to the view's read_roles and writes to its write_roles.

    A view sets read_roles and write_roles as tuples of role names;
    superusers pass every check.
    """

    message = "Your roles do not allow this request."

    def has_permission(self, request: Request, view: APIView) -> bool:
        roles = getattr(view, "read_roles", ())
        if request.method not in SAFE_METHODS:
            roles = getattr(view, "write_roles", ())
        return bool(roles) and has_role(request.user, *roles)
