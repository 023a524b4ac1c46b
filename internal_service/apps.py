from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InternalServiceConfig(AppConfig):
    """Internal customers (seed 000): the stores rate the HQ departments that serve them."""

    name = "internal_service"
    verbose_name = _("Internal service")
