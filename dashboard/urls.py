"""The dashboard's pages: the one store list and store page, the chain's figures and the
improvement actions. Included at the site root (the store pages live at /stores/)."""

from django.urls import path
from django.views.generic import RedirectView

from dashboard import internal_views, pulse_views, region_views, report_views, views

app_name = "dashboard"

urlpatterns = [
    path("stores/", views.store_list, name="store_list"),
    path("stores/<str:code>/", views.store_page, name="store"),
    path("stores/<str:code>/actions/new/", views.action_create, name="action_create"),
    path("regions/", region_views.region_list, name="region_list"),
    path("regions/<str:code>/", region_views.region_page, name="region"),
    path("dashboard/", views.store_home, name="store_home"),
    # Not under stores/: "export" is a valid store code.
    path("dashboard/ranking/export/", views.store_list_export, name="store_list_export"),
    path("dashboard/actions/", views.action_list_view, name="actions"),
    path("dashboard/actions/<int:pk>/done/", views.action_complete, name="action_complete"),
    path("dashboard/actions/<int:pk>/review/", views.action_review, name="action_review"),
    path("dashboard/complaints/", views.complaint_figures, name="complaint_figures"),
    path("dashboard/mystery-shopper/", views.mystery_figures, name="mystery_figures"),
    # HQ's departments: internal satisfaction and internal complaints (dashboard/internal_views.py).
    path("dashboard/departments/", internal_views.departments_page, name="departments"),
    path("reports/monthly/", report_views.monthly_report_index, name="monthly_reports"),
    path("reports/monthly/<str:month>/", report_views.monthly_report, name="monthly_report"),
    path("dashboard/pulse/", pulse_views.pulse_vs_value, name="pulse"),
    # Earlier addresses of the store list and page, kept for bookmarks.
    path("dashboard/ranking/", RedirectView.as_view(pattern_name="dashboard:store_list",
                                                    query_string=True, permanent=True),
         name="old_ranking"),
    path("dashboard/stores/<str:code>/", RedirectView.as_view(
        pattern_name="dashboard:store", query_string=True, permanent=True), name="old_store"),
]
