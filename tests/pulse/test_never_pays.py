"""The pulse is never linked to pay: scoring (values, appraisal, the HR export) never reads
it. The import contract says so; the rollup shows it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from django.conf import settings

from pulse.models import PulseParticipation
from satisfaction.quarters import Quarter
from scoring import export
from scoring.models import EmployeeScore, StoreScore
from scoring.services import rollup_quarter
from tests.dashboard.factories import make_campaign, make_response
from tests.factories import make_pulse

pytestmark = pytest.mark.django_db

QUARTER = Quarter.current().previous()


def _results(rollup):
    stores = list(StoreScore.objects.filter(rollup=rollup).order_by("store_id").values_list(
        "store_id", "value", "survey_points", "rank_chain", "flags"))
    employees = list(EmployeeScore.objects.filter(rollup=rollup).order_by(
        "employee_id").values_list("employee_id", "value", "bonus_factor"))
    bonus = [tuple(row) if isinstance(row, tuple) else repr(row)
             for row in export.bonus_rows(rollup=rollup)]
    return stores, employees, bonus


def test_the_rollup_and_the_bonus_rows_do_not_move_when_pulse_answers_arrive(
        store, sibling_store, clerk, store_manager, hq):
    campaign = make_campaign(QUARTER, ask_expectation=False)
    for rating in (3, 4, 5, 4, 2):
        make_response(campaign, store, {"price": rating, "warm_service": 5},
                      employee=clerk.employee)
        make_response(campaign, sibling_store, {"price": 6 - rating})
    before = _results(rollup_quarter(quarter=QUARTER, user=hq).rollup)
    assert before[0]
    assert before[1]
    make_pulse(store, 8, quarter=QUARTER, answer=1, comment="工资太低")
    make_pulse(sibling_store, 8, quarter=QUARTER, answer=5)
    PulseParticipation.objects.create(user=clerk, quarter=QUARTER)
    after = _results(rollup_quarter(quarter=QUARTER, user=hq).rollup)
    assert after == before


def test_the_import_contract_forbids_scoring_to_import_the_pulse():
    config = tomllib.loads((Path(settings.BASE_DIR) / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    forbidden = [c for c in contracts if c["type"] == "forbidden"
                 and "scoring" in c["source_modules"] and "pulse" in c["forbidden_modules"]]
    assert forbidden, "pyproject.toml must keep scoring from importing pulse"
