"""Stop password guessing: a few failed log-ins per username and address lock both for a while.

Failures are counted in the default cache (Redis when REDIS_URL is set) under a
key hashed from the lower-cased username and the client address, for
LOGIN_FAILURE_WINDOW_S seconds after the first failure. ThrottledModelBackend,
the project's authentication backend, rejects every password check for a
locked pair, so the log-in page, the admin's log-in and POST /api/auth/token/
are all covered. ThrottledLoginView adds a clear message and status 429.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def _failure_key(request: HttpRequest | None, username: str) -> str:
    # REMOTE_ADDR only: behind a proxy, the proxy must set it (gunicorn's
    # forwarded_allow_ips), because X-Forwarded-For is chosen by the client.
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    digest = hashlib.sha256(f"{username.strip().lower()}\x1f{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


def login_is_locked(request: HttpRequest | None, username: str) -> bool:
    failures = int(cache.get(_failure_key(request, username), 0))
    return failures >= settings.LOGIN_MAX_FAILURES


@receiver(user_login_failed, dispatch_uid="medexam_count_login_failure")
def count_login_failure(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    key = _failure_key(request, str(credentials.get("username", "")))
    # add() starts the window on the first failure; incr() keeps its expiry.
    if not cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_S):
        try:
            cache.incr(key)
        except ValueError:
            cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_S)


@receiver(user_logged_in, dispatch_uid="medexam_clear_login_failures")
def clear_login_failures(
    sender: object, request: HttpRequest | None = None, user: Any = None, **kwargs: Any
) -> None:
    if user is not None and request is not None:
        cache.delete(_failure_key(request, user.get_username()))


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend, rejecting every password check for a locked username and address."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username and login_is_locked(request, username):
            logger.warning(
                "log-in rejected after %d failures from %s",
                settings.LOGIN_MAX_FAILURES,
                request.META.get("REMOTE_ADDR", "") if request is not None else "",
            )
            # PermissionDenied stops authenticate() from trying any other backend.
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)


class ThrottledLoginView(LoginView):
    """Django's LoginView, returning status 429 with a message while the username is locked."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not login_is_locked(request, request.POST.get("username", "")):
            return super().post(request, *args, **kwargs)
        message = _("Too many failed log-in attempts. Try again in %(minutes)d minutes.") % {
            "minutes": max(1, settings.LOGIN_FAILURE_WINDOW_S // 60)
        }
        form = self.get_form_class()(request)
        response = self.render_to_response(
            self.get_context_data(form=form, throttle_message=message)
        )
        response.status_code = 429
        return response
