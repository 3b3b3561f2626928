from django.contrib import admin
from django.urls import include, path

from medexam import views, views_ops
from medexam.api_leaderboard import LeaderboardAPIView
from medexam.login_throttle import ThrottledLoginView
from review.api_progress import ReviewProgress

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("medexam.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("review/", include("review.urls")),
    path("leaderboard/", include("medexam.urls_leaderboard")),
    path("api/leaderboard/", LeaderboardAPIView.as_view(), name="api-leaderboard"),
    path("api/review-progress/", ReviewProgress.as_view(), name="api-review-progress"),
    path("", include("medexam.urls_datasets")),
    path("runs/", include("medexam.views_runs")),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", views_ops.healthz, name="healthz"),
    path("readyz", views_ops.readyz, name="readyz"),
    path("metrics", views_ops.metrics, name="metrics"),
]
