"""API for agreement between reviewers over stored reviews."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medexam import roles
from review import agreement
from review.agreement_report import GROUPINGS, agreement_report

MAX_BOOTSTRAP = 5000


class CanReadAgreement(permissions.BasePermission):
    message = "Only coordinators, adjudicators and curators may read agreement figures."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.has_role(request.user, roles.COORDINATOR, roles.ADJUDICATOR, roles.CURATOR)


class AgreementQuery(serializers.Serializer):
    by = serializers.ChoiceField(choices=GROUPINGS, required=False)
    run = serializers.IntegerField(required=False, min_value=1)
    level = serializers.ChoiceField(choices=["ordinal", "interval", "ratio"], default="ordinal")
    bootstrap = serializers.IntegerField(
        default=agreement.BOOTSTRAP_SAMPLES, min_value=0, max_value=MAX_BOOTSTRAP
    )
    resampling = serializers.ChoiceField(
        choices=agreement.RESAMPLINGS, default=agreement.BOOTSTRAP_METHOD
    )


class AgreementReport(APIView):
    """Krippendorff's alpha and related figures per rubric dimension, overall and per group.

    Query parameters: by (specialty, level, run, item, reviewer), run (an
    evaluation run id), level (for the 1-5 ratings), bootstrap (resamples) and
    resampling (units, or pairs of values within units as Hayes and
    Krippendorff 2007 describe).
    """

    permission_classes = [CanReadAgreement]

    @extend_schema(parameters=[AgreementQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        query = AgreementQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = agreement_report(
            by=query.validated_data.get("by"),
            run_id=query.validated_data.get("run"),
            rating_level=query.validated_data["level"],
            bootstrap_samples=query.validated_data["bootstrap"],
            resampling=query.validated_data["resampling"],
        )
        return Response(report)
