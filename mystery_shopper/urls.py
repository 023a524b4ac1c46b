from django.urls import path

from mystery_shopper import views

app_name = "mystery_shopper"

urlpatterns = [
    path("", views.my_visits, name="my_visits"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("visits/<int:pk>/report/", views.report, name="report"),
    path("visits/<int:pk>/report/draft/", views.report_draft, name="report_draft"),
    path("visits/<int:pk>/report/evidence/", views.report_evidence, name="report_evidence"),
    path("visits/<int:pk>/", views.report_view, name="report_view"),
    path("visits/<int:pk>/evidence/<uuid:public_id>/delete/", views.evidence_delete,
         name="evidence_delete"),
    path("evidence/<uuid:public_id>/", views.evidence_file, name="evidence"),
    path("plan/", views.plan, name="plan"),
    path("plan/visits/<int:pk>/", views.visit_manage, name="visit_manage"),
    path("scorecards/", views.scorecards, name="scorecards"),
    path("export/", views.export, name="export"),
    path("review/", views.review_list, name="review_list"),
    path("review/<int:pk>/", views.review_detail, name="review_detail"),
    path("store/", views.store_visits, name="store_visits"),
    path("store/<int:pk>/", views.store_visit, name="store_visit"),
    path("appeals/", views.appeal_list, name="appeal_list"),
    path("appeals/<int:pk>/", views.appeal_decide, name="appeal_decide"),
]
