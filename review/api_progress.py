"""API for review progress: slots per specialty and run, and figures per reviewer pseudonym."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medexam import roles
from review import selectors


class IsCoordinator(permissions.BasePermission):
    message = "Only coordinators may read review progress."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.has_role(request.user, roles.COORDINATOR)


def _slot_row(row: Any, **names: Any) -> dict[str, Any]:
    counts = ("total", "submitted", "claimed", "open", "pending", "withdrawn")
    return {**names, **{name: row[name] for name in counts}}


class ReviewProgress(APIView):
    """Review slots per specialty and per run, and each reviewer's figures, as on the dashboard.

    Slot counts: total, submitted, claimed, open (not yet claimed), pending
    (open or claimed) and withdrawn (the question was retired or excluded by
    adjudication, so the slot is not offered). Reviewers are named by
    pseudonym only.
    """

    permission_classes = [IsCoordinator]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        by_specialty = [
            _slot_row(row, specialty=row["specialty__code"])
            for row in selectors.progress_by_specialty()
        ]
        by_run = [
            _slot_row(row, run=row["response__run_id"], run_name=row["response__run__name"])
            for row in selectors.progress_by_run()
        ]
        by_reviewer = [
            {
                "reviewer": stats.pseudonym,
                "reviews": stats.reviews,
                "claimed": stats.claimed,
                "withdrawn": stats.withdrawn,
                "gold_reviews": stats.gold_reviews,
                "gold_accuracy": stats.gold_accuracy,
                "majority_reviews": stats.majority_reviews,
                "majority_agreement": stats.majority_agreement,
            }
            for stats in selectors.reviewer_statistics()
        ]
        return Response(
            {"by_specialty": by_specialty, "by_run": by_run, "by_reviewer": by_reviewer}
        )
