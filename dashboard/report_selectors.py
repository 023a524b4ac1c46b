"""Reads of the monthly report (``dashboard.reports`` has its calendar and text).

Two readers:

- ``monthly_report``: the printable page of one scope (the chain, a region, the regions of a
  regional manager, a store), as the viewing user may see it. Every figure comes from its
  owner: the values from scoring's snapshots (``dashboard.selectors.revision_figures`` for a
  region's value, ``movers``), the complaint figures from ``complaints.selectors``
  (``complaint_figures``, ``complaint_spikes``, ``complaint_list`` and ``sla_clocks`` for the
  overdue ones), the actions from ``dashboard.selectors.action_list``, the drivers from
  ``surveys.selectors.campaign_drivers``.
- ``send_figures``: what the e-mail summaries of every recipient need, read chain-wide with a
  fixed number of grouped queries (``dashboard.services.monthly_reports_send``), whatever the
  number of stores and recipients.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, datetime

from django.db.models import Avg, Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from complaints.models import Complaint, ComplaintSpike
from complaints.selectors import (
    FigureRow,
    complaint_figures,
    complaint_list,
    complaint_spikes,
    sla_clocks,
)
from dashboard import selectors
from dashboard.models import ActionStatus, ImprovementAction, MonthlyReportSent, ReportScope
from dashboard.reports import Month
from satisfaction import rules as core_rules
from satisfaction.models import Region, Role, Store, User
from satisfaction.quarters import Quarter
from satisfaction.scoping import get_visible_store_or_404, visible_stores
from satisfaction.selectors import region_list
from scoring.models import Rollup, RollupStatus, StoreScore
from surveys import drivers
from surveys import selectors as survey_selectors
from surveys.models import Campaign, KanoClass

TREND_QUARTERS = 4
LIST_LIMIT = 20  # overdue and due items listed on the page (the counts are complete)


# --- The scope ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What one report covers: ``kind`` is the chain, a region (or all of a regional manager's
    regions: ``region`` None) or a store."""

    kind: str
    label: str
    region: Region | None = None
    store: Store | None = None


def report_scope(*, user: User, region_code: str = "", store_code: str = "") -> Scope:
    """The scope of the page: ``store_code`` (a store the user sees, else 404), ``region_code``
    (HQ and regional managers: a region they see, else 404), else the user's own: the chain for
    HQ, the region(s) of a regional manager, the (first) store of a store manager."""
    if store_code:
        store = get_visible_store_or_404(user, code=store_code)
        return Scope(kind=ReportScope.STORE, label=f"{store.code} {store.name}", store=store)
    if region_code:
        if not (core_rules.is_hq(user) or user.role == Role.REGIONAL_MANAGER):
            raise Http404
        region = region_list(user=user).filter(code=region_code).first()
        if region is None:
            raise Http404
        return Scope(kind=ReportScope.REGION, label=region.name, region=region)
    if core_rules.is_hq(user):
        return Scope(kind=ReportScope.CHAIN, label=str(ReportScope.CHAIN.label))
    if user.role == Role.REGIONAL_MANAGER:
        regions = list(user.regions.order_by("code"))
        if len(regions) == 1:
            return Scope(kind=ReportScope.REGION, label=regions[0].name, region=regions[0])
        if not regions:
            raise Http404
        return Scope(kind=ReportScope.REGION,
                     label=" · ".join(region.name for region in regions))
    store = visible_stores(user).order_by("code").first()
    if store is None:
        raise Http404
    return Scope(kind=ReportScope.STORE, label=f"{store.code} {store.name}", store=store)


def scope_stores(scope: Scope, user: User) -> QuerySet[Store]:
    """The stores of the scope, within what the user sees."""
    stores = visible_stores(user)
    if scope.store is not None:
        return stores.filter(pk=scope.store.pk)
    if scope.region is not None:
        return stores.filter(region=scope.region)
    return stores


def _in_scope(queryset: QuerySet, scope: Scope, store_field: str = "store") -> QuerySet:
    """``queryset`` (already scoped to the user) narrowed to the scope's store or region."""
    if scope.store is not None:
        return queryset.filter(**{f"{store_field}_id": scope.store.pk})
    if scope.region is not None:
        return queryset.filter(**{f"{store_field}__region_id": scope.region.pk})
    return queryset


