"""The product's settings plus the bare peer (``DJANGO_SETTINGS_MODULE=bench.pos_peer.settings``,
set by ``bench/pos_load.py`` for the peer's gunicorn only)."""

from satisfaction.settings import *  # noqa: F403
from satisfaction.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.pos_peer.apps.PosPeerConfig"]
ROOT_URLCONF = "bench.pos_peer.urls"
MIGRATION_MODULES = {"pos_peer": None}
