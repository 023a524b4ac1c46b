import pytest
from django.apps import apps


@pytest.fixture(autouse=True)
def default_indicators(db):
    """The data migration's seven indicators, also after a transactional test flushed them."""
    from importlib import import_module

    import_module("surveys.migrations.0002_default_indicators").create(apps, None)
