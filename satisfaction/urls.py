"""Root URLs (project wiring). Each app owns ``urls.py`` (pages) and ``api_urls.py`` (its part
of /api/v1/); the customer-facing short links (QR posters, receipts, complaint status) live at
the site root in the apps' ``public_urls.py``."""

from csp.constants import SELF as CSP_SELF
from csp.constants import UNSAFE_INLINE as CSP_UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from dashboard import views as dashboard_views
from satisfaction import job_views, setup_views, views

# The API browsers' pages and code are drf-spectacular's and the vendors' (Swagger UI, ReDoc), not
# ours: only they get a relaxed Content-Security-Policy (the browsable API: RejectHostileInput).
# drf-spectacular's page starts Swagger UI with an inline script and an inline <style>.
swagger_ui = csp_replace({"script-src": [CSP_SELF, CSP_UNSAFE_INLINE],
                          "style-src": [CSP_SELF, CSP_UNSAFE_INLINE]})(
    SpectacularSwaggerView.as_view(url_name="schema"))
# ReDoc injects its styles as <style> elements and runs its search in a blob: worker. (Its Google
# Fonts and CDN logo stay blocked: nothing is loaded from outside.)
redoc = csp_replace({"style-src": [CSP_SELF, CSP_UNSAFE_INLINE],
                     "worker-src": [CSP_SELF, "blob:"]})(
    SpectacularRedocView.as_view(url_name="schema"))

# POS first and the API before the pages: URLs resolve in order, and the POS receipt POST is
# the busiest request (none of these prefixes overlap, so the order changes nothing else).
api_v1 = [
    path("", include("pos.api_urls")),
    path("", include("satisfaction.api_urls")),
    path("", include("surveys.api_urls")),
    path("", include("mystery_shopper.api_urls")),
    path("", include("complaints.api_urls")),
    path("", include("scoring.api_urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("", dashboard_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    # HQ's setup area: the index and the core's settings here, each app's pages in its
    # setup_urls.
    path("setup/", setup_views.setup_index, name="setup"),
    path("setup/appeal-windows/", setup_views.appeal_windows, name="setup_appeal_windows"),
    path("setup/", include("surveys.setup_urls")),
    path("setup/", include("pos.setup_urls")),
    path("setup/", include("scoring.setup_urls")),
    path("setup/", include("complaints.setup_urls")),
    path("setup/", include("mystery_shopper.setup_urls")),
    path("chain/import/", views.chain_import_view, name="chain_import"),
    path("chain/import/template", views.chain_import_template, name="chain_import_template"),
    path("jobs/", job_views.job_list, name="jobs"),
    path("jobs/<uuid:public_id>/", job_views.job_detail, name="job"),
    path("jobs/<uuid:public_id>/status", job_views.job_status, name="job_status"),
    path("jobs/<uuid:public_id>/download", job_views.job_download, name="job_download"),
    path("jobs/<uuid:public_id>/import", job_views.job_import, name="job_import"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", swagger_ui, name="swagger-ui"),
    path("api/redoc/", redoc, name="redoc"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/deliveries/", views.deliveries_view, name="deliveries"),
    path("", include("dashboard.urls")),
    path("surveys/", include("surveys.urls")),
    path("mystery-shopper/", include("mystery_shopper.urls")),
    path("complaints/", include("complaints.urls")),
    path("internal/", include("internal_service.urls")),
    path("pulse/", include("pulse.urls")),
    # The values list is the store list now; its earlier address is kept for bookmarks.
    path("scoring/", RedirectView.as_view(pattern_name="dashboard:store_list",
                                          query_string=True, permanent=True),
         name="old_scoring_list"),
    path("scoring/", include("scoring.urls")),
    path("", include("surveys.public_urls")),
    path("", include("complaints.public_urls")),
]

handler404 = "satisfaction.views.page_not_found"
