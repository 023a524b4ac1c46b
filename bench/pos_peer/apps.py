from django.apps import AppConfig


class PosPeerConfig(AppConfig):
    name = "bench.pos_peer"
    label = "pos_peer"
    default_auto_field = "django.db.models.BigAutoField"
