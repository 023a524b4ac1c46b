from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    """The store manager's page, the regional/HQ views and the improvement loop (PDCA)."""

    name = "dashboard"
    verbose_name = _("Dashboard")
