from __future__ import annotations

import pytest

from satisfaction.models import EmployeeRole
from satisfaction.quarters import Quarter
from scoring import loader
from scoring.services import rollup_quarter
from tests.factories import EmployeeFactory
from tests.scoring.factories import worked_example

PAST = Quarter(2026, 2)


@pytest.fixture
def staff(store, store_manager_employee):
    clerk = EmployeeFactory(number="E10001", name="张药师", store=store,
                            role=EmployeeRole.CLERK)
    pharmacist = EmployeeFactory(number="E10002", name="赵药师", store=store,
                                 role=EmployeeRole.PHARMACIST)
    return {"clerk": clerk, "pharmacist": pharmacist, "manager": store_manager_employee}


@pytest.fixture
def example(staff, store, sibling_store, other_store):
    return worked_example(store=store, extra_stores=(sibling_store, other_store), **staff)


@pytest.fixture
def frames_from_apps(monkeypatch, example):
    """Make the loader return the worked example, as if the input apps had those rows."""
    monkeypatch.setattr(loader, "load", lambda **kwargs: example)
    monkeypatch.setattr(loader, "open_appeals_exist",
                        lambda **kwargs: {"mystery_shopper": False, "complaints": False})
    return example


@pytest.fixture
def rolled_up(frames_from_apps):
    return rollup_quarter(quarter=PAST).rollup
