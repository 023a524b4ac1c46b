"""The outbox sends in claimed batches: a batch's e-mails share one connection of the e-mail
backend and are marked sent together. A send failing mid-batch costs only its own row (retried
later); a worker killed mid-batch sends again at most the rows of its batch it had not marked,
never more than ``CLAIM_BATCH``, of them at most one webhook call; one idempotency key per row
throughout."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from functools import partial
from smtplib import SMTPRecipientsRefused

import psycopg
import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from satisfaction import delivery, notifications
from satisfaction.models import Delivery, DeliveryState
from satisfaction.notifications import notification_send, outbox_email_send
from tests.concurrency import run_concurrently
from tests.webhooks import WebhookReceiver

BACKEND = "tests.satisfaction.test_outbox_batches.ScriptedBackend"


class Killed(BaseException):
    """The worker's process dies (``kill -9``): nothing after it reaches the database."""


class ScriptedBackend(LocmemBackend):
    """locmem, with a script: addresses it refuses, the message after which the process is
    killed (``kill_after``: that one is delivered, its mark never written), an exception raised
    instead of sending (``stop_at``), and a check run before each send."""

    opened = 0
    refuse: frozenset[str] = frozenset()
    kill_after: int | None = None
    stop_at: int | None = None
    before_send = None
    seen = 0
    killed = False

    def open(self):
        type(self).opened += 1
        return super().open()

    def send_messages(self, messages):
        cls = type(self)
        [message] = messages  # the outbox sends one message per row
        cls.seen += 1
        if cls.before_send is not None:
            cls.before_send(message)
        if cls.stop_at == cls.seen:
            raise KeyboardInterrupt
        if message.to[0] in cls.refuse:
            raise SMTPRecipientsRefused({message.to[0]: (550, b"mailbox unavailable")})
        sent = super().send_messages(messages)
        if cls.kill_after == cls.seen:
            cls.killed = True
            raise Killed
        return sent


@pytest.fixture
def backend(settings, monkeypatch):
    settings.EMAIL_BACKEND = BACKEND
    monkeypatch.setattr(notifications, "_kick_sweep", lambda **_: None)  # only our sweeps send
    for name, value in (("opened", 0), ("refuse", frozenset()), ("kill_after", None),
                        ("stop_at", None), ("before_send", None), ("seen", 0),
                        ("killed", False)):
        monkeypatch.setattr(ScriptedBackend, name, value)
    return ScriptedBackend


@pytest.fixture
def marks(monkeypatch):
    """The ids of each "sent" mark the sweep writes, in order."""
    written: list[list[int]] = []
    mark_sent = delivery._mark_sent

    def recording(ids, now):
        if ids:
            written.append(list(ids))
        mark_sent(ids, now)

    monkeypatch.setattr(delivery, "_mark_sent", recording)
    return written


def _queue(n: int, *, refuse: str = "") -> list[int]:
    return [outbox_email_send(address=refuse if i == n // 2 and refuse else f"m{i}@example.com",
                              title=f"提醒 {i}", body="正文") for i in range(n)]


def _keys_sent() -> Counter:
    return Counter(m.extra_headers["X-Idempotency-Key"] for m in mail.outbox)


def _all_keys() -> set[str]:
    return {str(key) for key in Delivery.objects.values_list("idempotency_key", flat=True)}


@pytest.mark.django_db
def test_a_batch_shares_one_connection_and_one_sent_mark(backend, marks):
    ids = _queue(5)
    result = delivery.deliveries_send_due()
    assert (result.claimed, result.sent, result.retrying, result.failed) == (5, 5, 0, 0)
    assert backend.opened == 1
    assert marks == [ids]
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}
    assert _keys_sent() == Counter(_all_keys())  # one key per row, each e-mail once


@pytest.mark.django_db
def test_a_send_failing_mid_batch_costs_only_its_own_row(backend, marks):
    ids = _queue(7, refuse="refuse@example.com")
    backend.refuse = frozenset({"refuse@example.com"})
    now = timezone.now() + timedelta(seconds=1)
    result = delivery.deliveries_send_due(now=now)
    assert (result.claimed, result.sent, result.retrying, result.failed) == (7, 6, 1, 0)
    refused = Delivery.objects.get(address="refuse@example.com")
    # The rows before it and after it are sent, in the batch's one mark ...
    assert marks == [[pk for pk in ids if pk != refused.pk]]
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 6
    # ... and it is retried a minute later, with its error kept.
    assert (refused.state, refused.attempts) == (DeliveryState.PENDING, 1)
    assert refused.next_attempt_at == now + timedelta(minutes=1)
    assert refused.last_error.startswith("SMTPRecipientsRefused")
    backend.refuse = frozenset()
    assert delivery.deliveries_send_due(now=refused.next_attempt_at).sent == 1
    assert _keys_sent() == Counter(_all_keys())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("kill_after", "repeats"), [(1, 1), (7, 7), (20, 20), (21, 1),
                                                    (30, 10)])
