"""The monthly report's send raced for real on PostgreSQL: two workers at once send once."""

from __future__ import annotations

from datetime import datetime
from functools import partial

import pytest

from dashboard import services
from dashboard.models import MonthlyReportSent
from dashboard.reports import Month
from satisfaction.models import Delivery, Notification, Role
from satisfaction.quarters import chain_zone
from tests.concurrency import run_concurrently
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_sending_the_same_month_at_once_send_each_report_once(
        store, other_store, emails, hq, region_manager, store_manager):
    for index in range(40):
        UserFactory(username=f"sm{index}", role=Role.STORE_MANAGER,
                    stores=[store if index % 2 else other_store], email=f"sm{index}@x.cn")
    send = partial(services.monthly_reports_send, month=Month(2026, 5),
                   now=datetime(2026, 6, 1, 7, tzinfo=chain_zone()))
    results = [outcome.get() for outcome in run_concurrently(send, times=2)]
    # The second worker's INSERT waits for the first one's transaction, then finds every
    # recipient recorded: it sends nothing.
    assert sorted(results) == [0, 43]
    assert MonthlyReportSent.objects.count() == 43
    assert Notification.objects.filter(kind=services.REPORT_KIND).count() == 43
    assert Delivery.objects.filter(kind=services.REPORT_KIND).count() == 43
