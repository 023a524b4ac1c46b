"""The outbox: sending the e-mails and webhook calls that notifications owe.

``satisfaction.notifications.notification_send`` writes one ``Delivery`` row per e-mail and
webhook call in the same transaction as the in-app rows; nothing is sent from there. This module
sends them: ``deliveries_send_due`` (run every minute by beat, and kicked after each
notification commits for low latency) claims due pending rows in batches and sends each one.

- **Claim.** One unlocked read lists the due pending rows, oldest due first. Then, per batch of
  ``CLAIM_BATCH`` of them, a short transaction locks those still due that others have not
  locked (``SELECT … FOR UPDATE SKIP LOCKED``, so two sweeps never claim the same row), counts
  the attempt and leases the rows by moving ``next_attempt_at`` ``DELIVERY_LEASE_SECONDS``
  ahead, and commits. The sending happens outside any transaction.
- **Send.** A batch's e-mails go out on one connection of the e-mail backend, one message per
  row. The rows sent are marked ``sent`` together, in one UPDATE committed at once: when the
  batch is done (in the same statement as the next batch's claim, so a burst costs one round
  trip per batch, not two), and sooner once ``MARK_EVERY_SECONDS`` have passed since the last
  mark (a slow mail server). A webhook call is marked at once (with the e-mails before it):
  group robots ignore our key, so a repeat would reach the group. A failure schedules the next
  try after 1, 2, 4, 8 … minutes (capped), and after ``DELIVERY_MAX_ATTEMPTS`` tries marks the row
  ``failed``; it does not hold up the rest of the batch.
- **Senders.** A burst is sent by up to ``DELIVERY_SENDERS`` sweeps at once, one per process of
  the alerts worker: the commit that wrote the rows asks for ``senders_for(rows)`` of them.
  Each starts on its own share of the due batches (sender ``part`` of ``parts`` takes every
  ``parts``-th), then, like any sweep, takes whatever is still due, so a sender that is late
  or lost delays nothing for long. Two senders never send the same row (the claim above);
  where both reach a batch at once, the later one's claim comes back empty and it moves on.
- **Crash.** A worker killed mid-batch leaves its rows ``pending``; they are due again when the
  lease runs out. Delivery is therefore at least once: a killed worker repeats the rows of its
  batch sent since the last mark, at most ``CLAIM_BATCH`` (20), of them at most one webhook
  call (the one in flight). A worker stopped by an exception marks what it sent first. Every
  e-mail (``Message-ID``, ``X-Idempotency-Key``) and webhook call (``Idempotency-Key``
  header, ``idempotency_key`` in the JSON body) carries its row's key, one per row, so a
  receiver can drop the repeat.

Also here: what HQ's page and ``/healthz`` read about the outbox, and the purge of old rows.
Nothing here imports ``satisfaction.notifications`` or the tasks (they import this module).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, transaction
from django.db import connection as database
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from satisfaction.models import Delivery, DeliveryChannel, DeliveryState, Notification

logger = logging.getLogger(__name__)

#: Rows claimed per short transaction (fewer when the lease could not cover that many sends);
#: also the most e-mails a killed worker sends again (a batch's are marked sent together).
CLAIM_BATCH = 20
#: A batch's rows sent are marked sent at the latest this long after the previous mark.
MARK_EVERY_SECONDS = 1.0


class WebhookRefusedError(Exception):
    """The robot answered, but with an error code (WeCom / DingTalk answer 200 + errcode)."""


# --- Sending one row --------------------------------------------------------------------------

def absolute_link(url: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{url}" if url.startswith("/") else url


def email_message(delivery: Delivery, *, connection=None) -> EmailMessage:
    """The e-mail of one row; its Message-ID is the idempotency key, so a mail system (or a
    person) can tell a repeat after a crash from a new message."""
    domain = urlsplit(settings.PUBLIC_BASE_URL).hostname or "localhost"
    key = str(delivery.idempotency_key)
    text = "\n\n".join(part for part in (delivery.body, absolute_link(delivery.url)) if part)
    return EmailMessage(
        subject=" ".join(delivery.title.split()), body=text, to=[delivery.address],
        connection=connection,
        headers={"Message-ID": f"<{key}@{domain}>", "X-Idempotency-Key": key})


def webhook_payload(title: str, body: str, url: str, *, idempotency_key: str = "") -> dict:
    """Markdown message that both WeCom and DingTalk group robots accept, plus our key (robots
    ignore it; a receiver of our own drops a repeated key)."""
    link = absolute_link(url)
    text = f"**{title}**\n\n{body}" + (f"\n\n[{link}]({link})" if link else "")
    payload: dict = {"msgtype": "markdown",
                     "markdown": {"title": title, "text": text, "content": text}}
    if idempotency_key:
        payload["idempotency_key"] = idempotency_key
    return payload


def webhook_post(delivery: Delivery) -> None:
    """POST one row to its webhook; raises on a network error, an HTTP error or a robot's
    error code."""
    if urlsplit(delivery.address).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {delivery.recipient_display}")
    key = str(delivery.idempotency_key)
    data = json.dumps(webhook_payload(delivery.title, delivery.body, delivery.url,
                                      idempotency_key=key)).encode()
    request = urllib.request.Request(  # noqa: S310 - http(s) only, the operator's robot
        delivery.address, data=data, method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": key})
    with urllib.request.urlopen(  # noqa: S310
            request, timeout=settings.DELIVERY_SEND_TIMEOUT_SECONDS) as response:
        raw = response.read()
    try:
        reply = json.loads(raw or b"null")
    except ValueError:
        return  # not a robot: a plain 2xx is success
    if isinstance(reply, dict) and reply.get("errcode") not in (None, 0):
        raise WebhookRefusedError(f"errcode {reply.get('errcode')}: {reply.get('errmsg', '')}")


# --- The sweep --------------------------------------------------------------------------------

@dataclass
class SendResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0  # failed this time, due again later
    failed: int = 0  # out of attempts

    def as_dict(self) -> dict:
        return asdict(self)


def retry_delay(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed try: 1, 2, 4, 8 … minutes, capped."""
    seconds = settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** max(0, min(attempts - 1, 30))
    return timedelta(seconds=min(seconds, settings.DELIVERY_RETRY_MAX_SECONDS))


