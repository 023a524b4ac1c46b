"""The public pages' limits (satisfaction.ratelimit): the ticket status check per client and
ticket, complaint filing per store and client, counted once filed."""

from __future__ import annotations

import pytest
from django.test import Client

from complaints import services
from complaints.models import Complaint
from satisfaction.errors import ApplicationError
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db

FILING = {"customer_name": "刘女士", "customer_phone": "139 0000 5678",
          "category": "product_quality", "description": "买的药过期了"}


def _lookup(client: Client, ticket: str, digits: str) -> int:
    return client.post("/ticket/", {"ticket_no": ticket, "phone_last4": digits}).status_code


def test_a_stranger_guessing_digits_locks_out_only_themselves(store):
    complaint = make_complaint(store)  # phone 13812341234
    other = make_complaint(store, customer_phone="13900005678")
    stranger = Client(REMOTE_ADDR="198.51.100.7")
    assert [_lookup(stranger, complaint.ticket_no, f"{n:04d}") for n in range(5)] == [404] * 5
    assert _lookup(stranger, complaint.ticket_no, "1234") == 429
    # The customer, from their own phone, still sees their ticket.
    customer = Client(REMOTE_ADDR="203.0.113.20")
    assert _lookup(customer, complaint.ticket_no, "1234") == 200
    # The stranger's failures are counted per ticket: another ticket still answers them.
    assert _lookup(stranger, other.ticket_no, "5678") == 200


def test_status_checks_are_limited_per_client(store):
    complaint = make_complaint(store)
    client = Client(REMOTE_ADDR="198.51.100.8")
    assert [_lookup(client, complaint.ticket_no, "1234") for _ in range(10)] == [200] * 10
    assert _lookup(client, complaint.ticket_no, "1234") == 429
    assert _lookup(Client(REMOTE_ADDR="198.51.100.9"), complaint.ticket_no, "1234") == 200


def test_behind_the_proxy_each_customer_has_their_own_limit(store, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    complaint = make_complaint(store)
    proxy = "10.0.0.2"
    stranger = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    for n in range(6):
        _lookup(stranger, complaint.ticket_no, f"{n:04d}")
    assert _lookup(stranger, complaint.ticket_no, "1234") == 429
    customer = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.20")
    assert _lookup(customer, complaint.ticket_no, "1234") == 200
    # A forged X-Forwarded-For entry left of the proxy's own does not buy a new identity.
    forged = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.7")
    assert _lookup(forged, complaint.ticket_no, "1234") == 429


def test_filings_are_limited_per_store_and_client(store, sibling_store):
    client = Client(REMOTE_ADDR="198.51.100.10")
    statuses = [client.post(f"/complain/{store.code}", FILING).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert Complaint.objects.filter(store=store).count() == 5
    # The same customer may still complain about another store; another customer about this one.
    assert client.post(f"/complain/{sibling_store.code}", FILING).status_code == 200
    other = Client(REMOTE_ADDR="198.51.100.11")
    assert other.post(f"/complain/{store.code}", FILING).status_code == 200


def test_a_refused_filing_does_not_count(store, monkeypatch):
    client = Client(REMOTE_ADDR="198.51.100.12")
    real_create = services.complaint_create

    def refuse(**kwargs):
        raise ApplicationError("refused", fields={"description": ["refused"]})

    monkeypatch.setattr(services, "complaint_create", refuse)
    for _ in range(6):
        assert client.post(f"/complain/{store.code}", FILING).status_code == 400
    monkeypatch.setattr(services, "complaint_create", real_create)
    for _ in range(5):
        assert client.post(f"/complain/{store.code}", FILING).status_code == 200
    # An invalid form is never counted either.
    assert client.post(f"/complain/{store.code}", {**FILING, "customer_phone": ""}
                       ).status_code == 400
    assert client.post(f"/complain/{store.code}", FILING).status_code == 429


def test_with_redis_down_customers_still_file_and_the_limit_holds_per_process(
        store, redis_down, caplog):
    complaint = make_complaint(store)
    client = Client(REMOTE_ADDR="198.51.100.30")
    with caplog.at_level("WARNING", logger="satisfaction.ratelimit"):
        statuses = [client.post(f"/complain/{store.code}", FILING).status_code
                    for _ in range(6)]
        assert _lookup(client, complaint.ticket_no, "1234") == 200
    assert statuses == [200] * 5 + [429]
    assert Complaint.objects.filter(store=store).count() == 6  # 5 filed + the one made above
    warnings = [r for r in caplog.records if r.name == "satisfaction.ratelimit"]
    assert len(warnings) == 1  # once a minute, not once a request
    assert "cache is unreachable" in warnings[0].getMessage()
