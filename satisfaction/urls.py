"""Root URLs. Each domain app owns ``urls.py`` (pages) and ``api_urls.py`` (its /api/v1/ part)."""

import importlib.util

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from satisfaction import views

DOMAIN_APPS = ("surveys", "mystery_shopper", "complaints", "scoring")

api_v1 = [path("", include("satisfaction.api_urls")),
          path("", include("pos.api_urls"))] + [
    path("", include(f"{app}.api_urls")) for app in DOMAIN_APPS
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("stores/", views.store_list_view, name="store_list"),
    path("stores/<str:code>/", views.store_detail, name="store_detail"),
    path("chain/import/", views.chain_import_view, name="chain_import"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("notifications/", views.notification_list, name="notifications"),
    path("dashboard/", include("dashboard.urls")),
    *[path(f"{app.replace('_', '-')}/", include(f"{app}.urls")) for app in DOMAIN_APPS],
    # Short public links (QR posters, receipts, complaint status) live at the root.
    *[path("", include(f"{app}.public_urls")) for app in DOMAIN_APPS
      if importlib.util.find_spec(f"{app}.public_urls")],
]

handler404 = "satisfaction.views.page_not_found"
