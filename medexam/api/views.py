"""API views. Each sets which roles may read and which may write (RolePermission)."""

from __future__ import annotations

from typing import cast

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
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
    Level,
    ModelResponse,
    PromptTemplate,
    Question,
    Specialty,
)
from medexam.roles import COORDINATOR, CURATOR, REVIEWER, has_role
from medexam.services import runs as run_services
from medexam.services.questions import ReasonRequired, question_create, question_save
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


class QuestionViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Questions with their answer keys: curators and coordinators read, curators write.

    Every update is recorded in the question's history; questions are retired
    through their status, never deleted.
    """

    queryset = Question.objects.select_related("specialty", "level").order_by("id")
    serializer_class = serializers.QuestionSerializer
    permission_classes = [IsAuthenticated, RolePermission]
    read_roles = STAFF
    write_roles = (CURATOR,)
    filterset_class = QuestionFilter

    def perform_create(self, serializer: BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        data.pop("change_reason", None)
        try:
            with transaction.atomic():
                question = question_create(question=Question(**data), user_id=self.request.user.pk)
        except IntegrityError as exc:
            raise Conflict(_duplicate_detail()) from exc
        serializer.instance = question

    def perform_update(self, serializer: BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        reason = data.pop("change_reason", "")
        question = cast(Question, serializer.instance)
        for name, value in data.items():
            setattr(question, name, value)
        try:
            question_save(question=question, user_id=self.request.user.pk, reason=reason)
        except ReasonRequired as exc:
            raise ValidationError({"change_reason": [str(exc)]}) from exc
        except IntegrityError as exc:
            raise Conflict(_duplicate_detail()) from exc


def _duplicate_detail() -> str:
    return "Another question was stored with this stem and these options meanwhile; reload it."


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


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


RUN_ACTIONS = {
    "pause": (run_services.run_pause, "Only a running run can be paused."),
    "resume": (run_services.run_resume, "Only a paused run can be resumed."),
    "cancel": (run_services.run_cancel, "This run has already finished; it cannot be cancelled."),
}


class EvaluationRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Evaluation runs. Curators create, pause, resume and cancel them."""

    queryset = EvaluationRun.objects.order_by("-created_at", "-id")
    serializer_class = serializers.EvaluationRunSerializer
    permission_classes = [IsAuthenticated, RolePermission]
    read_roles = STAFF
    write_roles = (CURATOR,)
    filterset_fields = ["model", "endpoint", "status"]

    @extend_schema(
        request=serializers.RunCreateSerializer,
        responses={201: serializers.EvaluationRunSerializer},
    )
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        incoming = serializers.RunCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        question_filter = {
            key: value.code if isinstance(value, Specialty | Level) else value
            for key, value in (data.get("question_filter") or {}).items()
        }
        with transaction.atomic():
            run = run_services.run_create(
                model=data["model"],
                endpoint=data.get("endpoint"),
                prompt_template=data.get("prompt_template")
                or run_services.prompt_template_get_default(),
                question_filter=question_filter,
                samples_per_question=data["samples_per_question"],
                seed=data.get("seed"),
                shuffle_options=data["shuffle_options"],
                decoding=data.get("decoding"),
                name=data.get("name", ""),
                created_by=request.user,
            )
        if data["start"]:
            run_services.run_start(run_id=run.pk)
            run.refresh_from_db()
        body = serializers.EvaluationRunSerializer(run).data
        return Response(body, status=status.HTTP_201_CREATED)

    def _act(self, action_name: str) -> Response:
        run = self.get_object()
        service, rejected_message = RUN_ACTIONS[action_name]
        if not service(run_id=run.pk):
            raise Conflict(f"{rejected_message} Its status is {run.status}.")
        run.refresh_from_db()
        return Response(serializers.EvaluationRunSerializer(run).data)

    @extend_schema(request=None, responses={200: serializers.EvaluationRunSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """Pause a running run: requests in flight finish, nothing new is sent."""
        return self._act("pause")

    @extend_schema(request=None, responses={200: serializers.EvaluationRunSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Resume a paused run."""
        return self._act("resume")

    @extend_schema(request=None, responses={200: serializers.EvaluationRunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a run that has not finished; its unsent requests fail as cancelled."""
        return self._act("cancel")


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
