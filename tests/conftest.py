"""Personas shared by every app's tests.

Two regions; ``store`` and ``sibling_store`` in ``region``, ``other_store`` in ``other_region``.
Personas: ``hq``, ``region_manager`` (of ``region``), ``store_manager`` (of ``store``),
``other_store_manager`` (of ``other_store``), ``clerk`` (of ``store``), ``shopper``, ``hr``.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from satisfaction.models import EmployeeRole, Role
from tests.factories import EmployeeFactory, RegionFactory, StoreFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    """``postgres`` tests need PostgreSQL's concurrency; they run in CI's PostgreSQL pass."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    broker = bool(settings.CELERY_BROKER_URL)
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="runs in the PostgreSQL pass"))
        if "celery_worker" in item.keywords and not (on_postgres and broker):
            item.add_marker(pytest.mark.skip(reason="runs in the PostgreSQL + Redis pass"))


@pytest.fixture
def region(db):
    return RegionFactory(code="EAST", name="华东区")


@pytest.fixture
def other_region(db):
    return RegionFactory(code="SOUTH", name="华南区")


@pytest.fixture
def store(region):
    return StoreFactory(code="S0001", name="上海人民路店", region=region, city="上海")


@pytest.fixture
def sibling_store(region):
    return StoreFactory(code="S0002", name="杭州解放路店", region=region, city="杭州")


@pytest.fixture
def other_store(other_region):
    return StoreFactory(code="S0011", name="广州中山路店", region=other_region, city="广州")


@pytest.fixture
def store_manager_employee(store):
    return EmployeeFactory(number="E00001", name="王店长", store=store,
                           role=EmployeeRole.STORE_MANAGER)


@pytest.fixture
def hq(db):
    return UserFactory(username="hq", role=Role.HQ_ADMIN, is_staff=True)


@pytest.fixture
def region_manager(region):
    return UserFactory(username="region1", role=Role.REGIONAL_MANAGER, regions=[region])


@pytest.fixture
def store_manager(store, store_manager_employee):
    return UserFactory(username="store1", role=Role.STORE_MANAGER, stores=[store],
                       employee=store_manager_employee)


@pytest.fixture
def other_store_manager(other_store):
    return UserFactory(username="store11", role=Role.STORE_MANAGER, stores=[other_store])


@pytest.fixture
def clerk(store):
    employee = EmployeeFactory(number="E00002", name="李店员", store=store)
    return UserFactory(username="clerk1", role=Role.CLERK, stores=[store], employee=employee)


@pytest.fixture
def shopper(db):
    return UserFactory(username="shopper1", role=Role.MYSTERY_SHOPPER)


@pytest.fixture
def hr(db):
    return UserFactory(username="hr", role=Role.HR)


@pytest.fixture
def login():
    """``login(user)`` returns a test client logged in as that user."""

    def _login(user) -> Client:
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return _login


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"
