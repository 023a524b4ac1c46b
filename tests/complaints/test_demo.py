"""The demo shows one of each of the seeds' handling steps (#17): a report that went out, a
batch in three stores with a suspected adverse reaction, a recurrence that reopened an 8D
report and turned an early "not recurred" red, and a spike."""

from __future__ import annotations

import pytest
from django.utils import timezone

from complaints import demo
from complaints.models import (
    ComplaintEvent,
    ComplaintProduct,
    ComplaintSpike,
    EightDReport,
    RecurrenceCheck,
    SpikeScope,
)
from satisfaction.demo import build_chain
from satisfaction.quarters import chain_zone

pytestmark = pytest.mark.django_db


def test_the_demo_shows_each_handling_step_of_the_seeds():
    today = timezone.localdate(timezone=chain_zone())
    demo.seed(chain=build_chain(seed=1, password="pw-for-tests-2026", today=today))

    sent = ComplaintEvent.objects.filter(action="report_sent")
    assert sent.filter(changes__recipient="customer", changes__via="email").exists()
    assert sent.filter(changes__recipient="customer", changes__via="letter").exists()
    assert sent.filter(changes__recipient="superior").exists()

    batch = ComplaintProduct.objects.filter(batch_no="A2309015")
    assert batch.values("complaint__store").distinct().count() == 3
    assert batch.filter(suspected_adr=True, adr_notified_at__isnull=False).count() == 1

    reopened = EightDReport.objects.get(reopened_at__isnull=False)
    checks = {c.interval_days: c for c in
              RecurrenceCheck.objects.filter(complaint=reopened.complaint)}
    assert reopened.reopened_for.product.batch_no == reopened.complaint.product.batch_no
    assert (checks[60].recurred, checks[90].recurred) == (True, True)
    assert checks[30].recurred is False
    assert checks[30].recurrence == reopened.reopened_for  # answered too soon: red

    spikes = ComplaintSpike.objects.filter(ended_on__isnull=True, alerted_at__isnull=False)
    assert spikes.filter(scope=SpikeScope.REGION).exists()
    assert spikes.filter(scope=SpikeScope.STORE).exists()
