from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _install_store_page_stamp(sender, using: str, **kwargs) -> None:
    from dashboard.selectors import store_page_stamp_install

    store_page_stamp_install(using=using)


class DashboardConfig(AppConfig):
    """The store manager's page, the regional/HQ views and the improvement loop (PDCA)."""

    name = "dashboard"
    verbose_name = _("Dashboard")

    def ready(self) -> None:
        # The store page's stamp as a database function, kept in step with the code by every
        # ``migrate`` (dashboard.selectors.store_page_stamp_function).
        post_migrate.connect(_install_store_page_stamp,
                             sender=self, dispatch_uid="dashboard.store_page_stamp")
