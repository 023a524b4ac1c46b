"""The notification outbox: every e-mail and webhook call is written with the in-app rows and
sent by the sweep, at least once, with retries, a final failure HQ can resend, and an
idempotency key a receiver can use to drop a repeat."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import partial
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from complaints import services as complaint_services
from complaints import tasks as complaint_tasks
from complaints.models import SlaAlert
from satisfaction import delivery, notifications, tasks
from satisfaction.celery import app
from satisfaction.errors import ApplicationError
from satisfaction.models import Delivery, DeliveryChannel, DeliveryState, Notification
from satisfaction.notifications import Message, delivery_resend, notification_send
from tests.complaints.factories import make_complaint
from tests.concurrency import run_concurrently
from tests.webhooks import WebhookReceiver


class BrokenEmailBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise SMTPServerDisconnected("Connection unexpectedly closed")


class SlowLocmemBackend(LocmemBackend):
    """locmem (one list shared by every thread), but slow enough for two sweeps to overlap."""

    def send_messages(self, messages):
        time.sleep(0.02)
        return super().send_messages(messages)


def _keys_in_outbox() -> list[str]:
    return [m.extra_headers["X-Idempotency-Key"] for m in mail.outbox]


@pytest.fixture
def eager():
    """Tasks run in-process, as on a laptop without a broker (also in the Redis test pass)."""
    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def no_kick(monkeypatch):
    """Only the sweeps a test runs itself send (no sweep kicked by a commit)."""
    monkeypatch.setattr(notifications, "_kick_sweep", lambda **_: None)


@pytest.fixture
def robot(settings):
    with WebhookReceiver() as receiver:
        settings.NOTIFICATION_WEBHOOK_URL = receiver.url
        yield receiver


# --- Writing: the outbox rows come with the in-app rows -------------------------------------

@pytest.mark.django_db
def test_notification_send_writes_outbox_rows_with_the_in_app_rows(store_manager, clerk, robot,
                                                                   emails):
    clerk.email = ""
    clerk.save(update_fields=["email"])
    with transaction.atomic():
        ids = notification_send(users=[store_manager, clerk], title="提醒", body="正文",
                                url="/complaints/1/", kind="test", webhook=True)
    assert Notification.objects.filter(pk__in=ids).count() == 2
    rows = list(Delivery.objects.order_by("channel"))
    assert [(r.channel, r.user, r.address, r.state, r.attempts) for r in rows] == [
        ("email", store_manager, "store1@example.com", "pending", 0),
        ("webhook", None, robot.url, "pending", 0)]
    assert rows[0].idempotency_key != rows[1].idempotency_key
    assert rows[1].recipient_display == "127.0.0.1"  # never the robot's key


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_outbox_rows(store_manager, robot, emails):
    def change_that_fails():
        with transaction.atomic():
            notification_send(users=[store_manager], title="提醒", webhook=True)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert not Delivery.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_without_a_webhook_url_or_email_nothing_is_queued(settings, store_manager, emails):
    settings.NOTIFICATION_WEBHOOK_URL = ""
    notification_send(users=[store_manager], title="提醒", email=False, webhook=True)
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_a_commit_kicks_the_sweep_which_sends_at_once_in_eager_mode(
        store_manager, robot, emails, django_capture_on_commit_callbacks, eager):
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(users=[store_manager], title="提醒", body="正文", url="/x/",
                          webhook=True)
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 2
    [message] = mail.outbox
    key = str(Delivery.objects.get(channel="email").idempotency_key)
    assert message.to == ["store1@example.com"]
    assert message.extra_headers["X-Idempotency-Key"] == key
    assert message.message()["Message-ID"] == f"<{key}@127.0.0.1>"
    assert "http://127.0.0.1:8000/x/" in message.body
    hook_key = str(Delivery.objects.get(channel="webhook").idempotency_key)
    assert robot.keys == [hook_key]
    assert robot.bodies[0]["idempotency_key"] == hook_key
    assert robot.bodies[0]["msgtype"] == "markdown"


@pytest.mark.django_db
def test_in_eager_mode_the_senders_of_a_burst_send_it_all_once(
        settings, store_manager, emails, django_capture_on_commit_callbacks, eager):
    settings.DELIVERY_SENDERS = 2
    burst = [Message(users=[store_manager], title=f"提醒 {i}")
             for i in range(3 * delivery.CLAIM_BATCH)]  # two senders asked for
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notifications_send(messages=burst)
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()
    assert sorted(_keys_in_outbox()) == sorted(
        str(k) for k in Delivery.objects.values_list("idempotency_key", flat=True))


# --- A broker that is down loses nothing --------------------------------------------------------

@pytest.mark.django_db
def test_a_broker_that_is_down_loses_no_alert_delivery(store, store_manager, region_manager, hq,
                                                       robot, emails, monkeypatch,
                                                       django_capture_on_commit_callbacks,
                                                       caplog):
    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:9. Connection refused.")

    monkeypatch.setattr(tasks.send_due_deliveries, "delay", broker_down)
    now = timezone.now()
    first = make_complaint(store, received_at=now - timedelta(hours=30))
    second = make_complaint(store, received_at=now - timedelta(hours=30),
                            customer_phone="13900001111")
    with django_capture_on_commit_callbacks(execute=True):
        result = complaint_tasks.sla_sweep()  # the beat task: records and hands over
    # warn + level 1 + level 2 for each: recorded and handed over (sent_at) ...
    assert result["recorded"] == result["delivered"] == 6
    assert not SlaAlert.objects.filter(complaint__in=[first, second], sent_at__isnull=True)
    assert "could not queue the delivery sweep" in caplog.text
    # ... and their e-mails and webhook calls wait in the outbox instead of being lost:
    # warn → store manager, level 1 → store manager, level 2 → region manager; 2 webhooks each.
    pending = Delivery.objects.filter(state=DeliveryState.PENDING)
    assert pending.filter(channel=DeliveryChannel.EMAIL).count() == 6
    assert pending.filter(channel=DeliveryChannel.WEBHOOK).count() == 4
    assert not mail.outbox
    assert not robot.keys
    # The next sweep (beat, every minute, once the broker is back) sends every one of them.
    assert tasks.send_due_deliveries() == {"claimed": 10, "sent": 10, "retrying": 0, "failed": 0}
    assert sorted(_keys_in_outbox() + robot.keys) == sorted(
        str(k) for k in Delivery.objects.values_list("idempotency_key", flat=True))
    assert sorted(m.to[0] for m in mail.outbox) == ["region1@example.com"] * 2 + [
        "store1@example.com"] * 4


# --- Retries, final failure, resend ---------------------------------------------------------------

def test_retries_wait_1_2_4_8_minutes_capped_at_an_hour():
    minutes = [delivery.retry_delay(n).total_seconds() / 60 for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


@pytest.mark.django_db
def test_a_failing_delivery_backs_off_then_fails_after_the_last_try(settings, store_manager,
                                                                     emails):
    settings.EMAIL_BACKEND = "tests.satisfaction.test_outbox.BrokenEmailBackend"
    settings.DELIVERY_MAX_ATTEMPTS = 4
    notification_send(users=[store_manager], title="提醒")
    row = Delivery.objects.get()
    now = timezone.now() + timedelta(seconds=1)
    waits = []
    for attempt in range(1, 5):
        result = delivery.deliveries_send_due(now=now)
        assert result.claimed == 1
        row.refresh_from_db()
        assert row.attempts == attempt
        assert row.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
        if attempt < 4:
            assert row.state == DeliveryState.PENDING
            waits.append(row.next_attempt_at - now)
            # Not due before its time: a sweep a moment earlier leaves it alone.
            assert delivery.deliveries_send_due(
                now=row.next_attempt_at - timedelta(seconds=1)).claimed == 0
            now = row.next_attempt_at
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert row.state == DeliveryState.FAILED
    assert delivery.deliveries_send_due(now=now + timedelta(days=1)).claimed == 0


@pytest.mark.django_db
def test_a_robot_error_code_is_a_failed_try(settings, store_manager):
    with WebhookReceiver(reply=b'{"errcode": 93000, "errmsg": "invalid webhook url"}') as bad:
        settings.NOTIFICATION_WEBHOOK_URL = bad.url
        notification_send(users=[store_manager], title="升级", email=False, webhook=True)
        result = delivery.deliveries_send_due()
    assert result.retrying == 1
    row = Delivery.objects.get()
    assert row.state == DeliveryState.PENDING
    assert row.last_error == "WebhookRefusedError: errcode 93000: invalid webhook url"


@pytest.mark.django_db
def test_hq_resends_failed_deliveries_to_the_current_address(settings, store_manager, hq, emails,
                                                             robot):
    notification_send(users=[store_manager], title="提醒", webhook=True)
    Delivery.objects.update(state=DeliveryState.FAILED, attempts=8, last_error="boom",
                            address="http://old.invalid/")
    with pytest.raises(ApplicationError) as refused:
        delivery_resend(user=store_manager)
    assert refused.value.status == 403
    assert delivery_resend(user=hq) == 2
    rows = {row.channel: row for row in Delivery.objects.all()}
    assert {(r.state, r.attempts) for r in rows.values()} == {("pending", 0)}
    assert rows["email"].address == "store1@example.com"  # the user's address now
    assert rows["webhook"].address == robot.url  # the webhook configured now
    assert delivery.deliveries_send_due().sent == 2
    assert delivery_resend(user=hq) == 0  # nothing failed any more


@pytest.mark.django_db
def test_the_deliveries_page_shows_the_outbox_and_resends(login, hq, store_manager, emails,
                                                          settings):
    settings.EMAIL_BACKEND = "tests.satisfaction.test_outbox.BrokenEmailBackend"
    settings.DELIVERY_MAX_ATTEMPTS = 1
    notification_send(users=[store_manager], title="投诉提醒 A")
    notification_send(users=[store_manager, hq], title="投诉提醒 B")
    delivery.deliveries_send_due(limit=1)  # A: its only try fails
    client = login(hq)
    page = client.get("/notifications/deliveries/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert page.context["summary"]["pending"] == 2
    assert page.context["summary"]["failed"] == 1
    text = page.content.decode()
    assert "投诉提醒 A" in text
    assert "SMTPServerDisconnected" in text
    failed = Delivery.objects.get(state=DeliveryState.FAILED)
    response = client.post("/notifications/deliveries/", {"id": failed.pk})
    assert response.status_code == 302
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 3
    assert login(store_manager).get("/notifications/deliveries/").status_code == 403
    chinese = client.get("/notifications/deliveries/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "邮件与 Webhook 投递" in chinese.content.decode()
    assert "待发送" in chinese.content.decode()


@pytest.mark.django_db
def test_only_hq_finds_the_outbox_through_the_setup_menu(login, hq, store_manager, hr):
    assert 'href="/setup/"' in login(hq).get("/notifications/").content.decode()
    assert 'href="/notifications/deliveries/"' in login(hq).get("/setup/").content.decode()
    for user in (store_manager, hr):
        client = login(user)
        assert 'href="/setup/"' not in client.get("/notifications/").content.decode()
        assert client.get("/setup/").status_code == 403


@pytest.mark.django_db
def test_healthz_reports_the_outbox_without_failing(store_manager, emails):
    notification_send(users=[store_manager], title="提醒")
    Delivery.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    body = Client().get("/healthz").json()
    assert body["status"] == "ok"
    assert body["deliveries"]["pending"] == 1
    assert body["deliveries"]["failed"] == 0
    assert 299 <= body["deliveries"]["oldest_pending_seconds"] <= 330


# --- Crashes --------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_worker_killed_mid_send_leaves_the_row_pending_until_its_lease_ends(
        settings, store_manager, emails):
    settings.DELIVERY_LEASE_SECONDS = 300
    notification_send(users=[store_manager], title="提醒")
    now = timezone.now() + timedelta(seconds=1)
    # A worker claims it ... and dies before sending.
    assert len(delivery._claim(ids=delivery._due_ids(limit=10, now=now), now=now)) == 1
    row = Delivery.objects.get()
    assert (row.state, row.attempts) == (DeliveryState.PENDING, 1)
    assert delivery.deliveries_send_due(now=now + timedelta(seconds=299)).claimed == 0
    assert delivery.deliveries_send_due(now=now + timedelta(seconds=300)).sent == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_row_whose_last_try_was_lost_is_marked_failed(settings, store_manager, emails):
    settings.DELIVERY_MAX_ATTEMPTS = 2
    notification_send(users=[store_manager], title="提醒")
    Delivery.objects.update(attempts=2, next_attempt_at=timezone.now() - timedelta(minutes=1))
    assert delivery.deliveries_send_due().failed == 1
    row = Delivery.objects.get()
    assert row.state == DeliveryState.FAILED
    assert "worker was lost" in row.last_error
    assert not mail.outbox


@pytest.mark.django_db
def test_an_old_task_still_queued_at_deploy_time_moves_into_the_outbox_once(store_manager,
                                                                           emails):
    [note_id] = notification_send(users=[store_manager], title="提醒", email=False)
    for _ in range(2):  # the same message delivered twice by the broker
        tasks.notification_email.apply(args=[note_id], task_id="old-task-1")
    row = Delivery.objects.get()
    assert (row.channel, row.address, row.title) == ("email", "store1@example.com", "提醒")


@pytest.mark.django_db
def test_sent_rows_are_purged_after_the_keep_days(settings, store_manager, emails):
    settings.DELIVERY_KEEP_DAYS = 30
    notification_send(users=[store_manager], title="old")
    notification_send(users=[store_manager], title="failed")
    notification_send(users=[store_manager], title="new")
    Delivery.objects.exclude(title="new").update(
        created_at=timezone.now() - timedelta(days=31))
    Delivery.objects.filter(title="failed").update(state=DeliveryState.FAILED)
    Delivery.objects.filter(title__in=["old", "new"]).update(state=DeliveryState.SENT)
    assert tasks.purge_sent_deliveries() == 1
    assert sorted(Delivery.objects.values_list("title", flat=True)) == ["failed", "new"]


# --- Bulk ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_alerts_are_handed_over_with_a_few_bulk_inserts(store, store_manager, region_manager, hq,
                                                        emails, robot):
    received = timezone.now() - timedelta(hours=30)
    for i in range(40):
        make_complaint(store, received_at=received, customer_phone=f"1390000{i:04d}")
    result = complaint_services.sla_sweep(deliver=False)
    assert result.recorded == 120
    with CaptureQueriesContext(connection) as queries:
        assert complaint_services.sla_alerts_deliver(alert_ids=result.alert_ids) == 120
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    # A bulk INSERT per table (SQLite splits one at its parameter limit), not one per alert
    # (120) or per row (120 in-app + 200 outbox).
    assert len(inserts) == (2 if connection.vendor == "postgresql" else 4)
    assert Notification.objects.filter(kind__startswith="complaint_").exclude(
        kind="complaint_new").count() == 120
    assert Delivery.objects.filter(channel="email").count() == 120
    assert Delivery.objects.filter(channel="webhook").count() == 80


@pytest.mark.django_db
def test_notifications_send_keeps_each_message_apart(store_manager, hq, emails):
    from satisfaction.notifications import notifications_send

    ids = notifications_send(messages=[
        Message(users=[store_manager], title="一", kind="a"),
        Message(users=[store_manager, hq], title="二", kind="b", email=False)])
    assert len(ids) == 3
    assert list(Delivery.objects.values_list("title", "address")) == [
        ("一", "store1@example.com")]


# --- Two sweeps at once (PostgreSQL) ----------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_send_each_row_once(settings, store_manager, emails, robot,
                                                  no_kick):
    settings.EMAIL_BACKEND = "tests.satisfaction.test_outbox.SlowLocmemBackend"
    for i in range(30):
        notification_send(users=[store_manager], title=f"提醒 {i}", webhook=i % 3 == 0)
    expected = {str(k) for k in Delivery.objects.values_list("idempotency_key", flat=True)}
    assert len(expected) == 40
    outcomes = run_concurrently(partial(delivery.deliveries_send_due, limit=1000), times=2)
    results = [outcome.get() for outcome in outcomes]
    assert sum(r.sent for r in results) == 40
    received = _keys_in_outbox() + robot.keys
    assert sorted(received) == sorted(expected)  # every row once, none twice
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 40


@pytest.mark.django_db
def test_the_admin_lists_deliveries_read_only_and_resends(login, hq, store_manager, emails):
    notification_send(users=[store_manager], title="提醒")
    row = Delivery.objects.get()
    Delivery.objects.update(state=DeliveryState.FAILED, attempts=8)
    client = login(hq)
    assert client.get("/admin/satisfaction/delivery/").status_code == 200
    assert client.get("/admin/satisfaction/delivery/add/").status_code == 403
    response = client.post("/admin/satisfaction/delivery/",
                           {"action": "resend", "_selected_action": [row.pk]})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DeliveryState.PENDING, 0)
