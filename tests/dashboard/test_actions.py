"""The improvement loop: plan an action on an indicator, mark it done, review it next quarter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.models import ActionStatus, ImprovementAction
from dashboard.services import (
    improvement_action_create,
    improvement_action_review,
)
from satisfaction.errors import ApplicationError
from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from tests.dashboard.factories import make_rollup, make_store_score
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db
NOW = Quarter.current()


@pytest.fixture
def provisional(store):
    rollup = make_rollup(NOW, RollupStatus.PROVISIONAL)
    make_store_score(rollup, store, 70.0, indicators={"price": (10, 55.0)})
    return rollup


def _post(client, store, **data):
    payload = {"title": "价格标签每日复核", "indicator_code": "price", "source": "indicator",
               "deadline": (timezone.localdate() + timedelta(days=14)).isoformat(),
               "source_ref": "", "description": ""}
    payload.update(data)
    return client.post(reverse("dashboard:action_create", args=[store.code]), payload)


def test_the_store_manager_plans_an_action_with_its_indicator_baseline(
        login, store_manager, store, store_manager_employee, provisional):
    response = _post(login(store_manager), store, owner=store_manager_employee.pk)
    assert response.status_code == 302
    action = ImprovementAction.objects.get()
    assert (action.store, action.indicator_code, action.owner) == (
        store, "price", store_manager_employee)
    assert action.baseline_score == 55.0
    assert action.baseline_quarter == NOW
    assert action.quarter == NOW
    assert action.created_by == store_manager


def test_a_deadline_in_the_past_and_a_foreign_owner_are_form_errors(
        login, store_manager, store, other_store, provisional):
    stranger = EmployeeFactory(store=other_store)
    response = _post(login(store_manager), store, owner=stranger.pk,
                     deadline=(timezone.localdate() - timedelta(days=1)).isoformat())
    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert not ImprovementAction.objects.exists()
    own = EmployeeFactory(store=store)
    response = _post(login(store_manager), store, owner=own.pk,
                     deadline=(timezone.localdate() - timedelta(days=1)).isoformat())
    assert response.context["form"].errors["deadline"]
    assert not ImprovementAction.objects.exists()


def test_the_service_rejects_an_unknown_indicator(store_manager, store, store_manager_employee):
    with pytest.raises(ApplicationError) as exc:
        improvement_action_create(user=store_manager, store=store, title="x",
                                  indicator_code="nope", owner=store_manager_employee,
                                  deadline=timezone.localdate())
    assert "indicator_code" in exc.value.fields


def test_a_clerk_or_another_store_manager_cannot_plan_actions(
        login, clerk, other_store_manager, store, store_manager_employee):
    # The clerk sees the store but may not plan; the other manager does not see it.
    assert _post(login(clerk), store, owner=store_manager_employee.pk).status_code == 403
    assert _post(login(other_store_manager), store,
                 owner=store_manager_employee.pk).status_code == 404
    assert not ImprovementAction.objects.exists()


def test_marking_done_then_reviewing_next_quarter_records_the_change(
        login, store_manager, store, store_manager_employee):
    planned = NOW.previous()
    before = make_rollup(planned, RollupStatus.PUBLISHED)
    make_store_score(before, store, 60.0, indicators={"price": (10, 50.0)})
    after = make_rollup(NOW, RollupStatus.PROVISIONAL)
    make_store_score(after, store, 65.0, indicators={"price": (12, 62.5)})
    action = ImprovementAction.objects.create(
        store=store, quarter=planned, title="价格", indicator_code="price",
        owner=store_manager_employee, deadline=planned.last_day, baseline_score=48.0)
    client = login(store_manager)
    client.post(reverse("dashboard:action_complete", args=[action.pk]))
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE
    client.post(reverse("dashboard:action_review", args=[action.pk]), {"note": "效果明显"})
    action.refresh_from_db()
    assert action.status == ActionStatus.REVIEWED
    # The baseline is the planning quarter's final value, the review the next quarter's.
    assert (action.baseline_score, action.review_score) == (50.0, 62.5)
    assert action.change == 12.5
    assert action.outcome == "improved"
    assert action.review_quarter == NOW
    assert action.review_note == "效果明显"


def test_an_action_of_the_running_quarter_cannot_be_reviewed_yet(
        store_manager, store, store_manager_employee, provisional):
    action = ImprovementAction.objects.create(
        store=store, quarter=NOW, title="价格", indicator_code="price",
        owner=store_manager_employee, deadline=timezone.localdate())
    with pytest.raises(ApplicationError) as exc:
        improvement_action_review(action=action, user=store_manager)
    assert exc.value.code == "too_early"


def test_another_store_manager_gets_404_for_an_action(login, other_store_manager, store,
                                                      store_manager_employee):
    action = ImprovementAction.objects.create(
        store=store, quarter=NOW, title="价格", indicator_code="price",
        owner=store_manager_employee, deadline=timezone.localdate())
    response = login(other_store_manager).post(
        reverse("dashboard:action_complete", args=[action.pk]))
    assert response.status_code == 404
    action.refresh_from_db()
    assert action.status == ActionStatus.OPEN


def test_the_action_list_shows_overdue_actions_of_visible_stores_only(
        login, region_manager, store, other_store, store_manager_employee,
        django_assert_max_num_queries):
    yesterday = timezone.localdate() - timedelta(days=1)
    for index in range(3):
        ImprovementAction.objects.create(store=store, quarter=NOW, title=f"逾期{index}",
                                         indicator_code="price", owner=store_manager_employee,
                                         deadline=yesterday)
    ImprovementAction.objects.create(store=other_store, quarter=NOW, title="别区",
                                     indicator_code="price",
                                     owner=EmployeeFactory(store=other_store),
                                     deadline=yesterday)
    client = login(region_manager)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("dashboard:actions") + "?overdue=1")
    titles = [a.title for a in response.context["page"]]
    assert titles == ["逾期0", "逾期1", "逾期2"]
    assert all(a.overdue for a in response.context["page"])


def test_a_past_action_without_values_is_reviewed_as_no_data(store_manager, store,
                                                             store_manager_employee):
    planned = NOW.previous().previous()
    action = ImprovementAction.objects.create(
        store=store, quarter=planned, title="价格", indicator_code="price",
        owner=store_manager_employee, deadline=planned.last_day)
    action = improvement_action_review(action=action, user=store_manager, note="")
    assert action.outcome == "no_data"
    assert action.review_quarter == planned.next()
    with pytest.raises(ApplicationError) as exc:
        improvement_action_review(action=action, user=store_manager)
    assert exc.value.code == "already_reviewed"
