from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class SatisfactionConfig(AppConfig):
    name = "satisfaction"
    verbose_name = _("Chain")

    def ready(self) -> None:
        # Each app registers its kinds of background job in its ``jobs.py``
        # (satisfaction/jobs.py), found here as the admin finds ``admin.py``.
        autodiscover_modules("jobs")
