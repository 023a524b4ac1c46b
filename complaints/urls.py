from django.urls import path

from . import views

app_name = "complaints"

urlpatterns = [
    path("", views.complaint_list, name="list"),
    path("new/", views.complaint_create, name="create"),
    path("export/", views.complaint_export, name="export"),
    path("figures/", views.figures, name="figures"),
    path("products/", views.products, name="products"),
    path("adr-export/", views.adr_export, name="adr_export"),
    path("poster/<str:code>/", views.poster, name="poster"),
    path("internal/", views.internal_list, name="internal_list"),
    path("internal/new/", views.internal_create, name="internal_create"),
    path("internal/<int:pk>/", views.internal_detail, name="internal_detail"),
    path("internal/<int:pk>/attachments/<int:attachment_id>/", views.internal_attachment,
         name="internal_attachment"),
    path("<int:pk>/", views.complaint_detail, name="detail"),
    path("<int:pk>/8d/", views.eight_d_edit, name="eight_d"),
    path("<int:pk>/8d/print/", views.eight_d_print, name="eight_d_print"),
    path("<int:pk>/letter/", views.complaint_letter, name="letter"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment_download,
         name="attachment"),
]
