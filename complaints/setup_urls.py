"""HQ's complaint setup pages, mounted at /setup/ by the project's URLs."""

from django.urls import path

from . import views

app_name = "complaints_setup"

urlpatterns = [
    path("complaints/", views.setup_policies, name="policies"),
    path("store-hours/", views.setup_store_hours, name="store_hours"),
]