def test_a_worker_killed_mid_batch_sends_again_at_most_the_batch(backend, monkeypatch,
                                                                 kill_after, repeats):
    """30 e-mails: batches of 20 and 10. The kill lands after the ``kill_after``-th e-mail
    went out: the rows of its batch sent so far were not marked, and only those go again."""
    _queue(30)
    mark_sent, failed = delivery._mark_sent, delivery._failed

    def unless_killed(write):
        return lambda *args: None if backend.killed else write(*args)

    backend.kill_after = kill_after
    monkeypatch.setattr(delivery, "_mark_sent", unless_killed(mark_sent))
    monkeypatch.setattr(delivery, "_failed", unless_killed(failed))
    now = timezone.now() + timedelta(seconds=1)
    with pytest.raises(Killed):
        delivery.deliveries_send_due(now=now)
    assert len(mail.outbox) == kill_after
    # A new worker, once the dead one's lease has run out.
    backend.kill_after, backend.killed = None, False
    lease = timedelta(seconds=delivery.settings.DELIVERY_LEASE_SECONDS)
    delivery.deliveries_send_due(now=now + lease)
    sent = _keys_sent()
    assert set(sent) == _all_keys()  # nothing lost
    assert sum(n - 1 for n in sent.values()) == repeats <= delivery.CLAIM_BATCH
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()


@pytest.mark.django_db
def test_a_worker_stopped_by_an_exception_marks_what_it_sent_first(backend, marks):
    ids = _queue(6)
    backend.stop_at = 4
    now = timezone.now() + timedelta(seconds=1)
    with pytest.raises(KeyboardInterrupt):
        delivery.deliveries_send_due(now=now)
    assert marks == [ids[:3]]
    # The one it was sending and the rest wait for the lease, then go once each.
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 3
    backend.stop_at = None
    lease = timedelta(seconds=delivery.settings.DELIVERY_LEASE_SECONDS)
    assert delivery.deliveries_send_due(now=now + lease).sent == 3
    assert _keys_sent() == Counter(_all_keys())


@pytest.mark.django_db
def test_a_webhook_call_is_marked_at_once_with_the_emails_before_it(settings, backend, marks,
                                                                    store_manager, emails):
    with WebhookReceiver() as robot:
        settings.NOTIFICATION_WEBHOOK_URL = robot.url
        notification_send(users=[store_manager], title="一", webhook=True)
        notification_send(users=[store_manager], title="二", webhook=True)
        notification_send(users=[store_manager], title="三")
        rows = list(Delivery.objects.order_by("pk").values_list("pk", "channel"))
        assert [channel for _, channel in rows] == ["email", "webhook", "email", "webhook",
                                                    "email"]
        assert delivery.deliveries_send_due().sent == 5
    ids = [pk for pk, _ in rows]
    assert marks == [ids[:2], ids[2:4], ids[4:]]
    assert len(robot.keys) == 2


@pytest.mark.django_db
def test_a_slow_batch_is_marked_as_it_goes(backend, marks, monkeypatch):
    monkeypatch.setattr(delivery, "MARK_EVERY_SECONDS", 0)  # every send counts as slow
    ids = _queue(3)

    def the_ones_before_are_sent(message):
        assert Delivery.objects.filter(state=DeliveryState.SENT).count() == backend.seen - 1

    backend.before_send = the_ones_before_are_sent
    assert delivery.deliveries_send_due().sent == 3
    assert marks == [[pk] for pk in ids]


