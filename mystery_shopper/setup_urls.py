"""HQ's mystery-shopper setup pages, mounted at ``/setup/`` by the project's URLs."""

from django.urls import path

from mystery_shopper import setup_views

app_name = "mystery_shopper_setup"

urlpatterns = [
    path("scorecards/", setup_views.scorecards, name="scorecards"),
    path("scorecards/<slug:code>/", setup_views.scorecard, name="scorecard"),
    path("scorecards/<slug:code>/edit/", setup_views.scorecard_edit, name="scorecard_edit"),
    path("scorecards/<slug:code>/json/", setup_views.scorecard_json, name="scorecard_json"),
    path("scenarios/", setup_views.scenarios, name="scenarios"),
]
