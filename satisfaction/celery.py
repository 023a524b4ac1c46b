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
if app.conf.task_always_eager and not app.conf.broker_url:
    # Eager tasks still take a producer from the pool; with no broker configured kombu would
    # warn "No hostname was supplied" on every first task. The in-process transport is never
    # sent anything here.
    app.conf.broker_url = "memory://localhost/"
app.autodiscover_tasks()
