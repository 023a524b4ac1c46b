"""SLA alerts: the sweep that records every alert that has come due (each exactly once), the
alert messages, and their delivery."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints import sla
from complaints.models import (
    OPEN_STATUSES,
    AlertKind,
    Category,
    Complaint,
    ComplaintKind,
    ComplaintPolicy,
    RecurrenceCheck,
    SlaAlert,
)
from complaints.selectors import grade_policies_for, policy_of
from satisfaction.notifications import Message, notifications_send

from ._common import _escalation_interval
from .recipients import _detail_urls, _recipients

# --- Alert messages ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _AlertTexts:
    """The alert titles per kind, the bodies and the category labels, translated once (a
    batch of 1,000 alerts formats them 1,000 times; gettext per alert was a third of its
    cost)."""

    titles: dict[str, str]
    body: str
    internal_body: str
    categories: dict[str, str]


def _alert_texts() -> _AlertTexts:
    return _AlertTexts(
        titles={
            AlertKind.FIRST_RESPONSE: _("Complaint %(ticket)s has had no first response yet"),
            AlertKind.WARN: _("Complaint %(ticket)s is due at %(due)s"),
            AlertKind.ESCALATE: _("Complaint %(ticket)s is overdue: escalation level "
                                  "%(level)s"),
            AlertKind.RECURRENCE: _("Complaint %(ticket)s: %(level)s days after closing, "
                                    "confirm the problem has not recurred"),
        },
        body=_("%(store)s · %(category)s · grade %(grade)s · due %(due)s"),
        # An internal complaint names the department it is about, not a category and grade.
        internal_body=_("%(store)s → %(department)s · due %(due)s"),
        categories={value: str(label) for value, label in Category.choices})


def _alert_message(complaint: Complaint, kind: str, level: int,
                   texts: _AlertTexts | None = None) -> tuple[str, str]:
    texts = texts or _alert_texts()
    due = timezone.localtime(complaint.due_at).strftime("%Y-%m-%d %H:%M") \
        if complaint.due_at else "-"
    context = {"ticket": complaint.ticket_no, "store": complaint.store.name, "due": due,
               "level": level}
    if complaint.kind == ComplaintKind.INTERNAL:
        return texts.titles[kind] % context, texts.internal_body % {
            **context, "department": str(complaint.department)}
    return texts.titles[kind] % context, texts.body % {
        **context, "category": texts.categories.get(complaint.category, complaint.category),
        "grade": complaint.grade or "-"}


# --- The SLA sweep ------------------------------------------------------------------------

@dataclass
class SweepResult:
    scanned: int = 0
    recorded: int = 0
    recurrence_checks: int = 0
    delivered: int = 0
    alert_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "alert_ids"}


SWEEP_FIELDS = ("id", "kind", "store_id", "owner_id", "grade", "grade_policy_id", "cycle",
                "warn_at", "due_at", "first_response_due_at", "first_response_at", "next_alert_at",
                "escalation_level", "status")
# Alerts handed over per transaction: a few bulk INSERTs each (1,000 due at once is one batch).
DELIVERY_BATCH = 1000
#: What an alert's message and recipients read of its complaint.
DELIVER_FIELDS = ("id", "kind", "ticket_no", "store_id", "store__name", "owner_id", "category",
                  "grade", "due_at", "department_id", "department__code", "department__name_zh",
                  "department__name_en")


def sla_sweep(*, now: datetime | None = None, deliver: bool = True) -> SweepResult:
    """Record every alert that has come due, each exactly once; then deliver them, plus any
    recorded alert whose hand-over never completed (``sla_alerts_unsent``).

    Set-based: one indexed scan of ``next_alert_at``, one UPDATE of the rows' next alert, one
    INSERT .. ON CONFLICT DO NOTHING of the due alerts (the unique key (complaint, cycle, kind,
    level) makes a second sweep, a retried task or a restarted worker a no-op) returning the
    rows THIS sweep inserted. Alerts that came due while no sweep ran are all found by the scan
    (catch-up).

    Hand-over (in-app rows and outbox rows, ``_deliver``): the first ``DELIVERY_BATCH`` (1,000)
    alerts are handed over in the recording's own transaction, recorded already sent (one
    commit and no second pass over them: a minute's alerts are nearly always fewer). Should
    that fail, nothing of the sweep is kept and the next run finds the same alerts due. The
    rest, and recorded alerts whose hand-over never completed, go in batches of
    ``DELIVERY_BATCH`` after the commit (``sla_alerts_deliver``).
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    policy = ComplaintPolicy.current()
    result = SweepResult()
    with transaction.atomic():
        # What the hand-over reads comes with the scan (the store and department joined, the
        # complaints alone locked): the alerts handed over in this transaction need no second
        # read of their complaints.
        rows = list(_with_deliver_fields(
            Complaint.objects.select_for_update(of=("self",))
            .filter(next_alert_at__lte=now, status__in=OPEN_STATUSES), *SWEEP_FIELDS)
            .order_by("pk"))
        result.scanned = len(rows)
        # Each complaint escalates at its own grade policy version's interval: the versions
        # (and the current ones, for ungraded rows) are read once for all rows.
        grades, versions = grade_policies_for(rows)
        alerts: list[tuple] = []  # complaint, cycle, kind, level, due at
        for row in rows:
            schedule = sla.alert_schedule(
                warn_at=row.warn_at, due_at=row.due_at,
                first_response_due_at=row.first_response_due_at,
                responded=row.first_response_at is not None,
                escalation_interval=_escalation_interval(
                    policy_of(row, grades, policy=policy, versions=versions)))
            due, row.next_alert_at = sla.split_due(schedule, now)
            alerts.extend((row.pk, row.cycle, str(a.kind), a.level, a.at) for a in due)
            row.escalation_level = max([row.escalation_level]
                                       + [a.level for a in due if a.kind == sla.ESCALATE])
        _store_next_alerts(rows)
        # Each check of a complaint (30/60/90 days ...) alerts once: its interval is the
        # alert's level in the unique key.
        checks = list(RecurrenceCheck.objects.select_for_update()
                      .filter(due_at__lte=now, notified_at__isnull=True,
                              confirmed_at__isnull=True)
                      .only("pk", "complaint_id", "cycle", "interval_days", "due_at")
                      .order_by("pk"))
        alerts.extend((check.complaint_id, check.cycle, AlertKind.RECURRENCE.value,
                       check.interval_days, check.due_at) for check in checks)
        if checks:
            RecurrenceCheck.objects.filter(pk__in=[c.pk for c in checks]).update(notified_at=now)
        result.recurrence_checks = len(checks)
        recorded = _record_alerts(alerts, token=token,
                                  handed_over=DELIVERY_BATCH if deliver else 0) if alerts else []
        result.alert_ids = [row.pk for row in recorded]
        result.recorded = len(recorded)
        handed_over = [row for row in recorded if row.sent]
        if handed_over:
            _deliver(handed_over, complaints={row.pk: row for row in rows})
            result.delivered = len(handed_over)
    if deliver:
        ids = sorted({row.pk for row in recorded if not row.sent} | set(sla_alerts_unsent()))
        for start in range(0, len(ids), DELIVERY_BATCH):
            result.delivered += sla_alerts_deliver(alert_ids=ids[start:start + DELIVERY_BATCH])
    return result


