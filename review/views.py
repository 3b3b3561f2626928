from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def next_item(request: HttpRequest) -> HttpResponse:
    """Show the reviewer's next assigned response."""
    # NOTE: the claim-and-review flow is not built yet; this page only renders the frame.
    return render(request, "review/next.html")