# --- Which revisions ----------------------------------------------------------------------------


def display_rollups(quarters: list[Quarter]) -> dict[Quarter, Rollup]:
    """Per quarter, the revision the pages show (as ``scoring.selectors.rollup_for_display``:
    the published one, else the provisional one), in one query."""
    shown: dict[Quarter, Rollup] = {}
    rollups = Rollup.objects.filter(
        quarter__in=quarters, status__in=[RollupStatus.PUBLISHED, RollupStatus.PROVISIONAL])
    for rollup in rollups:
        if rollup.quarter not in shown or rollup.status == RollupStatus.PUBLISHED:
            shown[rollup.quarter] = rollup
    return shown


def report_quarters(month: Month) -> list[Quarter]:
    """The quarters of the value trend: the month's quarter and the three before it."""
    return Quarter.containing(month.last_day).last_n(TREND_QUARTERS)


def _latest(rollups: dict[Quarter, Rollup], quarters: list[Quarter]
            ) -> tuple[Rollup | None, Rollup | None]:
    """The newest of ``quarters`` with values and the quarter before it (either may be None)."""
    for quarter in reversed(quarters):
        if quarter in rollups:
            return rollups[quarter], rollups.get(quarter.previous())
    return None, None


def _mean_by_rollup(rollups: list[Rollup], stores: QuerySet[Store] | None = None
                    ) -> dict[int, float]:
    """Per revision, the mean value of its stores (of ``stores``), stores without a value left
    out, as ``dashboard.selectors.revision_figures`` takes a region's: one GROUP BY."""
    scores = StoreScore.objects.filter(rollup__in=rollups, value__isnull=False)
    if stores is not None:
        scores = scores.filter(store__in=stores.values("pk"))
    rows = scores.order_by().values("rollup_id").annotate(mean=Avg("value"))
    return {row["rollup_id"]: float(row["mean"]) for row in rows}


# --- The page -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendRow:
    quarter: Quarter
    provisional: bool
    value: float | None  # the scope's: the store's value, the region's, the chain's mean
    region: float | None  # the store's region (a store's report only)
    chain: float | None


