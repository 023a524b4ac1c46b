from django.urls import path
from django.views.generic import RedirectView

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("stores/<str:code>/", views.store_value_trace, name="store_trace"),
    path("stores/<str:code>/compare/", views.store_compare, name="store_compare"),
    path("employees/<str:number>/", views.employee_score_detail, name="employee_detail"),
    path("me/", views.my_score, name="my_score"),
    path("quarters/", views.quarter_list, name="quarters"),
    path("quarters/rollup/", views.quarter_rollup, name="quarter_rollup"),
    path("quarters/<str:quarter>/late/", views.quarter_late, name="quarter_late"),
    path("quarters/<str:quarter>/publish/", views.quarter_publish_confirm,
         name="quarter_publish_confirm"),
    # The scheme page is HQ's setup page now (scoring.setup_urls); the old address stays.
    path("schemes/", RedirectView.as_view(pattern_name="scoring_setup:schemes",
                                          permanent=True), name="schemes"),
    path("hr/", views.hr_page, name="hr"),
    path("hr/export/", views.hr_export_view, name="hr_export"),
    path("hr/template/", views.appraisal_template, name="appraisal_template"),
]
