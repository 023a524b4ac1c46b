"""Internal service pages (mounted at /internal/): the stores rate the HQ departments."""

from django.urls import path

from . import views

app_name = "internal_service"

urlpatterns = [
    path("", views.rate, name="rate"),
    path("departments/<str:code>/", views.rate_department, name="rate_department"),
]
