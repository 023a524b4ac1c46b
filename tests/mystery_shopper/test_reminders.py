"""Shopper reminders (the daily sweep), overdue visits on HQ's plan, the shopper's paginated
finished visits."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from mystery_shopper import services, tasks
from mystery_shopper.models import ReminderStage, VisitReminder, VisitStatus
from satisfaction.models import Delivery, Notification
from satisfaction.quarters import Quarter
from tests.mystery_shopper.factories import ShopperFactory, VisitFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 10)


def _reminders(shopper) -> list[tuple[str, str]]:
    return sorted((n.kind, n.title) for n in Notification.objects.filter(user=shopper))


def test_the_sweep_reminds_once_per_visit_and_stage_even_when_run_twice(store):
    shopper = ShopperFactory(email="s@example.com")
    due_soon = VisitFactory(store=store, shopper=shopper, due_on=TODAY + timedelta(days=3))
    VisitFactory(store=store, shopper=shopper, due_on=TODAY + timedelta(days=4))  # not yet
    overdue = VisitFactory(store=store, shopper=shopper, due_on=TODAY - timedelta(days=1),
                           status=VisitStatus.DRAFT)
    returned = VisitFactory(store=store, shopper=shopper, due_on=TODAY - timedelta(days=5),
                            status=VisitStatus.RETURNED)
    for status in (VisitStatus.SUBMITTED, VisitStatus.APPROVED, VisitStatus.CANCELLED):
        VisitFactory(store=store, shopper=shopper, due_on=TODAY - timedelta(days=1),
                     status=status)
        VisitFactory(store=store, shopper=shopper, due_on=TODAY + timedelta(days=1),
                     status=status)
    VisitFactory(store=store, shopper=None, status=VisitStatus.UNASSIGNED,
                 due_on=TODAY - timedelta(days=1))

    first = services.visit_reminders_send(today=TODAY)

    assert (first.due_soon, first.overdue) == (1, 2)
    reminded = set(VisitReminder.objects.values_list("visit_id", "stage"))
    assert reminded == {(due_soon.pk, ReminderStage.DUE_SOON),
                        (overdue.pk, ReminderStage.OVERDUE),
                        (returned.pk, ReminderStage.OVERDUE)}
    # one message per shopper and stage, listing the visits; e-mailed through the outbox
    notes = Notification.objects.filter(user=shopper).order_by("kind")
    assert [n.kind for n in notes] == ["mystery_due_soon", "mystery_overdue"]
    assert notes[1].body.count("\n") == 1  # two visits listed
    assert notes[0].url == "/mystery-shopper/"
    assert Delivery.objects.filter(user=shopper, address="s@example.com").count() == 2

    second = services.visit_reminders_send(today=TODAY)
    assert (second.due_soon, second.overdue) == (0, 0)
    assert Notification.objects.filter(user=shopper).count() == 2
    assert Delivery.objects.count() == 2

    # Days later the due-soon visit is overdue: that stage is reminded once more, once.
    later = services.visit_reminders_send(today=TODAY + timedelta(days=4))
    assert (later.due_soon, later.overdue) == (1, 1)  # the visit due on day 4 is now due soon
    assert VisitReminder.objects.filter(visit=due_soon).count() == 2
    again = services.visit_reminders_send(today=TODAY + timedelta(days=4))
    assert (again.due_soon, again.overdue) == (0, 0)


def test_a_reassigned_visit_reminds_its_new_shopper(store, hq):
    first, second = ShopperFactory(cities=[store.city]), ShopperFactory(cities=[store.city])
    visit = VisitFactory(store=store, shopper=first, due_on=TODAY + timedelta(days=1))
    services.visit_reminders_send(today=TODAY)
    services.visit_reassign(visit=visit, shopper=second, user=hq)
    services.visit_reminders_send(today=TODAY)
    assert Notification.objects.filter(user=first).count() == 1
    assert Notification.objects.filter(user=second).count() == 1


def test_the_sweep_writes_in_bulk_whatever_the_number_of_visits(
        store, django_assert_max_num_queries):
    shoppers = [ShopperFactory() for _n in range(5)]
    for index in range(40):
        VisitFactory(store=store, shopper=shoppers[index % 5],
                     due_on=TODAY + timedelta(days=index % 7 - 3))
    with django_assert_max_num_queries(10):
        result = services.visit_reminders_send(today=TODAY)
    assert result.due_soon + result.overdue == VisitReminder.objects.count()
    assert Notification.objects.count() == 10  # 5 shoppers × 2 stages


def test_the_beat_task_runs_the_sweep(store):
    shopper = ShopperFactory()
    today = timezone.localdate()
    VisitFactory(store=store, shopper=shopper, due_on=today - timedelta(days=2))
    assert tasks.send_visit_reminders() == {"due_soon": 0, "overdue": 1}
    assert tasks.send_visit_reminders() == {"due_soon": 0, "overdue": 0}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_remind_no_one_twice(store):
    shopper = ShopperFactory()
    for offset in range(-3, 3):
        VisitFactory(store=store, shopper=shopper, due_on=TODAY + timedelta(days=offset))
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait()
            results.append(services.visit_reminders_send(today=TODAY))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.due_soon + r.overdue for r in results) == 6
    assert VisitReminder.objects.count() == 6
    titles = Notification.objects.filter(user=shopper).values_list("kind", flat=True)
    assert sorted(titles) == ["mystery_due_soon", "mystery_overdue"]


# --- HQ's plan: overdue visits ---


def test_hq_sees_the_overdue_visits_of_the_quarter_with_their_shopper(
        login, hq, store, django_assert_max_num_queries):
    quarter = Quarter.current()
    today = timezone.localdate()
    late = ShopperFactory(username="late_shopper")
    VisitFactory(store=store, shopper=late, quarter=quarter, due_on=today - timedelta(days=2))
    VisitFactory(store=store, shopper=None, status=VisitStatus.UNASSIGNED, quarter=quarter,
                 due_on=today - timedelta(days=1))
    VisitFactory(store=store, quarter=quarter, due_on=today - timedelta(days=3),
                 status=VisitStatus.SUBMITTED)  # reported: not overdue
    VisitFactory(store=store, quarter=quarter, due_on=today + timedelta(days=3))
    client = login(hq)
    page = client.get(f"/mystery-shopper/plan/?quarter={quarter}",
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2 visits overdue" in page
    with django_assert_max_num_queries(20):
        response = client.get(f"/mystery-shopper/plan/?quarter={quarter}&status=overdue",
                              HTTP_ACCEPT_LANGUAGE="en")
    rows = response.context["page"].object_list
    assert [v.shopper.username if v.shopper else None for v in rows] == ["late_shopper", None]
    assert "late_shopper" in response.content.decode()


def test_the_plan_quarter_is_a_select_of_the_quarters_and_a_bad_one_is_a_form_error(
        login, hq, store):
    VisitFactory(store=store, quarter=Quarter(2024, 2))
    client = login(hq)
    page = client.get("/mystery-shopper/plan/")
    assert page.status_code == 200
    choices = [value for value, _label in page.context["form"].fields["quarter"].choices]
    assert "2024Q2" in choices
    assert str(Quarter.current()) in choices
    assert '<select name="quarter"' in page.content.decode()
    bad = client.get("/mystery-shopper/plan/?quarter=1999Q9", HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400
    assert "is not one of the quarters offered" in bad.content.decode()


# --- The shopper's finished visits, a page at a time ---


def test_the_shopper_sees_open_visits_and_finished_ones_by_pages(
        login, store, django_assert_max_num_queries):
    shopper = ShopperFactory()
    today = timezone.localdate()
    open_visit = VisitFactory(store=store, shopper=shopper, due_on=today + timedelta(days=2))
    done = [VisitFactory(store=store, shopper=shopper, status=VisitStatus.APPROVED,
                         due_on=today - timedelta(days=n)) for n in range(1, 26)]
    client = login(shopper)
    with django_assert_max_num_queries(12):
        first = client.get("/mystery-shopper/")
    assert [v.pk for v in first.context["page"]] == [v.pk for v in done[:20]]
    assert f'data-testid="visit-{open_visit.pk}"' in first.content.decode()
    assert "page=2" in first.content.decode()
    second = client.get("/mystery-shopper/?page=2")
    assert [v.pk for v in second.context["page"]] == [v.pk for v in done[20:]]
    assert f'data-testid="visit-{open_visit.pk}"' not in second.content.decode()
    assert client.get("/mystery-shopper/?page=99").context["page"].number == 2
