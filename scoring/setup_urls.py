"""HQ's setup pages of scoring, under ``/setup/`` (the root URLconf)."""

from django.urls import path

from scoring import scheme_views

app_name = "scoring_setup"

urlpatterns = [
    path("schemes/", scheme_views.scheme_edit, name="schemes"),
]
