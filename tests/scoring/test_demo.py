"""The demo's published quarter (the one HR exports) has data in every part: "no data" flags
only where there is none, and store managers flagged by what their value is."""

from __future__ import annotations

import pytest
from django.utils import timezone

from satisfaction.management.commands.seed_demo import seed_demo
from satisfaction.quarters import Quarter, chain_zone
from scoring.models import EmployeeScore, Rollup, RollupStatus, StoreScore

pytestmark = pytest.mark.django_db


def test_the_demo_publishes_a_quarter_without_no_data_flags():
    today = timezone.localdate(timezone=chain_zone())
    seed_demo(seed=5, password="pw-demo-12345", today=today)
    published = Rollup.objects.get(status=RollupStatus.PUBLISHED)
    assert published.quarter == Quarter.containing(today).previous()
    rows = list(EmployeeScore.objects.filter(rollup=published).values_list("role", "flags"))
    assert len(rows) > 150
    flags = [flag for _role, row in rows for flag in row]
    # Before: no sample survey in that quarter, so every row read "warm service / efficacy /
    # price: no data" and every store "no sample survey".
    assert [f for f in flags if f == "no_data" or f.endswith("_missing")] == []
    for row_flags in StoreScore.objects.filter(rollup=published).values_list("flags", flat=True):
        assert not {"no_data", "missing_survey", "missing_scenario"} & set(row_flags)
    managers = [row for role, row in rows if role == "store_manager"]
    assert managers
    for row in managers:
        assert row[:2] == ["staff_mean", row[1]]
        assert row[1].startswith("staff_n:")
        assert not [f for f in row if f.endswith("_from_store")]