def sla_alerts_unsent(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Recorded alerts whose delivery never completed (a lost task, a crashed worker)."""
    return list(SlaAlert.objects.filter(sent_at__isnull=True,
                                        recorded_at__lt=timezone.now() - older_than)
                .order_by("pk").values_list("pk", flat=True)[:10_000])


@transaction.atomic
def sla_alerts_deliver(*, alert_ids: Sequence[int]) -> int:
    """Notify for the given recorded alerts that are not sent yet; returns how many.

    The in-app notifications, their e-mail / webhook outbox rows and the alert's ``sent_at``
    ("handed over for delivery") are written in one transaction, on rows locked by this call
    (others skip them): each alert is handed over exactly once, and a failure leaves it unsent
    for the next sweep to retry. The outbox sends the e-mails and webhook calls at least once
    (``satisfaction.delivery``), however often the worker or broker fails afterwards."""
    claimed = [_Recorded(*row) for row in SlaAlert.objects.select_for_update(skip_locked=True)
               .filter(pk__in=list(alert_ids), sent_at__isnull=True)
               .order_by("pk").values_list("pk", "complaint_id", "kind", "level")]
    if not claimed:
        return 0
    _deliver(claimed)
    SlaAlert.objects.filter(pk__in=[row.pk for row in claimed]).update(sent_at=timezone.now())
    return len(claimed)


class _Recorded(NamedTuple):
    """A recorded alert, as its hand-over reads it; ``sent``: recorded already handed over
    (in the recording's transaction)."""

    pk: int
    complaint_id: int
    kind: str
    level: int
    sent: bool = False


def _record_alerts(alerts: list[tuple], *, token: str, handed_over: int) -> list[_Recorded]:
    """Insert the due alerts, skipping any already recorded (the unique key); returns the rows
    this call inserted, in id order. The first ``handed_over`` of ``alerts`` are recorded
    already sent (``sent_at``: the caller hands them over in this transaction). PostgreSQL:
    one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING RETURNING`` per 5,000;
    elsewhere bulk_create and a read-back by the sweep's token."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        SlaAlert.objects.bulk_create(
            [SlaAlert(complaint_id=complaint_id, cycle=cycle, kind=kind, level=level,
                      due_at=due_at, sweep_token=token, sent_at=now if i < handed_over else None)
             for i, (complaint_id, cycle, kind, level, due_at) in enumerate(alerts)],
            ignore_conflicts=True, batch_size=1000)
        rows = (SlaAlert.objects.filter(sweep_token=token).order_by("pk")
                .values_list("pk", "complaint_id", "kind", "level", "sent_at"))
        return [_Recorded(*row[:4], sent=row[4] is not None) for row in rows]
    recorded: list[_Recorded] = []
    with connection.cursor() as cursor:
        for start in range(0, len(alerts), 5000):
            columns = [list(c) for c in zip(*alerts[start:start + 5000], strict=True)]
            # The first ``handed_over`` rows (n counts from 1 in each statement) are sent.
            cursor.execute(
                "INSERT INTO complaints_slaalert (complaint_id, cycle, kind, level, due_at, "
                "recorded_at, sweep_token, sent_at) SELECT c, y, k, l, d, %s, %s, "
                "CASE WHEN n <= %s THEN %s::timestamptz END FROM unnest("
                "%s::bigint[], %s::int[], %s::text[], %s::int[], %s::timestamptz[]) "
                "WITH ORDINALITY AS v(c, y, k, l, d, n) ON CONFLICT DO NOTHING "
                "RETURNING id, complaint_id, kind, level, sent_at IS NOT NULL",
                [now, token, handed_over - start, now, *columns])
            recorded += [_Recorded(*row) for row in cursor.fetchall()]
    return sorted(recorded)


def _store_next_alerts(rows: list[Complaint]) -> None:
    """One UPDATE .. FROM unnest(..) per 5,000 rows on PostgreSQL (bulk_update elsewhere)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Complaint.objects.bulk_update(rows, ["next_alert_at", "escalation_level"],
                                      batch_size=500)
        return
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            batch = rows[start:start + 5000]
            cursor.execute(
                "UPDATE complaints_complaint AS c SET next_alert_at = v.next_alert_at, "
                "escalation_level = v.level FROM unnest(%s::bigint[], %s::timestamptz[], "
                "%s::int[]) AS v(id, next_alert_at, level) WHERE c.id = v.id",
                [[row.pk for row in batch], [row.next_alert_at for row in batch],
                 [row.escalation_level for row in batch]])


def _with_deliver_fields(complaints: QuerySet[Complaint], *extra: str) -> QuerySet[Complaint]:
    """``complaints`` reading what the hand-over needs (``DELIVER_FIELDS``: the store and the
    department joined), plus ``extra`` fields."""
    return complaints.select_related("store", "department").only(*DELIVER_FIELDS, *extra)


def _deliver(recorded: Sequence[_Recorded], *,
             complaints: Mapping[int, Complaint] | None = None) -> None:
    """The alerts' in-app rows and their e-mail / webhook outbox rows, in bulk (set-based: a
    few INSERTs per batch, not one per alert), in the caller's transaction. ``complaints``:
    those the caller has read already, with ``DELIVER_FIELDS``; the others are read here."""
    wanted = {row.complaint_id for row in recorded}
    found = {pk: c for pk, c in (complaints or {}).items() if pk in wanted}
    if missing := wanted - found.keys():
        found |= _with_deliver_fields(Complaint.objects.all()).in_bulk(missing)
    recipients = _recipients(found.values())
    texts = _alert_texts()
    urls = _detail_urls(found.values())
    messages = []
    for _pk, complaint_id, kind, level, _sent in recorded:
        complaint = found[complaint_id]
        title, body = _alert_message(complaint, kind, level, texts)
        messages.append(Message(users=recipients.for_alert(complaint, kind, level), title=title,
                                body=body, url=urls[complaint_id], kind=f"complaint_{kind}",
                                webhook=kind == AlertKind.ESCALATE))
    notifications_send(messages=messages)
