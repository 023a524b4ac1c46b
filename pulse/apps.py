from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PulseConfig(AppConfig):
    """The staff's anonymous quarterly pulse (service-profit chain, seed 001)."""

    name = "pulse"
    verbose_name = _("Staff pulse")
