"""Sampled receipts of a store with a running campaign carry their survey invitation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pos import services as pos_services
from pos.models import PosTransaction
from pos.services import InvitationRef, is_sampled
from satisfaction.quarters import Quarter
from tests.pos.factories import receipt

URL = "/api/v1/pos/transactions/"


@pytest.fixture
def fake_surveys(monkeypatch):
    """Stands in for the surveys app: every sampled receipt of S0001 gets an invitation."""
    calls = []

    def invitations(rows):
        calls.extend(row["receipt_number"] for row in rows)
        return {(row["store_id"], row["receipt_number"]): InvitationRef(
            id=len(calls), url=f"http://testserver/s/{row['receipt_number']}",
            qr_payload=f"http://testserver/s/{row['receipt_number']}",
            expires_at=datetime(2026, 12, 1, tzinfo=UTC)) for row in rows}

    monkeypatch.setattr(pos_services, "_survey_invitations", invitations)
    return calls


def _receipts(sampled: bool, count: int) -> list[str]:
    numbers = (f"R{n}" for n in range(10_000))
    return [n for n in numbers if is_sampled("S0001", n, 0.1) == sampled][:count]


def test_a_sampled_receipt_gets_an_invitation_and_a_retry_gets_the_same_one(
        pos_client, store, fake_surveys, settings):
    settings.POS_SURVEY_SAMPLE_SHARE = 0.1
    number = _receipts(True, 1)[0]
    first = pos_client.post(URL, receipt(receipt_number=number), content_type="application/json")
    assert first.status_code == 201
    invitation = first.json()["invitation"]
    assert invitation["url"] == f"http://testserver/s/{number}"
    assert invitation["qr_payload"] == invitation["url"]
    again = pos_client.post(URL, receipt(receipt_number=number), content_type="application/json")
    assert again.json()["invitation"] == invitation
    assert fake_surveys == [number]  # asked once, not on the retry
    assert PosTransaction.objects.get().invitation_id == 1


def test_a_receipt_not_sampled_gets_no_invitation(pos_client, store, fake_surveys, settings):
    settings.POS_SURVEY_SAMPLE_SHARE = 0.1
    number = _receipts(False, 1)[0]
    response = pos_client.post(URL, receipt(receipt_number=number),
                               content_type="application/json")
    assert response.json()["invitation"] is None
    assert fake_surveys == []


def test_a_batch_asks_for_invitations_for_the_sampled_receipts_only(
        pos_client, store, fake_surveys, settings):
    settings.POS_SURVEY_SAMPLE_SHARE = 0.1
    sampled, plain = _receipts(True, 3), _receipts(False, 7)
    items = [receipt(receipt_number=n) for n in sampled + plain]
    body = pos_client.post(f"{URL}batch/", {"items": items, "invite": True},
                           content_type="application/json").json()
    with_invitation = {r["receipt_number"] for r in body["results"] if r["invitation"]}
    assert with_invitation == set(sampled)
    assert sorted(fake_surveys) == sorted(sampled)


def test_with_the_surveys_app_a_sampled_receipt_gets_a_real_invitation_a_customer_can_open(
        pos_client, store, sibling_store, settings):
    from django.test import Client
    from django.utils import timezone

    from surveys.models import Invitation
    from surveys.services import campaign_create
    from tests.pos.factories import make_key

    settings.POS_SURVEY_SAMPLE_SHARE = 1.0
    today = timezone.localdate()
    campaign_create(name="Q receipts", quarter=str(Quarter.containing(today)), opens_on=today,
                    closes_on=today, stores=[store])
    body = pos_client.post(URL, receipt(receipt_number="Q1"),
                           content_type="application/json").json()
    invitation = Invitation.objects.get(store=store, transaction_ref="Q1")
    assert body["invitation"]["url"] == invitation.short_url
    assert body["invitation"]["qr_payload"] == invitation.qr_payload
    again = pos_client.post(URL, receipt(receipt_number="Q1"),
                            content_type="application/json").json()
    assert again["invitation"] == body["invitation"]
    assert Invitation.objects.count() == 1
    opened = Client().get(invitation.short_path)
    assert opened.status_code == 200
    # No campaign at the sibling store: no invitation.
    _key, secret = make_key(sibling_store)
    other = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}").post(
        URL, receipt(store="S0002", receipt_number="Q2"), content_type="application/json")
    assert other.json()["invitation"] is None


def test_a_batch_of_printed_receipts_gets_no_invitations_unless_asked(pos_client, store,
                                                                     fake_surveys, settings):
    settings.POS_SURVEY_SAMPLE_SHARE = 1.0
    items = [receipt(receipt_number=f"P{n}") for n in range(3)]
    body = pos_client.post(f"{URL}batch/", {"items": items},
                           content_type="application/json").json()
    assert [r["invitation"] for r in body["results"]] == [None, None, None]
    assert fake_surveys == []
    assert pos_client.post(f"{URL}batch/", {"items": items, "invite": "yes"},
                           content_type="application/json").status_code == 400
