from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.store_home, name="store_home"),
    path("stores/<str:code>/", views.store_page, name="store"),
    path("stores/<str:code>/actions/new/", views.action_create, name="action_create"),
    path("actions/", views.action_list_view, name="actions"),
    path("actions/<int:pk>/done/", views.action_complete, name="action_complete"),
    path("actions/<int:pk>/review/", views.action_review, name="action_review"),
    path("ranking/", views.ranking_view, name="ranking"),
    path("complaints/", views.complaint_figures, name="complaint_figures"),
    path("mystery-shopper/", views.mystery_figures, name="mystery_figures"),
]
