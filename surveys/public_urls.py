"""Short public links at the site root: /q/<store code> (counter QR), /s/<token> (receipts)."""

from django.urls import path

from surveys import views

app_name = "surveys_public"

urlpatterns = [
    path("q/<str:code>", views.store_questionnaire, name="store"),
    path("s/<str:token>", views.invitation_questionnaire, name="invitation"),
]
