"""The SLA sweep in bulk: its queries do not grow with the number of alerts due, and each alert
reaches its recipient once (one in-app row, one e-mail), even with two sweeps at once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints import services
from complaints.models import SlaAlert
from satisfaction.delivery import deliveries_send_due
from satisfaction.models import Delivery, DeliveryState, Notification, Role
from tests.complaints.factories import make_complaint
from tests.concurrency import run_concurrently
from tests.factories import StoreFactory, UserFactory


def _due_complaints(region, count: int, *, first: int = 0) -> list:
    """``count`` complaints, each in its own store with its own store manager (who has an
    e-mail address), received 19 h ago: past the warning (18 h), not yet due (24 h)."""
    received = timezone.now() - timedelta(hours=19)
    complaints = []
    for i in range(first, first + count):
        store = StoreFactory(region=region)
        UserFactory(username=f"manager{i}", role=Role.STORE_MANAGER, stores=[store],
                    email=f"manager{i}@example.com")
        complaints.append(make_complaint(store, received_at=received,
                                         customer_phone=f"1390000{i:04d}"))
    return complaints


def _sweep(now) -> tuple[services.SweepResult, int]:
    with CaptureQueriesContext(connection) as queries:
        result = services.sla_sweep(now=now)
    return result, len(queries)


@pytest.mark.django_db
def test_a_sweep_costs_as_many_queries_for_forty_alerts_as_for_two(region, hq):
    _due_complaints(region, 2)
    few, few_queries = _sweep(timezone.now())
    _due_complaints(region, 40, first=2)
    many, many_queries = _sweep(timezone.now())
    assert (few.recorded, few.delivered, many.recorded, many.delivered) == (2, 2, 40, 40)
    assert many_queries == few_queries


@pytest.mark.django_db
def test_a_sweep_with_forty_alerts_due_records_and_hands_them_over_in_a_few_queries(
        region, hq, django_assert_max_num_queries):
    _due_complaints(region, 40)
    # Policy, scan + locks, grade policies, next alerts, recurrence checks, the alerts'
    # INSERT, unsent alerts, the hand-over's claim, complaints, recipients (6), in-app rows,
    # outbox rows, sent_at, savepoints: 24 on PostgreSQL, 25 on SQLite, for 1 or 1,000.
    with django_assert_max_num_queries(25):
        result = services.sla_sweep(now=timezone.now())
    assert result.delivered == 40
    warned = Notification.objects.filter(kind="complaint_warn")
    assert sorted(warned.values_list("user__username", flat=True)) == sorted(
        f"manager{i}" for i in range(40))
    assert Delivery.objects.filter(kind="complaint_warn", state=DeliveryState.PENDING,
                                   address__startswith="manager").count() == 40


@pytest.mark.django_db
def test_a_sweep_of_warnings_never_reads_the_regional_managers(region, hq, region_manager):
    _due_complaints(region, 3)
    with CaptureQueriesContext(connection) as queries:
        result = services.sla_sweep(now=timezone.now())
    assert result.delivered == 3
    assert not [q for q in queries.captured_queries if "user_regions" in q["sql"]]
    assert not Notification.objects.filter(user=region_manager).exists()
    # At the second escalation (28 h) the region's manager is told, read then.
    with CaptureQueriesContext(connection) as queries:
        services.sla_sweep(now=timezone.now() + timedelta(hours=10))
    assert [q for q in queries.captured_queries if "user_regions" in q["sql"]]
    assert Notification.objects.filter(kind="complaint_escalate", user=region_manager
                                       ).count() == 3


@pytest.mark.django_db
def test_a_second_sweep_records_and_notifies_nothing_again(region, hq):
    _due_complaints(region, 5)
    now = timezone.now()
    assert services.sla_sweep(now=now).recorded == 5
    again = services.sla_sweep(now=now + timedelta(minutes=1))
    assert (again.recorded, again.delivered) == (0, 0)
    assert Notification.objects.filter(kind="complaint_warn").count() == 5
    assert Delivery.objects.filter(kind="complaint_warn").count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_of_thirty_alerts_notify_and_email_each_manager_once(region, hq):
    _due_complaints(region, 30)
    mail.outbox = []
    now = timezone.now()
    results = [outcome.get() for outcome in run_concurrently(
        lambda: services.sla_sweep(now=now), times=2)]
    assert sum(r.recorded for r in results) == 30
    assert sum(r.delivered for r in results) == 30
    assert SlaAlert.objects.filter(sent_at__isnull=False).count() == 30
    notified = Counter(Notification.objects.filter(kind="complaint_warn")
                       .values_list("user__username", flat=True))
    assert notified == Counter({f"manager{i}": 1 for i in range(30)})
    # The outbox: one row per e-mail; its sweep (kicked at each hand-over's commit, or the
    # beat's when a broker carries the kick) sends each once.
    assert Delivery.objects.filter(kind="complaint_warn", address__startswith="manager"
                                   ).count() == 30
    deliveries_send_due(now=now + timedelta(seconds=1))
    assert not Delivery.objects.filter(kind="complaint_warn").exclude(
        state=DeliveryState.SENT).exists()
    emailed = Counter(address for message in mail.outbox for address in message.to
                      if address.startswith("manager"))
    assert emailed == Counter({f"manager{i}@example.com": 1 for i in range(30)})
