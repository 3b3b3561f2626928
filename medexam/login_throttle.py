"""A log-in view that stops password guessing: a few failures per username and address lock both.

Failures are counted in the default cache (Redis when REDIS_URL is set), under
a key hashed from the lower-cased username and the client address, for
LOGIN_FAILURE_WINDOW_S seconds after the first failure.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def _failure_key(request: HttpRequest, username: str) -> str:
    # The address is REMOTE_ADDR: behind a proxy, the proxy must set it (gunicorn's
    # forwarded_allow_ips), because X-Forwarded-For is chosen by the client.
    address = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{username.strip().lower()}\x1f{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


def login_failures_count(request: HttpRequest, username: str) -> int:
    return int(cache.get(_failure_key(request, username), 0))


class ThrottledLoginView(LoginView):
    """Django's LoginView, refusing further tries after LOGIN_MAX_FAILURES failures."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        username = request.POST.get("username", "")
        if login_failures_count(request, username) >= settings.LOGIN_MAX_FAILURES:
            logger.warning(
                "log-in refused after %d failures from %s",
                settings.LOGIN_MAX_FAILURES,
                request.META.get("REMOTE_ADDR", ""),
            )
            message = _("Too many failed log-in attempts. Try again in %(minutes)d minutes.") % {
                "minutes": max(1, settings.LOGIN_FAILURE_WINDOW_S // 60)
            }
            context = self.get_context_data(
                form=self.get_form_class()(request), throttle_message=message
            )
            response = self.render_to_response(context)
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        key = _failure_key(self.request, self.request.POST.get("username", ""))
        # add() starts the window on the first failure; incr() does not extend it.
        if not cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_S):
            try:
                cache.incr(key)
            except ValueError:
                cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_S)
        return super().form_invalid(form)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        cache.delete(_failure_key(self.request, self.request.POST.get("username", "")))
        return super().form_valid(form)
