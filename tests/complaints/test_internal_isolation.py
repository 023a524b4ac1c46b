"""An internal complaint (a store's complaint to an HQ department) is no customer complaint:
it changes no store value, no customer complaint figure, list or export, no complaints per
1,000 receipts, no spike or recurrence; its clock escalates to its department, then HQ."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints import selectors, services
from complaints.models import AlertKind, Category, Complaint, SlaAlert
from complaints.services.spikes import _counts
from pos.selectors import pos_store_metrics_frame
from satisfaction.errors import ApplicationError
from satisfaction.models import Notification
from satisfaction.quarters import Quarter
from scoring.models import StoreScore
from scoring.services import rollup_quarter
from tests.complaints.factories import make_complaint
from tests.factories import department, make_receipt

pytestmark = pytest.mark.django_db


@pytest.fixture
def internal(store, store_manager, department_head):
    """An internal complaint of S0001 to logistics, forced to look graded and substantiated
    (no service grades one): even so it must count nowhere."""
    complaint = services.internal_complaint_create(
        user=store_manager, store=store, department=department("logistics"),
        description="补货单审批三天仍未到货")
    Complaint.objects.filter(pk=complaint.pk).update(grade="A", substantiated=True,
                                                     category=Category.SERVICE_ATTITUDE)
    complaint.refresh_from_db()
    return complaint


def test_it_deducts_nothing_from_the_store_value(internal, store, hq):
    quarter = Quarter.current()
    assert selectors.deduction_frame(quarter=quarter).empty
    assert not selectors.complaint_trace(quarter=quarter, store_id=store.pk).exists()
    customer = make_complaint(store)
    services.complaint_triage(complaint=customer, user=hq, version=customer.version,
                              grade="C", substantiated=True, responsibility="own_store",
                              owner=None)
    rollup = rollup_quarter(quarter=quarter, user=hq).rollup
    score = StoreScore.objects.get(rollup=rollup, store=store)
    assert score.deductions == 1  # the customer's C only: the "graded" internal A is not in it


def test_a_customer_complaint_beside_it_still_deducts(internal, store, hq):
    customer = make_complaint(store)
    services.complaint_triage(complaint=customer, user=hq, version=customer.version,
                              grade="B", substantiated=True, responsibility="own_store",
                              owner=None)
    frame = selectors.deduction_frame(quarter=Quarter.current())
    assert list(frame["complaint_id"]) == [customer.pk]


def test_it_counts_in_no_customer_complaint_figure_list_or_export(internal, login, store, hq):
    quarter = Quarter.current()
    for level in ("store", "region", "chain"):
        figures = selectors.complaint_figures(user=hq, start=quarter.start(),
                                              end=quarter.end(), level=level)
        assert figures.rows == []
        assert figures.pareto == []
    assert not selectors.complaint_list(user=hq).exists()
    assert selectors.complaint_counts_by_store(start=quarter.start(), end=quarter.end()) == {}
    assert _counts(quarter.start(), quarter.end()) == {}
    client = login(hq)
    export = client.get("/complaints/export/?format=csv").content.decode("utf-8-sig")
    assert internal.ticket_no not in export
    assert internal.ticket_no not in client.get("/complaints/").content.decode()
    assert client.get("/api/v1/complaint-figures/?level=chain").json()["rows"] == []


def test_it_is_not_in_the_complaints_per_1000_receipts(internal, store):
    make_receipt(store, at=timezone.now() - timedelta(minutes=5))
    frame = pos_store_metrics_frame(quarter=Quarter.current(), store_ids=[store.pk])
    row = frame.set_index("store_id").loc[store.pk]
    assert row["complaints"] == 0
    assert row["complaints_per_1000"] == 0


def test_the_public_ticket_page_does_not_find_it(internal, client):
    assert selectors.public_ticket_lookup(ticket_no=internal.ticket_no,
                                          phone_last4="0000") is None
    response = client.post("/ticket/", {"ticket_no": internal.ticket_no, "phone_last4": "0000"})
    assert response.status_code in (404, 429)


def test_a_customer_complaint_is_never_linked_to_it(internal, store):
    customer = make_complaint(store, category=Category.SERVICE_ATTITUDE,
                              previous_ticket="")
    assert customer.previous_id is None
    assert customer.recurrence_of_id is None
    with pytest.raises(ApplicationError) as unknown:
        make_complaint(store, previous_ticket=internal.ticket_no)
    assert "previous_ticket" in unknown.value.fields


def test_the_overdue_clock_escalates_to_the_department_then_hq(store, store_manager,
                                                               department_head, hq):
    complaint = services.internal_complaint_create(
        user=store_manager, store=store, department=department("logistics"),
        description="补货单审批三天仍未到货")
    assert complaint.due_at - complaint.received_at == timedelta(hours=24)
    services.sla_sweep(now=complaint.due_at + timedelta(minutes=1))
    level_one = SlaAlert.objects.get(complaint=complaint, kind=AlertKind.ESCALATE, level=1)
    told = set(Notification.objects.filter(kind="complaint_escalate").values_list(
        "user__username", flat=True))
    assert told == {department_head.username}  # not the store that filed it
    assert level_one.sent_at is not None
    Notification.objects.all().delete()
    services.sla_sweep(now=complaint.due_at + timedelta(hours=5))
    told = set(Notification.objects.filter(kind="complaint_escalate").values_list(
        "user__username", flat=True))
    assert told == {hq.username}
    complaint.refresh_from_db()
    assert complaint.escalation_level == 2
    body = Notification.objects.filter(kind="complaint_escalate").first().body
    assert body.startswith(f"{store.name} → {department('logistics').name}")


# Reads of complaints that need not say a kind: they reach one complaint by its key (or by a
# link from one), or lock or update rows they already picked. Any other ``Complaint.objects``
# read in the apps must say which kind it reads (``.customer()`` / ``.internal()``), or an
# internal complaint could land in a customer figure. Counted per file: a new read in one of
# these files is also asked to say its kind.
READS_BY_KEY = {
    "complaints/demo.py": 3,
    "complaints/selectors.py": 4,
    "complaints/services/_common.py": 1,
    "complaints/services/alerts.py": 3,
    "complaints/services/appeals.py": 1,
    "complaints/services/intake.py": 1,
    "complaints/services/products.py": 2,
    "complaints/services/recurrence.py": 2,
    "scoring/selectors.py": 1,
}


def test_every_complaint_read_in_the_apps_says_which_kind_it_reads():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    apps = ["satisfaction", "surveys", "mystery_shopper", "complaints", "internal_service",
            "pulse", "scoring", "dashboard", "pos"]
    unsaid = {}
    for app in apps:
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            count = len(re.findall(r"\bComplaint\.objects\b(?!\.(customer|internal)\(\))", text))
            if count:
                unsaid[str(path.relative_to(root))] = count
    assert unsaid == READS_BY_KEY, (
        "a Complaint.objects read that does not say .customer() or .internal(): say which "
        "kind it reads, or, for a read by key, add it to READS_BY_KEY")
