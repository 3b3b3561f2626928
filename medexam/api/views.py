"""API views. Each sets which roles may read and which may write (RolePermission)."""

from __future__ import annotations

from typing import cast

from django.db.models import ProtectedError, QuerySet
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import ScopedRateThrottle

from medexam.api import serializers
from medexam.api.filters import ModelResponseFilter, QuestionFilter
from medexam.api.permissions import RolePermission
from medexam.models import (
    Endpoint,
    EvaluationRun,
    LanguageModel,
    ModelResponse,
    PromptTemplate,
    Question,
)
from medexam.roles import COORDINATOR, CURATOR, REVIEWER, has_role
from review.models import Review

STAFF = (CURATOR, COORDINATOR)


class TokenObtainView(ObtainAuthToken):
    """POST username and password, receive the user's API token."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"


class ProtectedDeleteMixin:
    """Return 409 Conflict, not a server error, when rows still refer to the one deleted."""

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        try:
            return super().destroy(request, *args, **kwargs)  # type: ignore[misc]
        except ProtectedError as exc:
            used_by = sorted({str(type(obj)._meta.verbose_name) for obj in exc.protected_objects})
            return Response(
                {
                    "detail": f"Still used by: {', '.join(map(str, used_by))}; delete those first "
                    "or mark this one inactive."
                },
                status=status.HTTP_409_CONFLICT,
            )


class QuestionViewSet(viewsets.ReadOnlyModelViewSet):
    """Questions with their answer keys: curators and coordinators only."""

    queryset = Question.objects.select_related("specialty", "level").order_by("id")
    serializer_class = serializers.QuestionSerializer
    permission_classes = [IsAuthenticated, RolePermission]
    read_roles = STAFF
    filterset_class = QuestionFilter


class LanguageModelViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    queryset = LanguageModel.objects.order_by("name")
    serializer_class = serializers.LanguageModelSerializer
    permission_classes = [IsAuthenticated, RolePermission]
    read_roles = STAFF
    write_roles = (CURATOR,)
    filterset_fields = ["architecture", "family", "is_reasoning"]


class EndpointViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    """Endpoints. Only curators see which environment variable contains the key."""

    queryset = Endpoint.objects.order_by("name")
    permission_classes = [IsAuthenticated, RolePermission]
    read_roles = STAFF
    write_roles = (CURATOR,)
    filterset_fields = ["model", "kind", "is_active"]

    def get_serializer_class(self) -> type[BaseSerializer]:
        if has_role(self.request.user, CURATOR):
            return serializers.EndpointSerializer
        return serializers.EndpointPublicSerializer


class PromptTemplateViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    queryset = PromptTemplate.objects.order_by("name", "-version")
    serializer_class = serializers.PromptTemplateSerializer
    permission_classes = [IsAuthenticated, RolePermission]
    read_roles = STAFF
    write_roles = (CURATOR,)
    filterset_fields = ["name", "version"]


class EvaluationRunViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = EvaluationRun.objects.order_by("-created_at", "-id")
    serializer_class = serializers.EvaluationRunSerializer
    permission_classes = [IsAuthenticated, RolePermission]
    read_roles = STAFF
    filterset_fields = ["model", "endpoint", "status"]


class ModelResponseViewSet(viewsets.ReadOnlyModelViewSet):
    """Responses. Reviewers see only those assigned to them, without the model's identity."""

    permission_classes = [IsAuthenticated, RolePermission]
    read_roles = (*STAFF, REVIEWER)

    @property
    def filterset_class(self) -> type[ModelResponseFilter] | None:
        # Filtering by run or question would let a reviewer sort responses by model.
        if getattr(self, "swagger_fake_view", False) or self._is_staff():
            return ModelResponseFilter
        return None

    def _is_staff(self) -> bool:
        return has_role(self.request.user, *STAFF)

    def get_queryset(self) -> QuerySet[ModelResponse]:
        responses = ModelResponse.objects.select_related("question").order_by("id")
        if getattr(self, "swagger_fake_view", False):
            return responses.none()
        if self._is_staff():
            return responses
        return responses.filter(
            # IsAuthenticated ran first, so the user has a primary key.
            assignments__reviewer__user_id=cast(int, self.request.user.pk)
        ).distinct()

    def get_serializer_class(self) -> type[BaseSerializer]:
        # The schema documents the staff form; reviewers get BlindResponseSerializer's subset.
        if getattr(self, "swagger_fake_view", False) or self._is_staff():
            return serializers.ModelResponseSerializer
        return serializers.BlindResponseSerializer


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reviews. Reviewers see their own; coordinators see all, named by pseudonym."""

    serializer_class = serializers.ReviewSerializer
    permission_classes = [IsAuthenticated, RolePermission]
    read_roles = (COORDINATOR, REVIEWER)
    filterset_fields = ["response", "verdict"]

    def get_queryset(self) -> QuerySet[Review]:
        reviews = Review.objects.select_related("reviewer").order_by("id")
        if getattr(self, "swagger_fake_view", False):
            return reviews.none()
        if has_role(self.request.user, COORDINATOR):
            return reviews
        return reviews.filter(reviewer__user_id=cast(int, self.request.user.pk))
