"""The coordinator's datasets page: create versions from a rule set, download exports."""

from __future__ import annotations

import logging
import tempfile
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from medexam import roles
from medexam.exports import (
    CONTENT_TYPES,
    EXTENSIONS,
    FORMATS,
    export_chunks,
    export_records,
    write_parquet,
)
from medexam.models import DatasetVersion, Specialty, ValidityRuleSet
from medexam.services.datasets import dataset_version_request
from review import agreement
from review.impact import validity_impact

logger = logging.getLogger(__name__)

DATASET_ROLES = (roles.COORDINATOR, roles.CURATOR)


class RuleSetChoiceField(forms.ModelChoiceField):
    """Rule sets labelled with their display names."""

    def label_from_instance(self, obj: ValidityRuleSet) -> str:
        return obj.display_name


class DatasetVersionForm(forms.Form):
    name = forms.SlugField(label=gettext_lazy("Dataset name"), max_length=128)
    rule_set = RuleSetChoiceField(
        label=gettext_lazy("Validity rule set"), queryset=ValidityRuleSet.objects.all()
    )
    all_items = forms.BooleanField(
        label=gettext_lazy("Keep every active question with its status, not only validated ones"),
        required=False,
    )
    resampling = forms.ChoiceField(
        label=gettext_lazy("Bootstrap resampling for agreement intervals"),
        choices=[
            ("units", gettext_lazy("units (reviewed responses)")),
            ("pairs", gettext_lazy("pairs of values within units (Hayes and Krippendorff 2007)")),
        ],
        initial=agreement.BOOTSTRAP_METHOD,
    )


def export_response(fmt: str, version: DatasetVersion | None) -> HttpResponseBase:
    """Build a download response that streams an export of version (or the current questions)."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.")
    stem = f"{version.name}-v{version.version}" if version else "medexam-current"
    filename = f"{stem}.{EXTENSIONS[fmt]}"
    if fmt == "parquet":
        # Parquet writes its footer last, so the file is built on disk, then streamed.
        # The temporary file is deleted when the response closes it.
        handle = tempfile.TemporaryFile()  # noqa: SIM115
        write_parquet(export_records(version), handle)
        handle.seek(0)
        return FileResponse(
            handle, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[fmt]
        )
    response = StreamingHttpResponse(export_chunks(fmt, version), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _require_dataset_role(request: HttpRequest) -> None:
    if not roles.has_role(request.user, *DATASET_ROLES):
        raise PermissionDenied(roles.missing_role_message(*DATASET_ROLES))


@login_required
@require_http_methods(["GET", "POST"])
def dataset_index(request: HttpRequest) -> HttpResponse:
    """List dataset versions and the leaderboard change, and create a version on POST."""
    _require_dataset_role(request)
    form = DatasetVersionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The request only reserves the version number; a Celery worker builds
        # the version, which takes minutes for a large bank.
        try:
            version = dataset_version_request(
                name=form.cleaned_data["name"],
                rule_set_id=form.cleaned_data["rule_set"].id,
                user=request.user,
                validated_only=not form.cleaned_data["all_items"],
                resampling=form.cleaned_data["resampling"],
            )
        except ValueError as exc:
            logger.warning("dataset version request rejected user=%s: %s", request.user.pk, exc)
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Requested %(version)s; a background worker is building it.")
                % {"version": version},
            )
            return redirect("datasets:index")

    versions = DatasetVersion.objects.select_related("created_by").order_by("name", "-version")
    impact = validity_impact()
    specialty_names = specialty_name_map()
    context: dict[str, Any] = {
        "form": form,
        "versions": versions,
        "formats": format_labels(),
        "impact": impact,
        "impact_rows": [impact_display(row) for row in impact["models"]],
        "removed_by_specialty": [
            (specialty_names.get(code, code), counts)
            for code, counts in impact["removed_by_specialty"].items()
        ],
    }
    return render(request, "medexam/datasets/index.html", context)


def impact_display(row: dict[str, Any]) -> dict[str, Any]:
    """Format one model's impact row as the leaderboard prints accuracy: percent, one decimal.

    The change in accuracy is in percentage points with a sign.
    """
    change = row["accuracy_change"]
    return {
        **row,
        "before_text": _accuracy_text(row["before"]),
        "after_text": _accuracy_text(row["after"]),
        "change_text": "—" if change is None else f"{change * 100:+.1f}",
    }


def _accuracy_text(figures: dict[str, Any]) -> str:
    if figures["accuracy"] is None:
        return "—"
    return f"{figures['accuracy'] * 100:.1f}% ({figures['correct']}/{figures['total']})"


def format_labels() -> list[tuple[str, str]]:
    """Pair each export format with its label on the page."""
    labels = {
        "jsonl": "JSONL",
        "csv": "CSV",
        "parquet": "Parquet",
        "datasheet": _("datasheet (Markdown)"),
    }
    return [(fmt, labels[fmt]) for fmt in FORMATS]


def specialty_name_map() -> dict[str, str]:
    """Map specialty codes to names in the active language (Chinese unless English is chosen)."""
    english = (get_language() or "").startswith("en")
    names = {}
    for specialty in Specialty.objects.all():
        names[specialty.code] = (
            specialty.name_en if english else specialty.name_zh
        ) or specialty.code
    names["(none)"] = _("no specialty")
    return names


def version_progress(version: DatasetVersion) -> dict[str, Any]:
    """Return the build status of a version as the page and the API show it."""
    return {
        "id": version.pk,
        "status": version.status,
        "status_label": str(version.get_status_display()),
        "items_done": version.item_count,
        "items_total": version.items_total,
        "finished": version.status
        in (DatasetVersion.Status.PUBLISHED, DatasetVersion.Status.FAILED),
        "error": version.error_message,
    }


@login_required
def dataset_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Return the build progress of one version as JSON, for the page's polling script."""
    _require_dataset_role(request)
    version = get_object_or_404(DatasetVersion, pk=pk)
    return JsonResponse(version_progress(version))


@login_required
def dataset_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponseBase:
    """Download one export of a published dataset version."""
    _require_dataset_role(request)
    version = get_object_or_404(DatasetVersion, pk=pk)
    if version.status != DatasetVersion.Status.PUBLISHED:
        raise Http404(_("This dataset version is not published yet."))
    if fmt not in FORMATS:
        return HttpResponse(status=404)
    return export_response(fmt, version)


@login_required
def current_download(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """Download an export of the current questions with their reviews and status."""
    _require_dataset_role(request)
    if fmt not in FORMATS:
        return HttpResponse(status=404)
    return export_response(fmt, None)
