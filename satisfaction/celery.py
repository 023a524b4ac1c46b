"""The Celery app. Tasks are autodiscovered from each app's ``tasks.py``.

Without ``CELERY_BROKER_URL`` the settings make tasks run eagerly in-process, so the product
works on a laptop with nothing but Python; the periodic schedule lives in
``settings.CELERY_BEAT_SCHEDULE`` and exactly one beat process runs it.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "satisfaction.settings")

app = Celery("satisfaction")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
