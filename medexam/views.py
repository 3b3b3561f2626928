from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Show the signed-in user the pages their roles open."""
    return render(request, "medexam/home.html")


def favicon(request: HttpRequest) -> HttpResponse:
    """Redirect /favicon.ico, which browsers request without reading the page, to the SVG icon.

    The redirect is temporary because the static file's hashed name changes
    with every deployment.
    """
    return redirect(static("medexam/favicon.svg"))
