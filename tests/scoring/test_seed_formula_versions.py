"""Seed 002's scenario score as a scheme option, carried by a new scheme version: published
revisions keep their numbers; a store manager's flags describe his value (labels)."""

from __future__ import annotations

from importlib import import_module

import pandas as pd
import pytest
from django.apps import apps
from django.utils import translation

from scoring.engine import VISIT_COLUMNS
from scoring.labels import flag_label
from scoring.models import EmployeeScore, Rollup, Scheme, StoreScore
from scoring.services import quarter_publish, rollup_quarter, scheme_create_version
from tests.scoring.conftest import PAST

MIGRATION = import_module("scoring.migrations.0003_scheme_scenario_counts_image")


@pytest.fixture
def with_image(frames_from_apps, store):
    """The worked example's two visits with a store image: visit 1 also 5 of 20 image points,
    visit 2 15 of 20 (purchase and process as before: 70 % and 90 %)."""
    visits = frames_from_apps.visits.copy()
    visits["image_points"] = [5.0, 15.0]
    visits["image_max"] = [20.0, 20.0]
    frames_from_apps.visits = visits[VISIT_COLUMNS]
    return frames_from_apps


def test_a_new_database_scheme_leaves_the_store_image_out(db):
    scheme = Scheme.objects.get(is_current=True)
    assert (scheme.version, scheme.scenario_counts_image) == (1, False)
    assert scheme.to_params().scenario_counts_image is False


def test_the_scheme_option_counts_the_image_in_and_published_values_keep_their_numbers(
        with_image, store, hq):
    first = rollup_quarter(quarter=PAST).rollup
    quarter_publish(quarter=PAST, user=hq)
    score = StoreScore.objects.get(rollup=first, store=store)
    # seed 002: (70 + 90) / 2 = 80 % -> 40 points; the image (25 %, 75 %) beside it
    assert score.scenario_pct == pytest.approx(80.0)
    assert score.value == pytest.approx(66.5)

    scheme_create_version(user=hq, note="count the store image", scenario_counts_image=True)
    second = rollup_quarter(quarter=PAST, user=hq, reason="scheme v2").rollup
    recomputed = StoreScore.objects.get(rollup=second, store=store)
    # with the image: (8 + 6 + 5) / 40 = 47.5 %, (9 + 9 + 15) / 40 = 82.5 % -> 65 % -> 32.5
    assert recomputed.scenario_pct == pytest.approx(65.0)
    assert recomputed.value == pytest.approx(32.5 + 32.5 - 6.0)
    assert second.scheme.scenario_counts_image
    # the published revision keeps its scheme version and its number
    score.refresh_from_db()
    first.refresh_from_db()
    assert (score.value, first.scheme.version) == (pytest.approx(66.5), 1)
    # the clerk's purchase evaluation never counts the image: 70 % either way
    clerk = EmployeeScore.objects.get(rollup=second, employee__number="E10001")
    assert clerk.purchase_pct == pytest.approx(70.0)


def test_the_migration_makes_a_new_version_when_a_rollup_used_the_current_one(rolled_up, store):
    before = StoreScore.objects.get(rollup=rolled_up, store=store).value
    MIGRATION.forward(apps, None)
    old = Scheme.objects.get(version=1)
    new = Scheme.objects.get(is_current=True)
    # version 1 computed the scenario with the store image in: it says so now
    assert old.scenario_counts_image is True
    assert (new.version, new.scenario_counts_image) == (2, False)
    assert new.note == MIGRATION.NOTE
    assert (new.bonus_k, new.indicator_weights) == (old.bonus_k, old.indicator_weights)
    rolled_up.refresh_from_db()
    assert rolled_up.scheme_id == old.pk
    assert StoreScore.objects.get(rollup=rolled_up, store=store).value == before


def test_the_migration_switches_an_unused_current_version_off_in_place(db):
    Scheme.objects.update(scenario_counts_image=True)
    MIGRATION.forward(apps, None)
    assert list(Scheme.objects.values_list("version", "is_current",
                                           "scenario_counts_image")) == [(1, True, False)]
    assert not Rollup.objects.exists()


def test_a_managers_flags_read_as_his_value_in_both_languages():
    with translation.override("en"):
        labels = [str(flag_label(f)) for f in ["staff_mean", "staff_n:4", "manager_deduction"]]
        assert labels == ["store manager: mean of the staff", "mean of 4 staff",
                          "store manager: own complaints deducted after the staff mean"]
        assert flag_label("something_new") == "something_new"
    with translation.override("zh-hans"):
        assert str(flag_label("staff_n:4")) == "4 名员工的平均值"


def test_the_rollup_stores_a_managers_value_after_his_own_complaint(frames_from_apps, staff):
    deductions = frames_from_apps.deductions.copy()
    deductions.loc[len(deductions)] = {"complaint_id": 9, "store_id": staff["manager"].store_id,
                                       "employee_id": staff["manager"].pk, "grade": "C"}
    frames_from_apps.deductions = deductions
    rollup = rollup_quarter(quarter=PAST).rollup
    manager = EmployeeScore.objects.get(rollup=rollup, employee=staff["manager"])
    # (68 + 67.5) / 2 - C 1 = 66.75
    assert manager.value == pytest.approx(66.75)
    assert manager.flags == ["staff_mean", "staff_n:2", "manager_deduction"]
    assert pd.notna(manager.own_value)
