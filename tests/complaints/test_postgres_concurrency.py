"""Real concurrency on PostgreSQL: two sweeps at once, two handlers saving at once."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from complaints import services
from complaints.models import Complaint, SlaAlert, Status
from satisfaction.errors import ApplicationError
from satisfaction.models import Notification
from tests.complaints.factories import make_complaint
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_sweeps_send_each_alert_once(store, hq, region_manager, store_manager):
    received = timezone.now() - timedelta(hours=40)
    overdue = [make_complaint(store, received_at=received, customer_phone=f"1380000{i:04d}")
               for i in range(20)]
    now = timezone.now()
    results = [outcome.get()  # run_concurrently raises what any sweep raised
               for outcome in run_concurrently(partial(services.sla_sweep, now=now), times=2)]
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

    outcomes = run_concurrently(sweep_after_reset, times=3)  # raises what any sweep raised
    assert all(outcome.ok for outcome in outcomes)
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
    outcomes = run_concurrently(
        partial(services.complaint_resolve, complaint=first, user=store_manager, version=2,
                remedy="退款", customer_satisfied=True),
        partial(services.complaint_start, complaint=second, user=region_manager, version=2),
        expect=ApplicationError)
    errors = [outcome.error for outcome in outcomes if not outcome.ok]
    assert len(errors) == 1
    assert errors[0].status == 409
    final = Complaint.objects.get(pk=complaint.pk)
    assert final.version == 3
    assert final.status in (Status.RESOLVED, Status.IN_PROGRESS)
