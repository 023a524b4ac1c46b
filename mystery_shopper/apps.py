from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MysteryShopperConfig(AppConfig):
    name = "mystery_shopper"
    verbose_name = _("Mystery shopper")
