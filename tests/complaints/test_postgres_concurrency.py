"""Real concurrency on PostgreSQL: two sweeps at once, two handlers saving at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from complaints import services
from complaints.models import Complaint, SlaAlert, Status
from satisfaction.errors import ApplicationError
from satisfaction.models import Notification
from tests.complaints.factories import make_complaint

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run_together(*functions):
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread raised
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_concurrent_sweeps_send_each_alert_once(store, hq, region_manager, store_manager):
    received = timezone.now() - timedelta(hours=40)
    overdue = [make_complaint(store, received_at=received, customer_phone=f"1380000{i:04d}")
               for i in range(20)]
    now = timezone.now()
    results = _run_together(lambda: services.sla_sweep(now=now),
                            lambda: services.sla_sweep(now=now))
    assert not [r for r in results if isinstance(r, Exception)], results
    # Each of the 20: warn, level 1 (at 24 h), level 2 (28 h), level 3 (32 h) = 80 alerts.
    assert sum(r.recorded for r in results) == 80
    assert SlaAlert.objects.count() == 80
    assert Notification.objects.filter(kind="complaint_escalate", user=hq).count() == 20
    assert Notification.objects.filter(kind="complaint_escalate",
                                       user=region_manager).count() == 20
    assert Notification.objects.filter(kind="complaint_warn", user=store_manager).count() == 20
    assert {c.escalation_level for c in Complaint.objects.filter(
        pk__in=[c.pk for c in overdue])} == {3}


def test_concurrent_sweeps_with_forced_rescans_still_send_once(store, store_manager):
    received = timezone.now() - timedelta(hours=25)
    complaint = make_complaint(store, received_at=received)
    now = timezone.now()

    def sweep_after_reset():
        Complaint.objects.filter(pk=complaint.pk).update(next_alert_at=received)
        return services.sla_sweep(now=now)

    results = _run_together(sweep_after_reset, sweep_after_reset, sweep_after_reset)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert SlaAlert.objects.filter(complaint=complaint).count() == 2  # warn + level 1
    assert Notification.objects.filter(user=store_manager).exclude(
        kind="complaint_new").count() == 2


def test_two_handlers_saving_at_once_one_wins_one_gets_a_conflict(store, hq, store_manager,
                                                                 region_manager):
    complaint = make_complaint(store)
    services.complaint_triage(complaint=complaint, user=hq, version=1, grade="C",
                              substantiated=True, responsibility="own_store",
                              owner=store_manager)
    first = Complaint.objects.get(pk=complaint.pk)
    second = Complaint.objects.get(pk=complaint.pk)
    results = _run_together(
        lambda: services.complaint_resolve(complaint=first, user=store_manager, version=2,
                                           remedy="退款", customer_satisfied=True),
        lambda: services.complaint_start(complaint=second, user=region_manager, version=2))
    errors = [r for r in results if isinstance(r, ApplicationError)]
    assert len(errors) == 1
    assert errors[0].status == 409
    final = Complaint.objects.get(pk=complaint.pk)
    assert final.version == 3
    assert final.status in (Status.RESOLVED, Status.IN_PROGRESS)
