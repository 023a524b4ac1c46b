"""HQ's setup pages of the POS integration, under ``/setup/`` (the root URLconf)."""

from django.urls import path

from pos import views

app_name = "pos_setup"

urlpatterns = [
    path("pos-keys/", views.key_list, name="keys"),
    path("pos-keys/new/", views.key_create, name="key_create"),
    path("pos-keys/<str:prefix>/", views.key_edit, name="key_edit"),
    path("pos-keys/<str:prefix>/revoke/", views.key_revoke, name="key_revoke"),
]
