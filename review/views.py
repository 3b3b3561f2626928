"""Review pages: the reviewer's form, the adjudicator's queue, the coordinator's dashboards.

Reviewer pages never show the model, run, endpoint or another reviewer's
verdict; the answer key appears only after the first verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from medexam import roles
from medexam.models import ModelResponse, Question
from review import selectors, services
from review.forms import (
    AdjudicationForm,
    FirstVerdictForm,
    GoldItemForm,
    ReviewerSpecialtiesForm,
    ReviewForm,
)
from review.lettering import lettering_for
from review.models import Assignment, Review, Reviewer

View = Callable[..., HttpResponse]


def role_required(*allowed: str) -> Callable[[View], View]:
    """Send anonymous users to the log-in page and answer 403 to users without a role."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not roles.has_role(request.user, *allowed):
                raise PermissionDenied(roles.missing_role_message(*allowed))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


@role_required(roles.REVIEWER)
def next_item(request: HttpRequest) -> HttpResponse:
    """Claim the reviewer's next item and open it, or say that nothing is waiting."""
    reviewer = selectors.reviewer_for_user(request.user)
    if reviewer is None:
        return render(request, "review/next.html", {"no_profile": True})

    assignment = services.assignment_claim_next(reviewer=reviewer)
    if assignment is None:
        # Say why nothing comes when the reviewer's profile, not the work, is the cause.
        no_scope = not reviewer.is_general and not reviewer.specialties.exists()
        context = {
            "progress": selectors.reviewer_progress(reviewer),
            "no_scope": no_scope,
            "waiting_without_specialty": (
                0 if reviewer.is_general else selectors.open_slots_without_specialty()
            ),
        }
        return render(request, "review/next.html", context)
    return redirect("review:item", assignment_id=assignment.pk)


