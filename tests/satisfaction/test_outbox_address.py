"""An e-mail to someone who is not a user (a customer) goes through the same outbox: a row with
no user and the address, written in the caller's transaction, sent by the sweep with the body
and a public link, and kept at its address when HQ resends it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from satisfaction import delivery
from satisfaction.errors import ApplicationError
from satisfaction.models import Delivery, DeliveryChannel, DeliveryState, Notification
from satisfaction.notifications import delivery_resend, outbox_email_send

pytestmark = pytest.mark.django_db


def test_an_address_email_is_one_outbox_row_without_a_user_or_an_in_app_row():
    pk = outbox_email_send(address=" kunde@example.com ", title="Ihr  Bericht\n C1",
                           body="Text für den Kunden", url="/ticket/?t=C1", kind="customer")
    row = Delivery.objects.get()
    assert row.pk == pk
    assert row.user is None
    assert row.channel == DeliveryChannel.EMAIL
    assert row.address == "kunde@example.com"
    assert row.title == "Ihr Bericht C1"
    assert (row.body, row.url, row.kind) == ("Text für den Kunden", "/ticket/?t=C1", "customer")
    assert row.state == DeliveryState.PENDING
    assert Notification.objects.count() == 0


def _send_then_fail() -> None:
    with transaction.atomic():
        outbox_email_send(address="kunde@example.com", title="t", body="b")
        raise RuntimeError


def test_an_address_email_is_rolled_back_with_the_callers_transaction():
    with pytest.raises(RuntimeError):
        _send_then_fail()
    assert Delivery.objects.count() == 0


@pytest.mark.parametrize("address", ["", "not-an-address", "a@b", "x@example.com\nBcc: y@z.io"])
def test_an_invalid_address_is_a_field_error_and_writes_nothing(address):
    with pytest.raises(ApplicationError) as error:
        outbox_email_send(address=address, title="t", body="b")
    assert error.value.code == "invalid_email"
    assert list(error.value.fields) == ["address"]
    assert Delivery.objects.count() == 0


def test_the_sweep_sends_a_row_without_a_user_to_its_address_with_the_public_link(settings):
    settings.PUBLIC_BASE_URL = "https://service.example.cn"
    outbox_email_send(address="kunde@example.com", title="Ihr Bericht", body="Text",
                      url="/ticket/?t=C1")
    result = delivery.deliveries_send_due()
    assert (result.claimed, result.sent, result.retrying, result.failed) == (1, 1, 0, 0)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["kunde@example.com"]
    assert message.subject == "Ihr Bericht"
    assert message.body == "Text\n\nhttps://service.example.cn/ticket/?t=C1"
    row = Delivery.objects.get()
    assert row.state == DeliveryState.SENT
    assert message.extra_headers["X-Idempotency-Key"] == str(row.idempotency_key)


def test_the_sweep_sends_a_row_without_a_link_as_the_body_alone():
    outbox_email_send(address="kunde@example.com", title="Bericht", body="Nur Text")
    delivery.deliveries_send_due()
    assert mail.outbox[0].body == "Nur Text"


def test_a_failed_customer_email_is_resent_to_the_same_address(hq):
    pk = outbox_email_send(address="kunde@example.com", title="t", body="b")
    Delivery.objects.filter(pk=pk).update(state=DeliveryState.FAILED, attempts=5,
                                          last_error="SMTP down")
    assert delivery_resend(user=hq, delivery_ids=[pk]) == 1
    row = Delivery.objects.get(pk=pk)
    assert (row.state, row.attempts, row.address) == (DeliveryState.PENDING, 0,
                                                       "kunde@example.com")
