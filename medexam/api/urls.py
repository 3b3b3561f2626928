from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from medexam.api import views

router = DefaultRouter()
router.register("questions", views.QuestionViewSet, basename="question")
router.register("models", views.LanguageModelViewSet, basename="languagemodel")
router.register("endpoints", views.EndpointViewSet, basename="endpoint")
router.register("prompt-templates", views.PromptTemplateViewSet, basename="prompttemplate")
router.register("runs", views.EvaluationRunViewSet, basename="run")
router.register("responses", views.ModelResponseViewSet, basename="response")
router.register("reviews", views.ReviewViewSet, basename="review")

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
]
