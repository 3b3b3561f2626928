"""Routes for the datasets page, the datasets API and the agreement API."""

from django.urls import path

from medexam import api_datasets, views_datasets
from review import api_agreement

app_name = "datasets"

urlpatterns = [
    path("datasets/", views_datasets.dataset_index, name="index"),
    path("datasets/<int:pk>/download/<str:fmt>/", views_datasets.dataset_download, name="download"),
    path("datasets/<int:pk>/progress/", views_datasets.dataset_progress, name="progress"),
    path("datasets/current/download/<str:fmt>/", views_datasets.current_download, name="current"),
    path("api/agreement/", api_agreement.AgreementReport.as_view(), name="api-agreement"),
    path("api/datasets/", api_datasets.DatasetVersionList.as_view(), name="api-list"),
    path("api/datasets/impact/", api_datasets.ValidityImpact.as_view(), name="api-impact"),
    path("api/datasets/<int:pk>/", api_datasets.DatasetVersionDetail.as_view(), name="api-detail"),
    path(
        "api/datasets/<int:pk>/export/<str:fmt>/",
        api_datasets.DatasetVersionExport.as_view(),
        name="api-export",
    ),
]
