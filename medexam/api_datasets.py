"""API for dataset versions: list, detail, exports, and the leaderboard change."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medexam import roles
from medexam.exports import FORMATS
from medexam.models import DatasetVersion
from medexam.views_datasets import DATASET_ROLES, export_response
from review.impact import validity_impact


class IsDatasetManager(permissions.BasePermission):
    message = "Only coordinators and curators may read datasets through the API."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.has_role(request.user, *DATASET_ROLES)


class DatasetVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    exports = serializers.SerializerMethodField()

    class Meta:
        model = DatasetVersion
        fields = [
            "id",
            "name",
            "version",
            "status",
            "items_total",
            "error_message",
            "finished_at",
            "resampling",
            "bootstrap_samples",
            "content_hash",
            "item_count",
            "rules",
            "summary",
            "created_by",
            "created_at",
            "exports",
        ]
        read_only_fields = fields

    def get_exports(self, obj: DatasetVersion) -> dict[str, str]:
        request = self.context.get("request")
        paths = {fmt: f"/api/datasets/{obj.pk}/export/{fmt}/" for fmt in FORMATS}
        if request is None:
            return paths
        return {fmt: request.build_absolute_uri(path) for fmt, path in paths.items()}


class DatasetVersionList(generics.ListAPIView):
    """List dataset versions, newest version of each name first.

    status is pending, building, published or failed. While a version is
    building, item_count counts the items frozen so far out of items_total.
    """

    serializer_class = DatasetVersionSerializer
    permission_classes = [IsDatasetManager]
    queryset = DatasetVersion.objects.select_related("created_by").order_by("name", "-version")


class DatasetVersionDetail(generics.RetrieveAPIView):
    """Show one dataset version with its rules, counts and agreement."""

    serializer_class = DatasetVersionSerializer
    permission_classes = [IsDatasetManager]
    queryset = DatasetVersion.objects.select_related("created_by")


class DatasetVersionExport(APIView):
    """Download a version as jsonl, csv, parquet or datasheet (Markdown)."""

    permission_classes = [IsDatasetManager]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int, fmt: str) -> HttpResponseBase:
        if fmt not in FORMATS:
            raise Http404(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.")
        version = get_object_or_404(DatasetVersion, pk=pk)
        if version.status != DatasetVersion.Status.PUBLISHED:
            return Response(
                {
                    "detail": f"Dataset version {version} is {version.status}, not published; "
                    "download it once its status is published."
                },
                status=409,
            )
        return export_response(fmt, version)


class ValidityImpact(APIView):
    """Per model accuracy on all items and on validated items, and items removed per specialty."""

    permission_classes = [IsDatasetManager]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(validity_impact())
