"""The demo's improvement actions: one overdue on the demo store manager's page."""

from __future__ import annotations

from datetime import date

import pytest

from dashboard import demo
from dashboard.models import ImprovementAction
from satisfaction.demo import build_chain
from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from tests.dashboard.factories import make_rollup, make_store_score

pytestmark = pytest.mark.django_db


def test_the_demo_plans_actions_with_baselines_for_store1():
    today = date(2026, 11, 24)
    chain = build_chain(seed=1, password="pw-for-tests-2026", today=today)
    rollup = make_rollup(Quarter.containing(today), RollupStatus.PROVISIONAL)
    make_store_score(rollup, chain.stores[0], 70.0, indicators={"price": (30, 52.5)})
    line = demo.seed(chain=chain)
    assert line.startswith("3 improvement actions for S0001; ")
    actions = {a.indicator_code: a for a in ImprovementAction.objects.all()}
    assert actions["price"].baseline_score == 52.5
    assert actions["price"].deadline < today
    assert actions["warm_service"].quarter == Quarter(2026, 3)
