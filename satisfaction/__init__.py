"""The project package and the core of the chain (regions, stores, employees, roles)."""

from satisfaction.celery import app as celery_app

__all__ = ("celery_app",)
