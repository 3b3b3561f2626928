"""GET /api/leaderboard/: the numbers the leaderboard page shows, as JSON."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medexam.views_leaderboard import compute_for_request, validated_only


class LeaderboardAPIView(APIView):
    """Accuracy per model, specialty and level with Wilson 95% intervals, and failure counts.

    Accuracies are fractions (0-1). Failures (no_answer, ambiguous, invalid,
    truncated, error, failed) count in every denominator.
    """

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "validated", bool, description="Only questions whose validity is validated."
            )
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        board = compute_for_request(request)
        data = board.as_dict()
        data["validated_only"] = validated_only(request)
        return Response(data)
