from django.urls import path

from medexam import views_leaderboard

urlpatterns = [
    path("", views_leaderboard.leaderboard, name="leaderboard"),
    path(
        "figures/<slug:name>.<slug:file_format>",
        views_leaderboard.leaderboard_figure,
        name="leaderboard-figure",
    ),
    path("data/<slug:name>.csv", views_leaderboard.leaderboard_csv, name="leaderboard-csv"),
]
