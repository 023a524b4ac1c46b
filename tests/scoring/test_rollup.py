"""Rollups: snapshots stored per quarter, idempotent, locked once published, revisions."""

from __future__ import annotations

from functools import partial

import pandas as pd
import pytest
from django.core.management import call_command

from satisfaction.errors import ApplicationError
from satisfaction.models import Notification
from satisfaction.quarters import Quarter
from scoring import loader
from scoring.models import EmployeeScore, Rollup, RollupStatus, StoreScore
from scoring.services import quarter_publish, rollup_quarter, scheme_create_version
from tests.concurrency import run_concurrently
from tests.scoring.conftest import PAST


def test_a_rollup_stores_the_hand_computed_values_with_the_scheme_version(
        rolled_up, store, staff, sibling_store):
    score = StoreScore.objects.get(rollup=rolled_up, store=store)
    assert score.value == pytest.approx(66.5)
    assert score.survey_points == pytest.approx(32.5)
    assert score.scenario_points == pytest.approx(40.0)
    assert score.deductions == pytest.approx(6.0)
    assert (score.n_responses, score.n_visits, score.n_complaints) == (10, 2, 3)
    assert score.ci_low == pytest.approx(66.5 - 2.262157162798205 * 10 / 10 ** 0.5 / 2)
    assert "small_sample" in score.flags
    assert score.rank_chain == 1
    assert score.indicators["price"] == [10, 60.0]
    empty = StoreScore.objects.get(rollup=rolled_up, store=sibling_store)
    assert empty.value is None
    assert empty.flags == ["no_data"]
    values = dict(EmployeeScore.objects.filter(rollup=rolled_up)
                  .values_list("employee__number", "value"))
    assert values == pytest.approx({"E10001": 68.0, "E10002": 67.5, "E00001": 67.75})
    assert rolled_up.scheme.version == 1
    assert rolled_up.status == RollupStatus.PROVISIONAL
    assert rolled_up.computed_at is not None


def test_running_it_twice_leaves_the_same_rows(rolled_up, store):
    first = list(StoreScore.objects.values_list("store_id", "value").order_by("store_id"))
    again = rollup_quarter(quarter=PAST).rollup
    assert again.pk == rolled_up.pk
    assert Rollup.objects.count() == 1
    assert list(StoreScore.objects.values_list("store_id", "value").order_by(
        "store_id")) == first
    assert EmployeeScore.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_rollups_at_once_leave_one_set_of_rows(frames_from_apps):
    from scoring.models import Scheme

    Scheme.objects.all().delete()  # each of them also finds no scheme and makes the default
    outcomes = run_concurrently(partial(rollup_quarter, quarter=PAST), times=3)
    assert all(outcome.ok for outcome in outcomes)  # run_concurrently raises what any raised
    assert Scheme.objects.count() == 1
    assert Rollup.objects.count() == 1
    assert StoreScore.objects.count() == 3
    assert EmployeeScore.objects.count() == 3


def test_publishing_locks_the_quarter_and_tells_hr(rolled_up, hq, hr):
    rollup = quarter_publish(quarter=PAST, user=hq)
    assert rollup.pk == rolled_up.pk
    assert rollup.status == RollupStatus.PUBLISHED
    assert rollup.published_by == hq
    assert Notification.objects.filter(user=hr, kind="scoring_published").count() == 1
    with pytest.raises(ApplicationError) as error:
        rollup_quarter(quarter=PAST, user=hq)
    assert error.value.code == "quarter_locked"
    with pytest.raises(ApplicationError) as error:
        quarter_publish(quarter=PAST, user=hq)
    assert error.value.code == "already_published"


def test_a_recompute_of_a_locked_quarter_with_a_reason_makes_a_new_revision(
        rolled_up, hq, store):
    quarter_publish(quarter=PAST, user=hq)
    scheme_create_version(user=hq, note="heavier complaints", grade_a_points=13)
    revision = rollup_quarter(quarter=PAST, user=hq, reason="A complaint was re-graded").rollup
    assert revision.revision == 2
    assert revision.status == RollupStatus.PROVISIONAL
    assert revision.scheme.version == 2
    old = Rollup.objects.get(quarter=PAST, revision=1)
    assert old.status == RollupStatus.PUBLISHED
    assert StoreScore.objects.get(rollup=old, store=store).value == pytest.approx(66.5)
    assert StoreScore.objects.get(rollup=revision, store=store).value == pytest.approx(56.5)
    quarter_publish(quarter=PAST, user=hq)
    old.refresh_from_db()
    assert old.status == RollupStatus.SUPERSEDED
    assert Rollup.objects.get(quarter=PAST, status=RollupStatus.PUBLISHED).revision == 2


def test_publishing_is_refused_while_an_appeal_is_open(rolled_up, hq, monkeypatch):
    monkeypatch.setattr(loader, "open_appeals_exist",
                        lambda **kwargs: {"mystery_shopper": False, "complaints": True})
    with pytest.raises(ApplicationError) as error:
        quarter_publish(quarter=PAST, user=hq)
    assert error.value.code == "open_appeals"
    assert Rollup.objects.get().status == RollupStatus.PROVISIONAL


