"""Request middleware of the project."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Activate the language chosen with the language menu, else LANGUAGE_CODE.

    Django's own LocaleMiddleware falls back to the browser's Accept-Language,
    which gives English screens to physicians whose browser is set to English.
    The platform is Chinese first, so only an explicit choice (the language
    cookie that the menu sets) switches it.
    """

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
