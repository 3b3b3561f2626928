"""Pages of evaluation runs for curators and coordinators: list, progress, controls.

Run pages name the model, so reviewers (who judge answers blind) cannot open them.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, re_path
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medexam import roles
from medexam.failures import failure_text_display
from medexam.models import EvaluationRun, ModelResponse
from medexam.services import runs as run_services

ACTIONS = {
    "pause": (
        run_services.run_pause,
        gettext_lazy("Run paused."),
        gettext_lazy("Only a running run can be paused."),
    ),
    "resume": (
        run_services.run_resume,
        gettext_lazy("Run resumed."),
        gettext_lazy("Only a paused run can be resumed."),
    ),
    "cancel": (
        run_services.run_cancel,
        gettext_lazy("Run cancelled."),
        gettext_lazy("This run has already finished, so it cannot be cancelled."),
    ),
}


def _require_run_role(request: HttpRequest) -> None:
    if not roles.has_role(request.user, roles.CURATOR, roles.COORDINATOR):
        raise PermissionDenied(roles.missing_role_message(roles.CURATOR, roles.COORDINATOR))


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    _require_run_role(request)
    runs = EvaluationRun.objects.select_related("model", "endpoint", "prompt_template")[:200]
    return render(request, "medexam/runs/list.html", {"runs": runs})


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    _require_run_role(request)
    run = get_object_or_404(
        EvaluationRun.objects.select_related("model", "endpoint", "prompt_template"), pk=run_id
    )
    failures = list(
        run.responses.filter(state=ModelResponse.State.FAILED)
        .select_related("question")
        .order_by("id")[:100]
    )
    for response in failures:
        response.error_display = failure_text_display(response.error)
    context = {
        "run": run,
        "error_message": failure_text_display(run.error_message),
        "progress": run_services.run_progress(run_id=run.pk),
        "failures": failures,
        "finished": run.status in EvaluationRun.FINISHED,
    }
    return render(request, "medexam/runs/detail.html", context)


@login_required
def run_progress_json(request: HttpRequest, run_id: int) -> JsonResponse:
    _require_run_role(request)
    run = get_object_or_404(EvaluationRun, pk=run_id)
    progress = run_services.run_progress(run_id=run.pk)
    return JsonResponse(
        {
            "status": run.status,
            "status_display": run.get_status_display(),
            "finished": run.status in EvaluationRun.FINISHED,
            "total": progress.total,
            "pending": progress.pending,
            "in_flight": progress.in_flight,
            "done": progress.done,
            "failed": progress.failed,
            "rate_per_s": round(progress.rate_per_s, 2),
            "seconds_left": progress.seconds_left,
        }
    )


@login_required
@require_POST
def run_action(request: HttpRequest, run_id: str, action: str) -> HttpResponse:
    _require_run_role(request)
    run = get_object_or_404(EvaluationRun, pk=run_id)
    service, done_message, rejected_message = ACTIONS[action]
    if service(run_id=run.pk):
        messages.success(request, done_message)
    else:
        messages.error(request, rejected_message)
    return redirect("runs:detail", run_id=run.pk)


app_name = "runs"
urlpatterns = [
    path("", run_list, name="list"),
    path("<int:run_id>/", run_detail, name="detail"),
    path("<int:run_id>/progress.json", run_progress_json, name="progress"),
    re_path(r"^(?P<run_id>[0-9]+)/(?P<action>pause|resume|cancel)/$", run_action, name="action"),
]
