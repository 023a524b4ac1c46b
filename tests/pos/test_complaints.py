"""POS and call-centre systems file complaints with their key; they count per 1,000 receipts."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from complaints.models import Complaint, Source
from pos.services import pos_transactions_ingest
from satisfaction.quarters import Quarter
from tests.pos.factories import make_key, receipt

URL = "/api/v1/pos/complaints/"
# A system may date a complaint at most ComplaintPolicy.backdate_days (7) back.
RECEIVED = timezone.localtime(timezone.now() - timedelta(hours=2))
COMPLAINT = {"store": "S0001", "channel": "phone", "category": "service_attitude",
             "description": "店员没有询问病情就推荐了药品。", "customer_name": "张先生",
             "customer_phone": "13800138000",
             "occurred_at": (RECEIVED - timedelta(minutes=30)).isoformat(),
             "received_at": RECEIVED.isoformat()}


def test_a_call_centre_key_files_a_complaint_with_a_ticket(store):
    _key, secret = make_key(all_stores=True)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    response = client.post(URL, COMPLAINT, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    complaint = Complaint.objects.get()
    assert body["ticket_no"] == complaint.ticket_no
    assert body["store"] == "S0001"
    assert complaint.source == Source.API
    assert complaint.received_by is None


def test_a_store_key_may_not_file_for_another_store(pos_client, store, other_store):
    response = pos_client.post(URL, {**COMPLAINT, "store": "S0011"},
                               content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden_store"
    assert not Complaint.objects.exists()


def test_a_bad_complaint_is_a_400_with_fields(pos_client, store):
    response = pos_client.post(URL, {**COMPLAINT, "channel": "pigeon", "employee": "E404"},
                               content_type="application/json")
    assert response.status_code == 400
    assert "channel" in response.json()["fields"]
    response = pos_client.post(URL, {**COMPLAINT, "employee": "E404"},
                               content_type="application/json")
    assert response.status_code == 400
    assert "employee" in response.json()["fields"]


def test_complaints_per_1000_receipts_counts_the_quarters_complaints(pos_client, store):
    key, _secret = make_key(store)
    pos_transactions_ingest(api_key=key, items=[
        receipt(receipt_number=f"N{n}", occurred_at=RECEIVED.isoformat()) for n in range(4)])
    assert pos_client.post(URL, COMPLAINT, content_type="application/json").status_code == 201
    quarter = str(Quarter.containing(RECEIVED.date()))
    row = pos_client.get("/api/v1/pos/metrics/", {"quarter": quarter}).json()["results"][0]
    assert row["complaints"] == 1
    assert row["complaints_per_1000"] == 250.0  # 1 / 4 receipts * 1000
