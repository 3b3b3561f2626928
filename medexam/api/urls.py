from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from medexam.api import views

# Endpoints outside the router that the API root lists too, by URL name.
ROOT_EXTRA = {
    "leaderboard": "api-leaderboard",
    "review-progress": "api-review-progress",
    "agreement": "datasets:api-agreement",
    "datasets": "datasets:api-list",
    "datasets-impact": "datasets:api-impact",
    "auth-token": "api-token",
    "schema": "api-schema",
}


class APIRouter(DefaultRouter):
    """The default router, whose root also lists the API views registered outside it."""

    def get_api_root_view(self, api_urls=None):  # type: ignore[no-untyped-def]
        list_name = self.routes[0].name
        api_root_dict = {
            prefix: list_name.format(basename=basename)
            for prefix, _viewset, basename in self.registry
        }
        api_root_dict.update(ROOT_EXTRA)
        return self.APIRootView.as_view(api_root_dict=api_root_dict)


router = APIRouter()
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