@role_required(roles.REVIEWER)
@require_http_methods(["GET", "POST"])
def item(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """Show one claimed item; POST records the first verdict, submits the review or skips."""
    reviewer = selectors.reviewer_for_user(request.user)
    if reviewer is None:
        raise Http404
    # Another reviewer's item, or one already submitted, is "not found" rather
    # than forbidden, so ids reveal nothing.
    assignment = get_object_or_404(
        selectors.held_assignments(reviewer, timezone.now()).select_related("response__question"),
        id=assignment_id,
    )

    first_form = FirstVerdictForm()
    review_form = ReviewForm(initial={"verdict": assignment.first_verdict})
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "skip":
                services.assignment_release(assignment_id=assignment.pk, reviewer=reviewer)
                messages.info(request, _("Item skipped; it will not be shown to you again."))
                return redirect("review:next")
            if action == "first_verdict":
                first_form = FirstVerdictForm(request.POST)
                if first_form.is_valid():
                    services.assignment_record_first_verdict(
                        assignment_id=assignment.pk,
                        reviewer=reviewer,
                        verdict=first_form.cleaned_data["verdict"],
                    )
                    # The fragment scrolls the page to the answer key and the second step.
                    item_url = reverse("review:item", args=[assignment.pk])
                    return redirect(f"{item_url}#answer-key-step")
            elif action == "submit":
                review_form = ReviewForm(request.POST)
                if review_form.is_valid():
                    data = review_form.cleaned_data
                    services.review_submit(
                        assignment_id=assignment.pk,
                        reviewer=reviewer,
                        verdict_after_key=data["verdict"],
                        rating_factual=data["rating_factual"],
                        rating_reasoning=data["rating_reasoning"],
                        rating_safety=data["rating_safety"],
                        flags=data["flags"],
                        comment=data["comment"],
                    )
                    messages.success(request, _("Review saved."))
                    return redirect("review:next")
            else:
                return HttpResponse(_("Unknown action."), status=400)
        except services.ReviewError as error:
            messages.error(request, str(error))
            return redirect("review:next")

    response = assignment.response
    context = {
        "assignment": assignment,
        "withdrawn_reason": _withdrawn_reason(assignment),
        "question": response.question,
        "lettering": lettering_for(response, response.question),
        "response": response,
        "key_revealed": bool(assignment.first_verdict),
        "first_verdict_label": (
            Review.Verdict(assignment.first_verdict).label if assignment.first_verdict else ""
        ),
        "first_form": first_form,
        "form": review_form,
        "progress": selectors.reviewer_progress(reviewer),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "review/item.html", context, status=status)


def _withdrawn_reason(assignment: Assignment) -> str:
    """Say why a held slot left the review pool: "retired", "excluded", or "" while it is in it."""
    if assignment.status != Assignment.Status.WITHDRAWN:
        return ""
    if assignment.response.question.status == Question.Status.RETIRED:
        return "retired"
    return "excluded"


@role_required(roles.ADJUDICATOR)
def adjudicate_queue(request: HttpRequest) -> HttpResponse:
    """List responses with disagreeing verdicts or a flagged question that await a decision."""
    entries = selectors.adjudication_queue()
    return render(request, "review/adjudicate_queue.html", {"entries": entries})


@role_required(roles.ADJUDICATOR)
@require_http_methods(["GET", "POST"])
def adjudicate_response(request: HttpRequest, response_id: int) -> HttpResponse:
    """Show every review of a response by pseudonym and record the adjudicator's decision."""
    response = get_object_or_404(ModelResponse.objects.select_related("question"), id=response_id)
    form = AdjudicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.adjudication_record(
                adjudicator=request.user,  # type: ignore[arg-type]
                question_id=response.question_id,
                response_id=response.pk,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data["reason"],
                corrected_key=form.cleaned_data["corrected_key"],
            )
        except services.ReviewError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Decision saved."))
            return redirect("review:adjudicate")

    decisions = selectors.question_decisions(response.question_id)
    context = {
        "response": response,
        "question": response.question,
        "lettering": lettering_for(response, response.question),
        "reviews": selectors.reviews_for_adjudication(response.pk),
        "adjudications": response.adjudications.order_by("-decided_at"),
        # Decisions on the question made through another of its responses.
        "question_decisions": [
            decision for decision in decisions if decision.response_id != response.pk
        ],
        "decision_in_force_id": decisions[0].pk if decisions else None,
        "form": form,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "review/adjudicate_item.html", context, status=status)


@role_required(roles.COORDINATOR)
def coordinate(request: HttpRequest) -> HttpResponse:
    """Show progress per specialty, run and reviewer (pseudonym), with calibration figures."""
    context = {
        "by_specialty": selectors.progress_by_specialty(),
        "by_run": selectors.progress_by_run(),
        "reviewer_stats": selectors.reviewer_statistics(),
    }
    return render(request, "review/coordinate.html", context)


@role_required(roles.COORDINATOR)
@require_http_methods(["GET", "POST"])
def coordinate_gold(request: HttpRequest) -> HttpResponse:
    """List gold items, find responses by question, and mark a response as a gold item."""
    # A search result's link fills in its response id.
    form = GoldItemForm(request.POST or None, initial={"response_id": request.GET.get("response")})
    if request.method == "POST" and form.is_valid():
        try:
            services.gold_item_mark(
                response_id=form.cleaned_data["response_id"],
                verdict=form.cleaned_data["verdict"],
                note=form.cleaned_data["note"],
                user=request.user,  # type: ignore[arg-type]
            )
        except services.ReviewError as error:
            form.add_error("response_id", str(error))
        else:
            messages.success(request, _("Gold item saved."))
            return redirect("review:coordinate_gold")

    search = request.GET.get("q", "")
    context = {
        "form": form,
        "gold_items": selectors.gold_items(),
        "search": search,
        "results": selectors.responses_for_gold_search(search),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "review/coordinate_gold.html", context, status=status)


@role_required(roles.COORDINATOR)
@require_http_methods(["GET", "POST"])
def coordinate_reviewers(request: HttpRequest) -> HttpResponse:
    """List reviewers with their specialties and set a user's specialties."""
    form = ReviewerSpecialtiesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.reviewer_update(
                user_id=data["user"].pk,
                specialty_ids=[specialty.pk for specialty in data["specialties"]],
                is_general=data["is_general"],
            )
        except services.ReviewError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Reviewer specialties saved."))
            return redirect("review:coordinate_reviewers")

    reviewers = Reviewer.objects.select_related("user").prefetch_related("specialties")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "review/coordinate_reviewers.html",
        {"form": form, "reviewers": reviewers},
        status=status,
    )
