"""Leaderboard page: tables, figures (PNG and SVG) and the data behind each as CSV."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from medexam import figures, roles, tables
from medexam.leaderboard import (
    ALL,
    COMMON,
    NO_VALIDATED_QUESTIONS,
    Cell,
    Leaderboard,
    leaderboard_compute,
    models_without_params,
    validated_questions_exist,
)
from medexam.models import Question

TABLES = {
    "accuracy": tables.accuracy_frame,
    "failures": tables.failure_frame,
    "specialty_level": tables.specialty_level_frame,
}


def validated_only(request: HttpRequest) -> bool:
    """Read ?validated=1, which restricts every number to validated questions."""
    return request.GET.get("validated", "") in {"1", "true", "yes"}


def scope_of(request: HttpRequest) -> str:
    """Read ?scope=all, which gives each model its own questions instead of the common ones."""
    return ALL if request.GET.get("scope", "") == ALL else COMMON


def query_string(*, validated: bool, scope: str) -> str:
    """Build the query that keeps the page's choices on its download links."""
    parts = []
    if validated:
        parts.append("validated=1")
    if scope == ALL:
        parts.append("scope=all")
    return "?" + "&".join(parts) if parts else ""


def compute_for_request(request: HttpRequest) -> Leaderboard:
    # Every page, figure, CSV and API reply of the leaderboard passes here.
    if not roles.sees_model_results(request.user):
        raise PermissionDenied(roles.blinded_message())
    items = None
    if validated_only(request):
        items = Question.objects.filter(validity=Question.Validity.VALIDATED)
    return leaderboard_compute(items=items, scope=scope_of(request))


def empty_reason(board: Leaderboard, *, validated: bool) -> tuple[str, str] | None:
    """Return a code and a message that explain an empty board, or None when it has rows."""
    if board.rows:
        return None
    if validated and not validated_questions_exist():
        return "no_validated_questions", str(NO_VALIDATED_QUESTIONS)
    return "no_responses", _(
        "No model responses yet. Start an evaluation run to fill the leaderboard."
    )


def _display(cell: Cell | None) -> dict | None:
    if cell is None or cell.accuracy is None or cell.low is None or cell.high is None:
        return None
    return {
        "accuracy": f"{cell.accuracy * 100:.1f}",
        "interval": f"{cell.low * 100:.1f}–{cell.high * 100:.1f}",
        "n": cell.total,
    }


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}"


def display_rows(board: Leaderboard) -> list[dict]:
    """Format each leaderboard row for the template: percentages with one decimal."""
    rows = []
    for row in board.rows:
        rows.append(
            {
                "name": row.name,
                "is_baseline": row.is_baseline,
                "architecture": row.architecture,
                "total_params_b": row.total_params_b,
                "active_params_b": row.active_params_b,
                "overall": _display(row.overall),
                "full_set": _display(row.full_set),
                "excluded": row.excluded,
                "excluded_count": sum(row.excluded.values()),
                "superseded": row.superseded,
                "macro": _percent(row.macro_accuracy),
                "failure_rate": _percent(row.failure_rate),
                "failures": row.failures,
                "specialties": [_display(row.by_specialty.get(c.code)) for c in board.specialties],
                "levels": [_display(row.by_level.get(c.code)) for c in board.levels],
                "all_rotations": _display(row.all_rotations),
            }
        )
    return rows


@login_required
def leaderboard(request: HttpRequest) -> HttpResponse:
    """Show the accuracy tables and the figures, with download links."""
    board = compute_for_request(request)
    chinese = (get_language() or "").startswith("zh")
    validated, scope = validated_only(request), scope_of(request)
    context = {
        "board_data": board.as_dict(),
        "rows": display_rows(board),
        "specialty_names": [c.name_zh if chinese else c.name_en for c in board.specialties],
        "level_names": [c.name_zh if chinese else c.name_en for c in board.levels],
        "has_rotations": any(row.all_rotations is not None for row in board.rows),
        "figure_names": figures.FIGURES,
        "table_names": list(TABLES),
        "validated": validated,
        "scope": scope,
        "excluded_count": sum(board.excluded.values()),
        "empty_reason": empty_reason(board, validated=validated),
        "missing_params": models_without_params(board),
        "query": query_string(validated=validated, scope=scope),
        "download_query": query_string(validated=validated, scope=scope).replace("?", "&", 1),
        "other_scope_query": query_string(
            validated=validated, scope=COMMON if scope == ALL else ALL
        ),
        "other_validated_query": query_string(validated=not validated, scope=scope),
    }
    return render(request, "medexam/leaderboard/index.html", context)


@login_required
def leaderboard_figure(request: HttpRequest, name: str, file_format: str) -> HttpResponse:
    """Send one figure as PNG or SVG, as an attachment when ?download=1."""
    if name not in figures.FIGURES or file_format not in figures.FORMATS:
        raise Http404(f"figure {name}.{file_format} not found; use heatmap, parameters or levels")
    board = compute_for_request(request)
    payload = figures.render(
        figures.draw(name, board, language=get_language() or "zh-hans"), file_format
    )
    response = HttpResponse(payload, content_type=figures.FORMATS[file_format])
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="leaderboard-{name}.{file_format}"'
    return response


@login_required
def leaderboard_csv(request: HttpRequest, name: str) -> HttpResponse:
    """Send the data behind a figure or a table as UTF-8 CSV with a byte-order mark for Excel."""
    board = compute_for_request(request)
    if name in figures.FIGURES:
        body = figures.figure_csv(name, board)
    elif name in TABLES:
        body = TABLES[name](board).to_csv(index=False)
    else:
        raise Http404(f"table {name} not found")
    response = HttpResponse("\ufeff" + body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leaderboard-{name}.csv"'
    return response
