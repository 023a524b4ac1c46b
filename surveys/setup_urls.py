"""HQ's survey setup pages, mounted at ``/setup/`` by the project's URLs."""

from django.urls import path

from surveys import setup_views

app_name = "surveys_setup"

urlpatterns = [
    path("campaigns/", setup_views.campaigns_view, name="campaigns"),
    path("campaigns/new/", setup_views.campaign_create_view, name="campaign_create"),
    path("campaigns/<int:pk>/", setup_views.campaign_edit_view, name="campaign_edit"),
    path("indicators/", setup_views.indicators_view, name="indicators"),
    path("indicators/<int:pk>/", setup_views.indicator_edit_view, name="indicator_edit"),
]
