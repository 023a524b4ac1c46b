from django.urls import path, re_path

from surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.campaign_list_view, name="campaigns"),
    path("campaigns/<int:pk>/", views.campaign_results_view, name="campaign_results"),
    re_path(r"^campaigns/(?P<pk>\d+)/export\.(?P<fmt>csv|xlsx)$", views.campaign_export_view,
            name="campaign_export"),
    path("campaigns/<int:pk>/stores/<str:code>/", views.store_results_view,
         name="store_results"),
    re_path(r"^stores/(?P<code>[^/]+)/poster\.(?P<fmt>svg|png)$", views.store_poster,
            name="poster"),
    path("invitations/new/", views.invitation_create_view, name="invitation_create"),
    path("paper/", views.paper_entry_view, name="paper_entry"),
    path("paper/template/", views.paper_template_view, name="paper_template"),
    path("review/", views.review_view, name="review"),
    path("review/responses/", views.review_responses_view, name="review_responses"),
    path("review/stores/<int:pk>/", views.review_store_flag_view, name="review_store_flag"),
]
