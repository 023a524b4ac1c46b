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
    # Policy, scan + locks (the complaints' store and department joined), grade policies, next
    # alerts, recurrence checks, the alerts' INSERT (recorded handed over), recipients (4),
    # in-app rows, outbox rows, savepoints, unsent alerts: 17 on PostgreSQL, 18 on SQLite, for
    # 1 or 1,000. The hand-over rides in the recording's transaction: no second read of the
    # complaints or the alerts, no sent_at UPDATE.
    with django_assert_max_num_queries(18):
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


@pytest.mark.django_db
def test_the_alerts_links_are_each_complaints_own_page(region, store, store_manager, hq,
                                                        department_head, login):
    from complaints.services.recipients import _detail_url, _detail_urls
    from tests.factories import department

    customer = _due_complaints(region, 2)
    internal = services.internal_complaint_create(
        user=store_manager, store=store, department=department("logistics"),
        description="配送少了两箱")
    urls = _detail_urls([*customer, internal])
    assert urls == {c.pk: _detail_url(c) for c in [*customer, internal]}
    assert urls[internal.pk] == f"/complaints/internal/{internal.pk}/"
    assert urls[customer[1].pk] == f"/complaints/{customer[1].pk}/"
    assert login(hq).get(urls[customer[1].pk]).status_code == 200
    assert login(department_head).get(urls[internal.pk]).status_code == 200


@pytest.mark.django_db
def test_a_failed_hand_over_keeps_nothing_of_the_sweep_and_the_next_run_hands_it_over(
        region, hq, monkeypatch):
    from complaints.services import alerts

    [complaint] = _due_complaints(region, 1)
    next_alert_at = complaint.next_alert_at

    def broken(**_kwargs):
        raise RuntimeError("the in-app rows could not be written")

    monkeypatch.setattr(alerts, "notifications_send", broken)
    with pytest.raises(RuntimeError):
        services.sla_sweep(now=timezone.now())
    complaint.refresh_from_db()
    assert (SlaAlert.objects.count(), complaint.next_alert_at) == (0, next_alert_at)
    monkeypatch.undo()
    result = services.sla_sweep(now=timezone.now())
    assert (result.recorded, result.delivered) == (1, 1)
    assert SlaAlert.objects.get().sent_at is not None
    assert Notification.objects.filter(kind="complaint_warn", user__username="manager0"
                                       ).count() == 1


@pytest.mark.django_db
def test_alerts_beyond_the_first_batch_are_handed_over_after_the_recording_commits(
        region, hq, monkeypatch):
    from complaints.services import alerts

    monkeypatch.setattr(alerts, "DELIVERY_BATCH", 2)
    _due_complaints(region, 5)
    result = services.sla_sweep(now=timezone.now())
    assert (result.recorded, result.delivered) == (5, 5)
    assert not SlaAlert.objects.filter(sent_at__isnull=True).exists()
    assert sorted(Notification.objects.filter(kind="complaint_warn")
                  .values_list("user__username", flat=True)) == [f"manager{i}" for i in range(5)]


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
