from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PosConfig(AppConfig):
    """The POS integration: store-scoped API keys, receipts, loyalty and retention."""

    name = "pos"
    verbose_name = _("POS integration")
