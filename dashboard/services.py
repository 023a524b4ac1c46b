"""The only functions that write dashboard data: the improvement actions (PDCA) and the
monthly reports sent."""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dashboard import calc, report_selectors, reports, rules
from dashboard.models import (
    ActionSource,
    ActionStatus,
    ImprovementAction,
    MonthlyReportSent,
    ReportScope,
)
from satisfaction.errors import ApplicationError
from satisfaction.models import Employee, Store, User
from satisfaction.notifications import Message, notifications_send
from satisfaction.quarters import Quarter
from scoring.models import RollupStatus, StoreScore
from scoring.selectors import rollup_for_display
from surveys.models import Indicator


def _require(user: User, store: Store) -> None:
    if not rules.can_manage_actions(user, store):
        raise ApplicationError(_("You may not plan or review actions for this store."),
                               code="forbidden", status=403)


def indicator_value(*, store: Store, quarter: Quarter, code: str) -> float | None:
    """The store's indicator (0–100) in the quarter's shown revision, None without data."""
    rollup = rollup_for_display(quarter=quarter)
    if rollup is None:
        return None
    indicators = (StoreScore.objects.filter(rollup=rollup, store=store)
                  .values_list("indicators", flat=True).first())
    return calc.indicator_means(indicators).get(code)


def _valid_indicator_codes() -> set[str]:
    return set(Indicator.objects.filter(is_active=True).values_list("code", flat=True))


@transaction.atomic
def improvement_action_create(*, user: User, store: Store, title: str, indicator_code: str,
                              owner: Employee, deadline: date,
                              source: str = ActionSource.INDICATOR, source_ref: str = "",
                              description: str = "", today: date | None = None
                              ) -> ImprovementAction:
    _require(user, store)
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("Say what will be done.")]
    if indicator_code not in _valid_indicator_codes():
        errors["indicator_code"] = [_("Choose one of the survey indicators.")]
    if owner.store_id != store.pk or not owner.is_active:
        errors["owner"] = [_("The owner must be an active employee of this store.")]
    if deadline < today:
        errors["deadline"] = [_("The deadline cannot be in the past.")]
    if source not in ActionSource.values:
        errors["source"] = [_("Choose where the action comes from.")]
    if errors:
        raise ApplicationError(_("The action could not be saved."), fields=errors)
    quarter = Quarter.containing(today)
    baseline = indicator_value(store=store, quarter=quarter, code=indicator_code)
    baseline_quarter = quarter if baseline is not None else None
    if baseline is None:
        # Early in a quarter before its first rollup: the previous quarter's value.
        baseline = indicator_value(store=store, quarter=quarter.previous(), code=indicator_code)
        baseline_quarter = quarter.previous() if baseline is not None else None
    return ImprovementAction.objects.create(
        store=store, quarter=quarter, title=title.strip(), description=description.strip(),
        source=source, source_ref=source_ref.strip(), indicator_code=indicator_code,
        owner=owner, deadline=deadline, baseline_score=baseline,
        baseline_quarter=baseline_quarter, created_by=user)


@transaction.atomic
def improvement_action_complete(*, action: ImprovementAction, user: User) -> ImprovementAction:
    _require(user, action.store)
    # Locked and read again: two "done" clicks at once record one completion.
    action = ImprovementAction.objects.select_for_update().get(pk=action.pk)
    if action.status != ActionStatus.OPEN:
        raise ApplicationError(_("Only an open action can be marked done."), code="not_open")
    action.status = ActionStatus.DONE
    action.done_at = timezone.now()
    action.save(update_fields=["status", "done_at"])
    return action


@transaction.atomic
def improvement_action_review(*, action: ImprovementAction, user: User, note: str = ""
                              ) -> ImprovementAction:
    """Check the action against its indicator's change from the planning quarter to the next."""
    _require(user, action.store)
    action = ImprovementAction.objects.select_for_update().get(pk=action.pk)
    if action.status == ActionStatus.REVIEWED:
        raise ApplicationError(_("This action has already been reviewed."),
                               code="already_reviewed")
    review_quarter = calc.action_review_quarter(action.quarter)
    after = indicator_value(store=action.store, quarter=review_quarter,
                            code=action.indicator_code)
    if after is None and Quarter.containing(timezone.localdate()) <= review_quarter:
        raise ApplicationError(
            _("The action is reviewed once %(quarter)s has values.") % {
                "quarter": review_quarter}, code="too_early")
    before = indicator_value(store=action.store, quarter=action.quarter,
                             code=action.indicator_code)
    if before is not None:
        action.baseline_score, action.baseline_quarter = before, action.quarter
    action.review_score = after
    action.review_quarter = review_quarter
    action.outcome = calc.action_outcome(baseline=action.baseline_score, after=after)
    action.review_note = note.strip()
    action.status = ActionStatus.REVIEWED
    action.reviewed_by = user
    action.reviewed_at = timezone.now()
    action.save()
    return action


# --- The monthly report -------------------------------------------------------------------------

REPORT_KIND = "monthly_report"
RECORD_BATCH = 2000  # recipients per INSERT of the records