@dataclass
class MonthlyReport:
    month: Month
    scope: Scope
    now: datetime
    trend: list[TrendRow] = field(default_factory=list)
    rollup: Rollup | None = None  # the newest revision with values, the movers' quarter
    previous: Rollup | None = None
    up: list[StoreScore] = field(default_factory=list)
    down: list[StoreScore] = field(default_factory=list)
    complaints: FigureRow | None = None
    complaint_rows: list[FigureRow] = field(default_factory=list)  # per region (chain)
    spikes: list[ComplaintSpike] = field(default_factory=list)
    overdue_complaints: list[Complaint] = field(default_factory=list)
    overdue_complaint_count: int = 0
    overdue_actions: list[ImprovementAction] = field(default_factory=list)
    overdue_action_count: int = 0
    actions_due: list[ImprovementAction] = field(default_factory=list)
    actions_due_count: int = 0
    drivers_campaign: Campaign | None = None
    drivers: drivers.Drivers | None = None  # None when no campaign asked overall satisfaction
    driver_rows: list[DriverRow] = field(default_factory=list)

    @property
    def next_month(self) -> Month:
        return self.month.next()

    def context(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {
            "next_month": self.next_month}


def _trend(report: MonthlyReport, user: User, rollups: dict[Quarter, Rollup]) -> None:
    scope = report.scope
    quarters = report_quarters(report.month)
    shown = [rollups[q] for q in quarters if q in rollups]
    chain = _mean_by_rollup(shown)
    own: dict[int, float | None] = {}
    region_of_store: dict[int, float | None] = {}
    if scope.store is not None:
        own = dict(StoreScore.objects.filter(rollup__in=shown, store=scope.store)
                   .values_list("rollup_id", "value"))
        for rollup in shown:
            figure = selectors.revision_figures(rollup=rollup).regions.get(
                scope.store.region_id)
            region_of_store[rollup.pk] = None if figure is None else figure.mean
    elif scope.region is not None:
        for rollup in shown:
            figure = selectors.revision_figures(rollup=rollup).regions.get(scope.region.pk)
            own[rollup.pk] = None if figure is None else figure.mean
    elif core_rules.is_hq(user):
        own = dict(chain)
    else:  # a regional manager's regions together
        own = dict(_mean_by_rollup(shown, scope_stores(scope, user)))
    for quarter in quarters:
        rollup = rollups.get(quarter)
        if rollup is None:
            report.trend.append(TrendRow(quarter=quarter, provisional=False, value=None,
                                         region=None, chain=None))
            continue
        report.trend.append(TrendRow(
            quarter=quarter, provisional=rollup.status == RollupStatus.PROVISIONAL,
            value=own.get(rollup.pk), region=region_of_store.get(rollup.pk),
            chain=chain.get(rollup.pk)))


def _complaints(report: MonthlyReport, user: User) -> None:
    scope, month = report.scope, report.month
    start, end = month.start(), month.end()
    if scope.store is not None:
        rows = complaint_figures(user=user, start=start, end=end, level="store").rows
        report.complaints = next((r for r in rows if r.key == scope.store.code), None)
    elif scope.region is not None:
        rows = complaint_figures(user=user, start=start, end=end, level="region").rows
        report.complaints = next((r for r in rows if r.key == scope.region.code), None)
    else:
        report.complaint_rows = complaint_figures(user=user, start=start, end=end,
                                                  level="region").rows
        report.complaints = merge_rows(report.complaint_rows, key="chain", name="")
    spikes = complaint_spikes(user=user, start=start, end=end)
    if scope.store is not None:
        spikes = [s for s in spikes if s.store_id == scope.store.pk]
    elif scope.region is not None:
        spikes = [s for s in spikes if s.region_id == scope.region.pk
                  or (s.store is not None and s.store.region_id == scope.region.pk)]
    report.spikes = spikes


def merge_rows(rows: list[FigureRow], *, key: str, name: str) -> FigureRow | None:
    """Several levels' figure rows as one (counts summed; the rates are the row's own
    properties over the sums), None without rows."""
    if not rows:
        return None
    counts = ("total", "ungraded", "substantiated", "resolved", "on_time", "closed",
              "closed_satisfied", "second", "closed_in_period", "recurred")
    by_grade: dict[str, int] = defaultdict(int)
    for row in rows:
        for grade, count in row.by_grade.items():
            by_grade[grade] += count
    return FigureRow(key=key, name=name, by_grade=dict(by_grade), mean_hours=None,
                     **{c: sum(getattr(r, c) for r in rows) for c in counts})


def _late_and_due(*, today: date, coming: Month) -> tuple[Q, Q]:
    """Which open improvement actions the report calls late (deadline passed) and due (deadline
    in the coming month, from today on): the page and the e-mail summary both count by these."""
    return (Q(deadline__lt=today),
            Q(deadline__gte=max(coming.first_day, today), deadline__lte=coming.last_day))


def _overdue_and_due(report: MonthlyReport, user: User) -> None:
    scope, now = report.scope, report.now
    today = timezone.localdate(now)
    overdue = _in_scope(complaint_list(user=user, overdue=True), scope).order_by("due_at", "pk")
    report.overdue_complaint_count = overdue.count()
    complaints = list(overdue[:LIST_LIMIT]) if report.overdue_complaint_count else []
    clocks = sla_clocks(complaints=complaints, now=now) if complaints else {}
    for complaint in complaints:
        complaint.clock = clocks.get(complaint.pk)
    report.overdue_complaints = complaints
    actions = _in_scope(selectors.action_list(user=user), scope).filter(
        status=ActionStatus.OPEN)
    is_late, is_due = _late_and_due(today=today, coming=report.next_month)
    late = actions.filter(is_late).order_by("deadline", "pk")
    due = actions.filter(is_due).order_by("deadline", "pk")
    counts = actions.aggregate(late=Count("pk", filter=is_late), due=Count("pk", filter=is_due))
    report.overdue_action_count, report.actions_due_count = counts["late"], counts["due"]
    labels = selectors.indicator_labels() if counts["late"] or counts["due"] else {}
    report.overdue_actions = list(late[:LIST_LIMIT]) if counts["late"] else []
    report.actions_due = list(due[:LIST_LIMIT]) if counts["due"] else []
    for action in (*report.overdue_actions, *report.actions_due):
        action.indicator_label = labels.get(action.indicator_code, action.indicator_code)


def drivers_campaign(month: Month) -> Campaign | None:
    """The newest campaign that asked for overall satisfaction and had opened by the month's
    end: the one whose drivers the report shows."""
    return (Campaign.objects.filter(ask_overall=True, opens_on__lte=month.last_day)
            .order_by("-quarter", "-opens_on", "-pk").first())


@dataclass(frozen=True)
class DriverRow:
    """An indicator of the drivers' analysis with its Kano class and quadrant in words."""

    item: drivers.IndicatorDriver
    kano: str
    quadrant: str


def _drivers(report: MonthlyReport, user: User) -> None:
    """The drivers of the scope (``surveys.selectors.campaign_drivers``: below its minimum of
    answers, as for a store's few, it says so and shows no weights)."""
    campaign = drivers_campaign(report.month)
    report.drivers_campaign = campaign
    if campaign is None:
        return
    scope = report.scope
    report.drivers = survey_selectors.campaign_drivers(
        campaign=campaign, user=user, region=scope.region, store=scope.store)
    if report.drivers is not None:
        kano, quadrants = dict(KanoClass.choices), drivers.quadrant_labels()
        report.driver_rows = [
            DriverRow(item=item, kano=str(kano.get(item.kano_class, item.kano_class or "–")),
                      quadrant=str(quadrants.get(item.quadrant, "")))
            for item in report.drivers.indicators]


def monthly_report(*, user: User, scope: Scope, month: Month, now: datetime) -> MonthlyReport:
    """The report of ``month`` for ``scope`` as ``user`` sees it. The values and the month's
    complaint figures and spikes are the month's; overdue items are as of ``now``; the actions
    due are those of the month after ``month`` (the month the report is read in)."""
    report = MonthlyReport(month=month, scope=scope, now=now)
    quarters = report_quarters(month)
    rollups = display_rollups([*quarters, quarters[0].previous()])
    _trend(report, user, rollups)
    report.rollup, report.previous = _latest(rollups, quarters)
    if scope.store is None and report.rollup is not None:
        scores = selectors.ranking(user=user, rollup=report.rollup,
                                   region_code=scope.region.code if scope.region else "")
        report.up, report.down = selectors.movers(scores=scores, previous=report.previous)
    _complaints(report, user)
    _overdue_and_due(report, user)
    _drivers(report, user)
    return report


# --- What the send needs, chain-wide ------------------------------------------------------------


@dataclass
class SendFigures:
    """Everything the e-mail summaries say, for every store and region at once."""

    month: Month
    rollup: Rollup | None
    previous: Rollup | None
    stores: dict[int, tuple[str, str, int]]  # id -> code, name, region id
    regions: dict[int, tuple[str, str]]  # id -> code, name
    store_values: dict[int, tuple[float | None, float | None]]  # id -> value, previous
    region_values: dict[int, tuple[float | None, float | None]]
    chain_value: tuple[float | None, float | None]
    complaints_by_store: dict[str, FigureRow]  # by store code
    complaints_by_region: dict[str, FigureRow]  # by region code
    overdue_complaints: dict[int, int]  # store id -> count
    overdue_actions: dict[int, int]
    actions_due: dict[int, int]
    region_stores: dict[int, list[int]] = field(default_factory=dict)  # region id -> store ids

    def __post_init__(self) -> None:
        for store_id, (_code, _name, region_id) in self.stores.items():
            self.region_stores.setdefault(region_id, []).append(store_id)


def _chain_reader() -> User:
    """An unsaved HQ user: the send runs for the whole chain, outside any request, and reads
    the complaint figures of every store once (``complaint_figures`` takes a user to scope
    them); each recipient's summary then takes only its own stores' rows."""
    return User(username="monthly-report", role=Role.HQ_ADMIN, is_active=True)


def _grouped(queryset: QuerySet, field_name: str = "store_id") -> dict[int, int]:
    return dict(queryset.order_by().values(field_name).annotate(n=Count("pk"))
                .values_list(field_name, "n"))


def send_figures(*, month: Month, now: datetime) -> SendFigures:
    """The chain's figures for the summaries: about a dozen grouped queries in all."""
    reader = _chain_reader()
    today = timezone.localdate(now)
    quarters = report_quarters(month)
    rollups = display_rollups([*quarters, quarters[0].previous()])
    rollup, previous = _latest(rollups, quarters)
    stores = {pk: (code, name, region_id) for pk, code, name, region_id in
              Store.objects.values_list("pk", "code", "name", "region_id")}
    regions = {pk: (code, name) for pk, code, name in
               Region.objects.values_list("pk", "code", "name")}
    store_values: dict[int, list[float | None]] = defaultdict(lambda: [None, None])
    region_values: dict[int, tuple[float | None, float | None]] = {}
    chain_value: tuple[float | None, float | None] = (None, None)
    shown = [r for r in (rollup, previous) if r is not None]
    if shown:
        for store_id, rollup_id, value in StoreScore.objects.filter(rollup__in=shown).values_list(
                "store_id", "rollup_id", "value"):
            store_values[store_id][0 if rollup_id == rollup.pk else 1] = value
        current = selectors.revision_figures(rollup=rollup).regions
        earlier = {} if previous is None else selectors.revision_figures(
            rollup=previous).regions
        for region_id in regions:
            now_figure, before = current.get(region_id), earlier.get(region_id)
            region_values[region_id] = (now_figure.mean if now_figure else None,
                                        before.mean if before else None)
        chain = _mean_by_rollup(shown)
        chain_value = (chain.get(rollup.pk),
                       chain.get(previous.pk) if previous is not None else None)
    start, end = month.start(), month.end()
    by_store = complaint_figures(user=reader, start=start, end=end, level="store").rows
    by_region = complaint_figures(user=reader, start=start, end=end, level="region").rows
    overdue = complaint_list(user=reader, overdue=True)
    actions = ImprovementAction.objects.filter(status=ActionStatus.OPEN)
    is_late, is_due = _late_and_due(today=today, coming=month.next())
    return SendFigures(
        month=month, rollup=rollup, previous=previous, stores=stores, regions=regions,
        store_values={k: (v[0], v[1]) for k, v in store_values.items()},
        region_values=region_values, chain_value=chain_value,
        complaints_by_store={row.key: row for row in by_store},
        complaints_by_region={row.key: row for row in by_region},
        overdue_complaints=_grouped(overdue),
        overdue_actions=_grouped(actions.filter(is_late)),
        actions_due=_grouped(actions.filter(is_due)))


@dataclass(frozen=True)
class Recipient:
    user: User
    scope: str
    region_ids: tuple[int, ...] = ()
    store_ids: tuple[int, ...] = ()


def pending_recipients(*, month: Month) -> list[Recipient]:
    """Who is owed ``month``'s report and has not had it: active HQ users (role hq_admin), every
    active regional manager with a region and every active store manager with a store. Three
    queries, whatever their number."""
    sent = MonthlyReportSent.objects.filter(month=month.first_day).values("recipient_id")
    users = list(User.objects.filter(
        is_active=True, role__in=[Role.HQ_ADMIN, Role.REGIONAL_MANAGER, Role.STORE_MANAGER])
        .exclude(pk__in=sent).select_related("employee").order_by("pk"))
    ids = [u.pk for u in users]
    regions: dict[int, list[int]] = defaultdict(list)
    stores: dict[int, set[int]] = defaultdict(set)
    if ids:
        for user_id, region_id in User.regions.through.objects.filter(
                user_id__in=ids).values_list("user_id", "region_id"):
            regions[user_id].append(region_id)
        for user_id, store_id in User.stores.through.objects.filter(
                user_id__in=ids).values_list("user_id", "store_id"):
            stores[user_id].add(store_id)
    recipients = []
    for user in users:
        if user.role == Role.HQ_ADMIN:
            recipients.append(Recipient(user=user, scope=ReportScope.CHAIN))
        elif user.role == Role.REGIONAL_MANAGER and regions[user.pk]:
            recipients.append(Recipient(user=user, scope=ReportScope.REGION,
                                        region_ids=tuple(sorted(regions[user.pk]))))
        elif user.role == Role.STORE_MANAGER:
            # As ``satisfaction.scoping.visible_stores``: the linked stores and the store of
            # the employee record.
            own = set(stores[user.pk])
            if user.employee is not None:
                own.add(user.employee.store_id)
            if own:
                recipients.append(Recipient(user=user, scope=ReportScope.STORE,
                                            store_ids=tuple(sorted(own))))
    return recipients