def test_the_running_quarter_cannot_be_published(frames_from_apps, hq):
    with pytest.raises(ApplicationError) as error:
        quarter_publish(quarter=Quarter.current(), user=hq)
    assert error.value.code == "quarter_running"


def test_only_hq_may_roll_up_or_publish(frames_from_apps, store_manager):
    with pytest.raises(ApplicationError) as error:
        rollup_quarter(quarter=PAST, user=store_manager)
    assert error.value.status == 403


def test_the_rollup_command_computes_a_quarter(frames_from_apps, capsys):
    call_command("rollup", "--quarter", "2026Q2")
    assert "2026Q2 revision 1" in capsys.readouterr().out
    assert StoreScore.objects.filter(quarter=PAST).count() == 3


def test_the_task_skips_a_locked_quarter(rolled_up, hq):
    from scoring.tasks import rollup_quarter_task

    quarter_publish(quarter=PAST, user=hq)
    assert rollup_quarter_task.apply(args=["2026Q2"]).get() == "locked"
    assert Rollup.objects.count() == 1


def test_an_invalid_scheme_is_refused_and_the_current_one_stays(hq):
    with pytest.raises(ApplicationError) as error:
        scheme_create_version(user=hq, survey_points=60, scenario_points=50)
    assert "scenario_points" in error.value.fields
    with pytest.raises(ApplicationError):
        scheme_create_version(user=hq, indicator_weights={"price": -1})
    with pytest.raises(ApplicationError):
        scheme_create_version(user=hq, bonus_k=9)
    from scoring.models import Scheme

    assert Scheme.objects.get(is_current=True).version == 1


def test_a_frame_without_the_contract_s_columns_is_an_error_not_no_data(db, monkeypatch):
    import surveys.selectors

    def survey_store_indicator_frame(**kwargs):
        return pd.DataFrame({"store_id": []})

    monkeypatch.setattr(surveys.selectors, "survey_store_indicator_frame",
                        survey_store_indicator_frame)
    with pytest.raises(ValueError, match="survey_store_indicator_frame lacks columns"):
        loader.load(quarter=PAST, weights={"price": 1.0})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rollup_leaves_fresh_planner_statistics_on_the_snapshot_tables(frames_from_apps):
    """The first dashboard request after a rollup plans with the new rows, not autovacuum's
    later guess (bench/rollup.py measures the first request against the fiftieth)."""
    from django.db import connection

    def analyzed() -> dict[str, object]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname "
                           "IN ('scoring_storescore', 'scoring_employeescore')")
            return dict(cursor.fetchall())

    before = analyzed()
    outcome = rollup_quarter(quarter=PAST)
    after = analyzed()
    assert set(after) == {"scoring_storescore", "scoring_employeescore"}
    assert all(moment is not None and moment != before.get(table)
               for table, moment in after.items())
    assert "analyze" in outcome.stages
    with connection.cursor() as cursor:
        # The row counts the planner starts from are the tables' ...
        cursor.execute("SELECT relname, reltuples::int FROM pg_class WHERE relname "
                       "IN ('scoring_storescore', 'scoring_employeescore')")
        assert dict(cursor.fetchall()) == {
            "scoring_storescore": StoreScore.objects.count(),
            "scoring_employeescore": EmployeeScore.objects.count()}
        # ... and the columns the dashboards search by have their statistics.
        cursor.execute("SELECT tablename, attname FROM pg_stats WHERE tablename "
                       "IN ('scoring_storescore', 'scoring_employeescore')")
        columns = set(cursor.fetchall())
    assert {("scoring_storescore", "rollup_id"), ("scoring_storescore", "store_id"),
            ("scoring_employeescore", "rollup_id"),
            ("scoring_employeescore", "employee_id")} <= columns


def test_snapshot_columns_become_python_values_with_none_for_the_missing():
    """What the rollup hands to COPY / bulk_create: numpy floats and ints as Python numbers,
    NaN and NA as None, the JSON fields as their JSON text (each row's own, even when rows
    share a value)."""
    from scoring.services import _columns

    frame = pd.DataFrame({
        "store_id": [1, 2, 3],
        "value": [66.5, float("nan"), 0.1 + 0.2],
        "rank_chain": pd.array([1, None, 2], dtype="Int64"),
        "flags": [["small_sample"], [], []],
        "indicators": [{"price": [10, 60.0]}, {}, {"price": [1, 0.5]}],
    })
    columns = _columns(
        frame, "store_id", ("value", "rank_chain", "flags", "indicators"), {}, json_text=True)
    assert list(columns) == ["store_id", "value", "rank_chain", "flags", "indicators"]
    keys, values, ranks, flags, indicators = columns.values()
    assert keys == [1, 2, 3]
    assert all(type(k) is int for k in keys)
    assert values == [66.5, None, 0.1 + 0.2]
    assert type(values[0]) is float
    assert ranks == [1, None, 2]
    assert flags == ['["small_sample"]', "[]", "[]"]
    assert indicators == ['{"price": [10, 60.0]}', "{}", '{"price": [1, 0.5]}']
    assert _columns(frame, "store_id", ("flags",), {})["flags"] == [["small_sample"], [], []]
