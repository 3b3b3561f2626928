from django.urls import path

from review import views

app_name = "review"

urlpatterns = [
    path("", views.next_item, name="next"),
    path("<int:assignment_id>/", views.item, name="item"),
    path("adjudicate/", views.adjudicate_queue, name="adjudicate"),
    path(
        "adjudicate/response/<int:response_id>/",
        views.adjudicate_response,
        name="adjudicate_response",
    ),
    path("coordinate/", views.coordinate, name="coordinate"),
    path("coordinate/reviewers/", views.coordinate_reviewers, name="coordinate_reviewers"),
    path("coordinate/gold/", views.coordinate_gold, name="coordinate_gold"),
]