def senders_for(rows: int) -> int:
    """How many sweeps to ask for at once to send ``rows`` new rows: one per claim batch, at
    most ``DELIVERY_SENDERS`` (a second sender for a single batch would only find it taken)."""
    return max(1, min(settings.DELIVERY_SENDERS, -(-rows // CLAIM_BATCH)))


def deliveries_send_due(*, limit: int | None = None, now: datetime | None = None,
                        part: int = 0, parts: int = 1) -> SendResult:
    """Send up to ``limit`` (``DELIVERY_SWEEP_LIMIT``) due pending deliveries; safe to run in
    any number of workers at once (each row is claimed by one of them). ``part`` of ``parts``:
    one of several senders asked for together (``senders_for``), which first takes every
    ``parts``-th batch from the ``part``-th on, then whatever is still due. ``now`` fixes the
    clock (tests)."""
    if not 0 <= part < parts:
        raise ValueError(f"sender {part} of {parts}")
    limit = settings.DELIVERY_SWEEP_LIMIT if limit is None else limit
    result = SendResult()
    clock = (lambda: now) if now is not None else timezone.now
    timeout = settings.DELIVERY_SEND_TIMEOUT_SECONDS
    batch = max(1, min(CLAIM_BATCH, settings.DELIVERY_LEASE_SECONDS // timeout))
    # The rows the last batch sent and did not mark yet: the next claim marks them, in the
    # same statement (nothing is sent in between, so a killed worker repeats no more).
    sent: list[int] = []
    share = parts > 1  # the first round: this sender's share of the batches only
    with _asynchronous_commits():
        try:
            while result.claimed < limit:
                due = _due_ids(limit=limit - result.claimed, now=clock())
                batches = [due[start:start + batch] for start in range(0, len(due), batch)]
                if share:
                    batches = batches[part::parts]
                claimed_before = result.claimed
                for ids in batches:
                    rows = _claim(ids=ids, now=clock(), sent=sent)
                    sent = []
                    if rows:
                        result.claimed += len(rows)
                        sent = _send(rows, clock=clock, result=result)
                if not due or (result.claimed == claimed_before and not share):
                    break  # nothing due, or other workers claimed it all first
                share = False
        finally:
            _mark_sent(sent, clock())
    return result


def _due_ids(*, limit: int, now: datetime) -> list[int]:
    """Up to ``limit`` due pending rows' ids, oldest due first, read without locks (``_claim``
    takes each row that is still due). One ordered read per round, not one per batch: a burst
    of 1,000 rows is not sorted again for each 20 claimed."""
    return list(Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def _claim(*, ids: list[int], now: datetime, sent: Sequence[int] = ()) -> list[Delivery]:
    """Mark ``sent`` (the previous batch's rows) sent; of ``ids``, lock the rows still due and
    pending that others have not locked, count the attempt, lease them; commit. Returns them
    in id order.

    On PostgreSQL one statement, committed on its own, its rows built straight from what it
    returns: one round trip per claim, the previous batch's mark included (``_mark_sent``'s
    UPDATE as a data-modifying CTE: other rows than the claim's, committed with it). It locks
    by primary key alone (``FOR UPDATE SKIP LOCKED``) and checks the locked rows' state and
    due time after: a condition on them inside the locking query lets the planner pick the
    pending-rows index, which it believes tiny right after a burst was written, and scan every
    due row for each batch."""
    lease_until = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    if database.vendor == "postgresql" and not database.in_atomic_block:
        table = Delivery._meta.db_table  # noqa: SLF001 - the model's documented metadata
        fields = Delivery._meta.concrete_fields  # noqa: SLF001
        mark_sql, mark_params = _mark_sent_statement(sent, now)
        with database.cursor() as cursor:
            cursor.execute(
                f"WITH marked AS ({mark_sql}), "  # noqa: S608
                f"locked AS MATERIALIZED (SELECT id, state, next_attempt_at "
                f"FROM {table} WHERE id = ANY(%s::bigint[]) FOR UPDATE SKIP LOCKED) "
                f"UPDATE {table} AS d SET attempts = d.attempts + 1, next_attempt_at = %s "
                f"FROM locked WHERE d.id = locked.id AND locked.state = %s "
                f"AND locked.next_attempt_at <= %s "
                f"RETURNING {', '.join(f'd.{f.column}' for f in fields)}",
                [*mark_params, ids, lease_until, DeliveryState.PENDING, now])
            names = [f.attname for f in fields]
            rows = [Delivery.from_db(database.alias, names, values)
                    for values in cursor.fetchall()]
        rows.sort(key=lambda row: row.pk)
        return rows
    _mark_sent(sent, now)
    with transaction.atomic():
        rows = list(Delivery.objects.select_for_update(skip_locked=True)
                    .filter(pk__in=ids, state=DeliveryState.PENDING, next_attempt_at__lte=now)
                    .order_by("pk"))
        if not rows:
            return []
        Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
            attempts=F("attempts") + 1, next_attempt_at=lease_until)
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = lease_until
    return rows


def _mark_sent(ids: list[int], now: datetime) -> None:
    """Mark rows sent: one statement, committed at once (outside the claim's transaction).
    No condition on their state: whatever happened to a row meanwhile (its lease ran out and
    another worker took it), it has been sent. That also keeps the statement on the primary
    key (a state condition lets the planner scan the pending-rows index instead)."""
    if not ids:
        return
    if database.vendor == "postgresql":
        with database.cursor() as cursor:
            cursor.execute(*_mark_sent_statement(ids, now))
        return
    Delivery.objects.filter(pk__in=ids).update(state=DeliveryState.SENT, sent_at=now)


def _mark_sent_statement(ids: Sequence[int], now: datetime) -> tuple[str, list]:
    """The "sent" mark on PostgreSQL, its SQL and parameters: ``_mark_sent`` runs it alone,
    ``_claim`` inside the next batch's claim."""
    table = Delivery._meta.db_table  # noqa: SLF001 - the model's documented metadata
    sql = f"UPDATE {table} SET state = %s, sent_at = %s WHERE id = ANY(%s::bigint[])"  # noqa: S608
    return sql, [DeliveryState.SENT, now, list(ids)]


@contextmanager
def _asynchronous_commits():
    """While sending, the claim and "sent" commits do not wait for the WAL flush
    (``synchronous_commit = off`` for this session, restored afterwards). Each still commits
    at once and in order, so what a killed worker repeats stays as bounded above; only a crash
    of the database server itself may forget the last few hundred milliseconds of them, and
    then those rows are sent again under the same idempotency key (at least once, as always).
    It takes the fsync off each claim and mark (about 50 commits for a burst of 1,000
    e-mails)."""
    if database.vendor != "postgresql" or database.in_atomic_block:
        yield
        return
    with database.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        try:
            with database.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:  # the connection broke: the setting went with it
            logger.warning("delivery: could not reset synchronous_commit", exc_info=True)


def _send(rows: list[Delivery], *, clock, result: SendResult) -> list[int]:
    """Send one claimed batch: its e-mails on one connection of the e-mail backend, one
    message per row; the rows sent marked sent together (see the module's docstring for when).
    Returns the ids of those sent since the last mark, for the caller to mark with its next
    claim; marks them itself before raising."""
    connection, connection_error = None, None
    if any(row.channel == DeliveryChannel.EMAIL for row in rows):
        connection = get_connection()
        try:
            connection.open()
        except Exception as exc:  # noqa: BLE001 - recorded on each e-mail row below
            connection, connection_error = None, exc
    unmarked: list[int] = []
    marked_at = time.monotonic()

    def mark() -> None:
        nonlocal unmarked, marked_at
        _mark_sent(unmarked, clock())
        unmarked, marked_at = [], time.monotonic()

    try:
        for row in rows:
            if row.attempts > settings.DELIVERY_MAX_ATTEMPTS:
                # Its last try never reported back (the worker died while sending it).
                _failed(row, "the worker was lost during the last attempt", clock(), result)
                continue
            try:
                _send_one(row, connection=connection, connection_error=connection_error)
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then reported
                _failed(row, f"{exc.__class__.__name__}: {exc}", clock(), result)
            else:
                unmarked.append(row.pk)
                result.sent += 1
            if unmarked and (row.channel == DeliveryChannel.WEBHOOK
                             or time.monotonic() - marked_at >= MARK_EVERY_SECONDS):
                mark()
    except BaseException:
        mark()  # an error escapes: what was sent is not sent again
        raise
    finally:
        if connection is not None:
            connection.close()
    return unmarked


def _send_one(row: Delivery, *, connection, connection_error: Exception | None) -> None:
    if row.channel == DeliveryChannel.WEBHOOK:
        webhook_post(row)
    elif connection_error is not None:
        raise connection_error
    else:
        connection.send_messages([email_message(row)])


def _failed(row: Delivery, error: str, now: datetime, result: SendResult) -> None:
    error = error[:2000]
    # Only the claim this worker made (a row whose lease ran out may be someone else's now).
    mine = Delivery.objects.filter(pk=row.pk, state=DeliveryState.PENDING,
                                   attempts=row.attempts)
    if row.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        mine.update(state=DeliveryState.FAILED, last_error=error)
        result.failed += 1
        logger.error("delivery %s (%s to %s) failed after %s attempts: %s", row.pk,
                     row.channel, row.recipient_display, row.attempts, error)
    else:
        mine.update(next_attempt_at=now + retry_delay(row.attempts), last_error=error)
        result.retrying += 1
        logger.warning("delivery %s (%s to %s), attempt %s: %s", row.pk, row.channel,
                       row.recipient_display, row.attempts, error)


# --- Reads: HQ's page and /healthz ------------------------------------------------------------

def deliveries_summary(*, now: datetime | None = None) -> dict:
    """Pending and failed counts per channel, and the age of the oldest pending row (one
    query: HQ's page and ``/healthz`` read it)."""
    now = now or timezone.now()
    pending, failed = Q(state=DeliveryState.PENDING), Q(state=DeliveryState.FAILED)
    rows = {row["channel"]: row for row in (
        Delivery.objects.filter(pending | failed).order_by().values("channel")
        .annotate(pending=Count("pk", filter=pending), failed=Count("pk", filter=failed),
                  oldest=Min("created_at", filter=pending)))}
    none = {"pending": 0, "failed": 0}
    channels = [{"channel": channel, "label": label, "pending": rows.get(channel, none)["pending"],
                 "failed": rows.get(channel, none)["failed"]}
                for channel, label in DeliveryChannel.choices]
    oldest = min((row["oldest"] for row in rows.values() if row["oldest"] is not None),
                 default=None)
    return {
        "channels": channels,
        "pending": sum(c["pending"] for c in channels),
        "failed": sum(c["failed"] for c in channels),
        "oldest_pending_at": oldest,
        "oldest_pending_seconds": max(0, int((now - oldest).total_seconds())) if oldest else 0,
    }


def deliveries_failed(*, limit: int = 100) -> list[Delivery]:
    return list(Delivery.objects.filter(state=DeliveryState.FAILED)
                .select_related("user").order_by("-created_at", "-pk")[:limit])


# --- Upkeep ------------------------------------------------------------------------------------

def deliveries_purge_sent(*, now: datetime | None = None) -> int:
    """Delete sent rows older than ``DELIVERY_KEEP_DAYS`` (pending and failed ones stay)."""
    before = (now or timezone.now()) - timedelta(days=settings.DELIVERY_KEEP_DAYS)
    deleted, _ = Delivery.objects.filter(state=DeliveryState.SENT, created_at__lt=before).delete()
    return deleted


def legacy_task_enqueue(*, key: uuid.UUID, notification_id: int | None = None,
                        title: str = "", body: str = "", url: str = "") -> None:
    """Move a message queued before the outbox existed (``notification_email`` /
    ``notification_webhook`` tasks still in the broker at deploy time) into the outbox. ``key``
    comes from the task's id, so a redelivered task adds nothing."""
    if notification_id is not None:
        note = Notification.objects.select_related("user").filter(pk=notification_id).first()
        if note is None or not note.user.email:
            return
        row = Delivery(channel=DeliveryChannel.EMAIL, user=note.user, address=note.user.email,
                       title=note.title, body=note.body, url=note.url, kind=note.kind,
                       idempotency_key=key)
    else:
        if not settings.NOTIFICATION_WEBHOOK_URL:
            return
        row = Delivery(channel=DeliveryChannel.WEBHOOK, address=settings.NOTIFICATION_WEBHOOK_URL,
                       title=title[:200], body=body, url=url, idempotency_key=key)
    Delivery.objects.bulk_create([row], ignore_conflicts=True)
