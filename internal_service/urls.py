from django.urls import path  # noqa: F401

app_name = "internal_service"

urlpatterns: list = []
