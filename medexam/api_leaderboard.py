"""GET /api/leaderboard/: the numbers the leaderboard page shows, as JSON."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medexam.leaderboard import SCOPES
from medexam.views_leaderboard import compute_for_request, empty_reason, validated_only


class LeaderboardAPIView(APIView):
    """Accuracy per model, specialty and level with Wilson 95% intervals, and failure counts.

    Accuracies are fractions (0-1). Failures (no_answer, ambiguous, invalid,
    truncated, error, failed) count in every denominator. Responses that
    failed for endpoint configuration (HTTP 400/401/403/404), were never
    sent, or are unfinished are left out and counted in excluded_responses
    and in each row's excluded. By default (scope=common) every figure covers
    the common_item_count questions all listed models answered; each row's
    full_set covers all the questions that model answered. Of several runs of
    a model on one question, the latest run that answered it counts.
    With no rows, empty_reason is "no_validated_questions" (validated=1 and no
    question is validated yet) or "no_responses". empty_message explains it and
    names the next step, in the request's language. Both are null otherwise.
    """

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "validated", bool, description="Only questions whose validity is validated."
            ),
            OpenApiParameter(
                "scope",
                str,
                enum=list(SCOPES),
                description=(
                    "common (default): the questions every listed model answered; "
                    "all: each model's own questions."
                ),
            ),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        board = compute_for_request(request)
        data = board.as_dict()
        data["validated_only"] = validated_only(request)
        reason = empty_reason(board, validated=data["validated_only"])
        data["empty_reason"] = reason[0] if reason else None
        data["empty_message"] = reason[1] if reason else None
        return Response(data)