# --- The claim on PostgreSQL (one statement, committed on its own) -----------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_claim_takes_only_its_rows_still_due_that_no_one_holds(backend):
    due, held, leased, sent, failed = _queue(5)
    now = timezone.now() + timedelta(seconds=1)
    Delivery.objects.filter(pk=leased).update(next_attempt_at=now + timedelta(minutes=5))
    Delivery.objects.filter(pk=sent).update(state=DeliveryState.SENT)
    Delivery.objects.filter(pk=failed).update(state=DeliveryState.FAILED)
    db = connection.settings_dict
    with psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"],
                         port=db["PORT"] or 5432) as other:  # another worker's claim, open
        other.execute("SELECT id FROM satisfaction_delivery WHERE id = %s FOR UPDATE", [held])
        rows = delivery._claim(ids=[due, held, leased, sent, failed], now=now)
        other.rollback()
    assert [(row.pk, row.attempts) for row in rows] == [(due, 1)]
    assert rows[0].next_attempt_at == now + timedelta(
        seconds=delivery.settings.DELIVERY_LEASE_SECONDS)
    assert rows[0].idempotency_key == Delivery.objects.get(pk=due).idempotency_key
    assert Delivery.objects.get(pk=due).attempts == 1  # committed
    assert delivery._claim(ids=[due], now=now) == []  # leased now
    assert [row.pk for row in delivery._claim(ids=[held], now=now)] == [held]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_claim_marks_the_previous_batch_sent_in_the_same_statement(backend):
    sent, due = _queue(2)
    now = timezone.now() + timedelta(seconds=1)
    [claimed] = delivery._claim(ids=[sent], now=now)
    with CaptureQueriesContext(connection) as queries:
        rows = delivery._claim(ids=[due], now=now, sent=[claimed.pk])
    assert len(queries) == 1
    assert [row.pk for row in rows] == [due]
    assert dict(Delivery.objects.values_list("pk", "state")) == {
        sent: DeliveryState.SENT, due: DeliveryState.PENDING}
    assert Delivery.objects.get(pk=sent).sent_at == now


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_burst_costs_one_round_trip_per_batch_on_postgresql(backend):
    _queue(2 * delivery.CLAIM_BATCH + 5)  # three batches
    with CaptureQueriesContext(connection) as queries:
        assert delivery.deliveries_send_due().sent == 2 * delivery.CLAIM_BATCH + 5
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().startswith(("UPDATE", "WITH"))]
    assert len(writes) == 4  # three claims (each marking the batch before), the last mark
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()
    assert _keys_sent() == Counter(_all_keys())


# --- Several senders for one burst ------------------------------------------------------------

@pytest.mark.parametrize(("senders", "rows", "expected"), [
    (2, 1, 1), (2, delivery.CLAIM_BATCH, 1), (2, delivery.CLAIM_BATCH + 1, 2), (2, 1000, 2),
    (4, 2 * delivery.CLAIM_BATCH + 1, 3), (4, 1000, 4), (1, 1000, 1)])
def test_a_burst_asks_for_one_sender_per_batch_up_to_the_setting(settings, senders, rows,
                                                                  expected):
    settings.DELIVERY_SENDERS = senders
    assert delivery.senders_for(rows) == expected


@pytest.mark.django_db
def test_a_commit_asks_for_as_many_senders_as_its_rows_can_use(
        settings, store_manager, emails, monkeypatch, django_capture_on_commit_callbacks):
    settings.DELIVERY_SENDERS = 2
    asked: list[dict] = []
    monkeypatch.setattr(notifications.send_due_deliveries, "delay",
                        lambda **kwargs: asked.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(users=[store_manager], title="一条")
    assert asked == [{"part": 0, "parts": 1}]
    asked.clear()
    burst = [notifications.Message(users=[store_manager], title=f"提醒 {i}")
             for i in range(delivery.CLAIM_BATCH + 1)]
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notifications_send(messages=burst)
    assert asked == [{"part": 0, "parts": 2}, {"part": 1, "parts": 2}]


@pytest.mark.django_db
def test_a_sender_starts_on_its_share_of_the_batches_then_takes_what_is_left(backend,
                                                                             monkeypatch):
    ids = _queue(5 * delivery.CLAIM_BATCH)
    batch_of = {pk: i // delivery.CLAIM_BATCH for i, pk in enumerate(ids)}
    claimed: list[int] = []
    claim = delivery._claim

    def recording(**kwargs):
        rows = claim(**kwargs)
        claimed.extend(sorted({batch_of[row.pk] for row in rows}))
        return rows

    monkeypatch.setattr(delivery, "_claim", recording)
    result = delivery.deliveries_send_due(part=1, parts=2)
    assert claimed == [1, 3, 0, 2, 4]  # its share first (every second batch from the second)
    assert result.sent == 5 * delivery.CLAIM_BATCH
    assert _keys_sent() == Counter(_all_keys())  # every row once


@pytest.mark.django_db
def test_a_sender_whose_share_is_empty_still_sends_what_is_due(backend):
    _queue(3)  # one batch: sender 1 of 2 has no share of it (the other was lost)
    assert delivery.deliveries_send_due(part=1, parts=2).sent == 3
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()


def test_a_sender_outside_its_parts_is_refused():
    with pytest.raises(ValueError, match="sender 2 of 2"):
        delivery.deliveries_send_due(part=2, parts=2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_senders_share_a_burst_and_send_each_row_once(backend):
    rows = 6 * delivery.CLAIM_BATCH
    _queue(rows)
    backend.before_send = lambda message: time.sleep(0.005)  # a share takes 0.3 s: they overlap
    outcomes = run_concurrently(*(partial(delivery.deliveries_send_due, part=part, parts=2)
                                  for part in range(2)))
    results = [outcome.get() for outcome in outcomes]
    assert sum(r.sent for r in results) == rows
    assert all(r.sent >= delivery.CLAIM_BATCH for r in results)  # both sent a share
    assert _keys_sent() == Counter(_all_keys())  # every row once, none twice
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()