def _summary_line(figures: report_selectors.SendFigures, *, label: str,
                  value: tuple[float | None, float | None], store_ids: list[int],
                  complaints) -> reports.SummaryLine:
    rollup, previous = figures.rollup, figures.previous
    return reports.SummaryLine(
        label=label, quarter=str(rollup.quarter) if rollup else None,
        provisional=rollup is not None and rollup.status != RollupStatus.PUBLISHED,
        value=value[0], previous_quarter=str(previous.quarter) if previous else None,
        previous_value=value[1],
        complaints=complaints.total if complaints else 0,
        on_time_rate=complaints.on_time_rate if complaints else None,
        closed_loop_rate=complaints.closed_loop_rate if complaints else None,
        overdue_complaints=sum(figures.overdue_complaints.get(s, 0) for s in store_ids),
        overdue_actions=sum(figures.overdue_actions.get(s, 0) for s in store_ids),
        actions_due=sum(figures.actions_due.get(s, 0) for s in store_ids))


def _summary(figures: report_selectors.SendFigures,
             recipient: report_selectors.Recipient) -> tuple[str, str]:
    """The title and the few lines of one recipient's e-mail and notification."""
    if recipient.scope == ReportScope.CHAIN:
        rows = list(figures.complaints_by_region.values())
        line = _summary_line(figures, label=str(ReportScope.CHAIN.label),
                             value=figures.chain_value, store_ids=list(figures.stores),
                             complaints=report_selectors.merge_rows(rows, key="chain", name=""))
        return reports.summary_text(month=figures.month, title_scope=line.label, lines=[line])
    if recipient.scope == ReportScope.REGION:
        lines = []
        for region_id in recipient.region_ids:
            code, name = figures.regions[region_id]
            lines.append(_summary_line(
                figures, label=name, value=figures.region_values.get(region_id, (None, None)),
                store_ids=figures.region_stores.get(region_id, []),
                complaints=figures.complaints_by_region.get(code)))
        return reports.summary_text(month=figures.month,
                                    title_scope=" · ".join(line.label for line in lines),
                                    lines=lines)
    lines = []
    for store_id in recipient.store_ids:
        code, name, _region = figures.stores[store_id]
        lines.append(_summary_line(
            figures, label=f"{code} {name}",
            value=figures.store_values.get(store_id, (None, None)), store_ids=[store_id],
            complaints=figures.complaints_by_store.get(code)))
    return reports.summary_text(month=figures.month,
                                title_scope=" · ".join(line.label for line in lines),
                                lines=lines)


def _record_sent(rows: list[tuple[int, str]], *, month: reports.Month, now: datetime
                 ) -> set[int]:
    """Insert the records of ``rows`` (recipient id, scope), skipping any recipient already
    recorded for the month (the unique constraint, ``ON CONFLICT DO NOTHING``), and return the
    recipients this call recorded: only those are sent anything. A second worker's INSERT waits
    for the first one's transaction and then finds the rows there."""
    table = MonthlyReportSent._meta.db_table  # noqa: SLF001 - Django's documented metadata
    ops = connection.ops
    day, moment = ops.adapt_datefield_value(month.first_day), ops.adapt_datetimefield_value(now)
    recorded: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), RECORD_BATCH):
            batch = rows[start:start + RECORD_BATCH]
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"INSERT INTO {table} (month, recipient_id, scope, sent_at) "  # noqa: S608
                    "SELECT %s, r, s, %s FROM unnest(%s::bigint[], %s::text[]) AS v(r, s) "
                    "ON CONFLICT (month, recipient_id) DO NOTHING RETURNING recipient_id",
                    [day, moment, [r for r, _s in batch], [s for _r, s in batch]])
            else:
                values = ", ".join(["(%s, %s, %s, %s)"] * len(batch))
                cursor.execute(
                    f"INSERT INTO {table} (month, recipient_id, scope, sent_at) "  # noqa: S608
                    f"VALUES {values} ON CONFLICT (month, recipient_id) DO NOTHING "
                    "RETURNING recipient_id",
                    [v for r, s in batch for v in (day, r, s, moment)])
            recorded.update(row[0] for row in cursor.fetchall())
    return recorded


@transaction.atomic
def monthly_reports_send(*, month: reports.Month, now: datetime) -> int:
    """Send ``month``'s report to everyone owed it who has not had it: HQ (role hq_admin), each
    regional manager (their regions) and each store manager (their store's one-pager). Each
    gets an in-app notification linking to the printable page and an e-mail summary through the
    outbox (``satisfaction.notifications.notifications_send``), written in this transaction with
    the record of the report sent (``MonthlyReportSent``, unique per month and recipient).

    Idempotent and set-based: a second run, or two workers at once, sends nothing more; the
    figures are read chain-wide with a fixed number of grouped queries and the records,
    notifications and outbox rows are inserted in bulk. Returns how many were sent."""
    if month.end() > now:
        raise ApplicationError(_("%(month)s is not over yet.") % {"month": month},
                               code="month_not_over")
    recipients = report_selectors.pending_recipients(month=month)
    if not recipients:
        return 0
    recorded = _record_sent([(r.user.pk, r.scope) for r in recipients], month=month, now=now)
    recipients = [r for r in recipients if r.user.pk in recorded]
    if not recipients:
        return 0
    url = reverse("dashboard:monthly_report", args=[str(month)])
    with translation.override(settings.LANGUAGE_CODE):
        figures = report_selectors.send_figures(month=month, now=now)
        messages = []
        for recipient in recipients:
            title, body = _summary(figures, recipient)
            messages.append(Message(users=[recipient.user], title=title, body=body, url=url,
                                    kind=REPORT_KIND))
    notifications_send(messages=messages)
    return len(recipients)
