"""The complaint page reads a fixed number of queries, however many recurrence checks, events
and notes a complaint gathers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints import services
from complaints.models import Category, ComplaintEvent, RecurrenceCheck
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_complaint_page_does_not_grow_with_checks_and_events(login, store, hq):
    complaint = make_complaint(
        store, category=Category.PRODUCT_QUALITY,
        product=services.ProductInput(medicine_name="阿莫西林胶囊", batch_no="A1"))
    now = timezone.now()
    RecurrenceCheck.objects.create(complaint=complaint, interval_days=30,
                                   due_at=now + timedelta(days=30))
    client = login(hq)
    url = f"/complaints/{complaint.pk}/"
    few = _queries(client, url)

    for days in (60, 90, 120, 150):
        RecurrenceCheck.objects.create(complaint=complaint, interval_days=days,
                                       due_at=now + timedelta(days=days), recurred=False,
                                       confirmed_at=now, confirmed_by=hq,
                                       recurrence=make_complaint(store))
    ComplaintEvent.objects.bulk_create([
        ComplaintEvent(complaint=complaint, actor=hq, action="note", note=str(n))
        for n in range(10)])
    assert _queries(client, url) == few
    assert few <= 30
