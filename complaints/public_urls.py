"""Short public links: the store's complaint form (QR poster) and the status check."""

from django.urls import path

from . import views

app_name = "complaints_public"

urlpatterns = [
    path("complain/<str:code>", views.public_complain, name="complain"),
    path("ticket/", views.public_ticket, name="ticket"),
]
