"""Reads of complaints: scoped lists, the scoring contract, and the complaint figures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, field
from datetime import date, datetime, time, timedelta

import pandas as pd
from django.conf import settings
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.aggregates import Max, Min
from django.db.models.expressions import Exists, OuterRef, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from satisfaction import history
from satisfaction.errors import ApplicationError
from satisfaction.models import Department, Region, Role, Store, User
from satisfaction.quarters import REQUEST_YEARS, Quarter, chain_zone
from satisfaction.scoping import (
    get_scoped_or_404,
    headed_departments,
    scope_to_stores,
    sees_all_stores,
    visible_store_ids,
)

from . import sla
from .models import (
    OPEN_STATUSES,
    Appeal,
    AppealStatus,
    Category,
    Complaint,
    ComplaintKind,
    ComplaintPolicy,
    ComplaintProduct,
    ComplaintSpike,
    Grade,
    GradePolicy,
    SpikeScope,
    Status,
    StoreHours,
    normalise_batch,
)

DEDUCTION_COLUMNS = ["complaint_id", "store_id", "employee_id", "grade"]
DEFAULT_ESCALATION_HOURS = 4  # before grading, when no grade has a policy


# --- Lists ----------------------------------------------------------------------------------

def _handling_filters(qs: QuerySet[Complaint], *, user: User, status: str, overdue: bool,
                      mine: bool) -> QuerySet[Complaint]:
    """The filters the customer and the internal lists share: ``status`` ("open": any open
    status), ``overdue`` (open, running and past its due time) and ``mine`` (owned by
    ``user``)."""
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if overdue:
        qs = qs.filter(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
    if mine:
        qs = qs.filter(owner=user)
    return qs


def complaint_list(*, user: User, status: str = "", grade: str = "", category: str = "",
                   store_code: str = "", overdue: bool = False, mine: bool = False,
                   query: str = "", batch: str = "") -> QuerySet[Complaint]:
    """The user's complaints, newest first, filtered. ``overdue`` means open, running and past
    its due time: a paused clock that has spent its budget shows as overdue (``sla_clocks``)
    but is not in this filter. ``batch``: product complaints about that batch / lot number
    (written as intake stores it: no spaces, upper-case)."""
    qs = _handling_filters(
        scope_to_stores(Complaint.objects.customer(), user).select_related("store", "owner",
                                                                           "product"),
        user=user, status=status, overdue=overdue, mine=mine)
    if grade == "-":
        qs = qs.filter(grade="")
    elif grade:
        qs = qs.filter(grade=grade)
    if category:
        qs = qs.filter(category=category)
    if store_code:
        qs = qs.filter(store__code=store_code)
    if query:
        qs = qs.filter(Q(ticket_no__iexact=query.strip()) | Q(description__icontains=query))
    if batch:
        qs = qs.filter(product__batch_no=normalise_batch(batch))
    return qs.order_by("-received_at", "-pk")


def complaint_get(*, user: User, pk: int) -> Complaint:
    """A customer complaint the user sees (an internal one is ``internal_complaint_get``'s:
    404 here)."""
    return get_scoped_or_404(Complaint.objects.customer().select_related(
        "store", "store__region", "owner", "employee", "received_by", "previous",
        "recurrence_of"), user, pk=pk)


def public_ticket_lookup(*, ticket_no: str, phone_last4: str) -> Complaint | None:
    """A customer's own complaint by ticket and phone (never an internal one)."""
    complaint = (Complaint.objects.customer().select_related("store")
                 .filter(ticket_no=ticket_no.strip().upper()).first())
    digits = "".join(c for c in (complaint.customer_phone if complaint else "") if c.isdigit())
    if complaint is None or len(phone_last4) != 4 or not digits.endswith(phone_last4):
        return None
    return complaint


# --- The SLA clock ---------------------------------------------------------------------------
# The one owner of a complaint's deadline and time left: the services run the clock with these
# policy reads, and every page that shows time left (the complaint list and page, the store
# dashboard) asks ``sla_clocks``.

def grade_policies() -> dict[str, GradePolicy]:
    """The current (highest) version of each grade's policy, for gradings from now on (one
    query); a grade without a row runs on the defaults (unsaved)."""
    return grade_policies_for([])[0]


def grade_policies_for(complaints: Iterable[Complaint]
                       ) -> tuple[dict[str, GradePolicy], dict[int, GradePolicy]]:
    """The current version of each grade (as ``grade_policies``) and, by id, the versions the
    ``complaints`` were graded under (``policy_of``'s ``versions``), in one query whatever the
    number of complaints."""
    ids = {c.grade_policy_id for c in complaints if c.grade_policy_id}
    newest = (GradePolicy.objects.filter(grade=OuterRef("grade")).order_by("-version")
              .values("version")[:1])
    wanted = Q(version=Subquery(newest))
    if ids:
        wanted |= Q(pk__in=ids)
    versions = {p.pk: p for p in GradePolicy.objects.filter(wanted)}
    current: dict[str, GradePolicy] = {}
    for version in versions.values():  # every grade's newest is among them
        if version.grade not in current or version.version > current[version.grade].version:
            current[version.grade] = version
    for grade in Grade.values:
        current.setdefault(grade, GradePolicy(grade=grade, requires_8d=grade in ("A", "B")))
    return current, versions


def ungraded_policy(policy: ComplaintPolicy, grades: Mapping[str, GradePolicy]) -> GradePolicy:
    """The rules of a complaint not graded yet, as an (unsaved) policy: the chain policy's
    hours before grading, the shortest escalation interval of the current grades, no first
    response deadline, no 8D report."""
    return GradePolicy(
        grade="", resolution_hours=policy.ungraded_resolution_hours, first_response_hours=None,
        escalation_interval_hours=min((p.escalation_interval_hours for p in grades.values()),
                                      default=DEFAULT_ESCALATION_HOURS),
        requires_8d=False)


def internal_policy(policy: ComplaintPolicy, grades: Mapping[str, GradePolicy]) -> GradePolicy:
    """The rules of an internal complaint (a store's complaint to an HQ department), as an
    (unsaved) policy: never graded, the chain policy's ``internal_resolution_hours`` (24 by
    default, as a customer complaint), the escalation interval of ungraded complaints, no first
    response deadline, no 8D report, no recurrence checks."""
    return GradePolicy(
        grade="", resolution_hours=policy.internal_resolution_hours, first_response_hours=None,
        escalation_interval_hours=ungraded_policy(policy, grades).escalation_interval_hours,
        requires_8d=False, recurrence_days=[])


def policy_of(complaint: Complaint, grades: Mapping[str, GradePolicy] | None = None, *,
              policy: ComplaintPolicy | None = None,
              versions: Mapping[int, GradePolicy] | None = None) -> GradePolicy:
    """The one owner of which grade policy applies to ``complaint``: the version it was graded
    under (``Complaint.grade_policy``), else the current version of its grade, else, while it
    is ungraded, ``ungraded_policy``. A later change of the grade's policy never changes it.

    Reads nothing it is given: ``grades`` (``grade_policies()``), ``policy`` (the chain
    policy) and ``versions`` (``grade_policies_for`` a set of complaints) let a caller
    with many complaints read each once; what is missing is read here. An internal complaint
    runs on ``internal_policy``."""
    if complaint.kind == ComplaintKind.INTERNAL:
        grades = grades if grades is not None else grade_policies()
        return internal_policy(policy or ComplaintPolicy.current(), grades)
    if complaint.grade:
        version = None
        if complaint.grade_policy_id:
            if versions is not None and complaint.grade_policy_id in versions:
                version = versions[complaint.grade_policy_id]
            else:  # read once and kept on the complaint (the page shows it too)
                version = complaint.grade_policy
        if version is not None and version.grade == complaint.grade:
            return version
        return (grades if grades is not None else grade_policies())[complaint.grade]
    grades = grades if grades is not None else grade_policies()
    return ungraded_policy(policy or ComplaintPolicy.current(), grades)


def budget_seconds(grade_policy: GradePolicy) -> float:
    """The resolution budget of a complaint under ``grade_policy`` (``policy_of``: its
    version's hours, or the chain policy's hours before grading)."""
    return grade_policy.resolution_hours * 3600.0


def opening_hours(*, store_ids: Iterable[int], policy: ComplaintPolicy
                  ) -> dict[int, sla.OpeningHours | None]:
    """The hours each store's clock runs on (one query): None runs around the clock, as do
    24-hour stores and stores without hours, and every store unless the policy says so."""
    ids = set(store_ids)
    result: dict[int, sla.OpeningHours | None] = dict.fromkeys(ids)
    if not policy.business_hours_clock or not ids:
        return result
    zone = chain_zone()
    for row in StoreHours.objects.filter(store_id__in=ids, open_24h=False):
        result[row.store_id] = sla.OpeningHours(row.opens_at, row.closes_at, zone)
    return result


class SlaClock(sla.ClockState):
    """An open complaint's clock (``sla.ClockState``) as the pages show it: the time left in
    words (``sla.time_left``: "还剩 5 小时" / "已超时 6 小时"), "due soon" while warning."""

    __slots__ = ()

    @classmethod
    def of(cls, state: sla.ClockState) -> SlaClock:
        return cls(*astuple(state))

    @property
    def hm(self) -> str:
        """The time left (or overdue by), in working hours and whole minutes: ``h:mm``."""
        minutes = int(abs(self.left_seconds)) // 60
        return f"{minutes // 60}:{minutes % 60:02d}"

    @property
    def badge(self) -> str:
        return {sla.ON_TIME: "good", sla.WARNING: "warn", sla.OVERDUE: "bad"}[self.state]

    @property
    def time_left(self) -> sla.TimeLeft:
        """The signed time left and its phrase (``sla.time_left``: "还剩 5 小时")."""
        return sla.time_left(self)

    @property
    def label(self) -> str:
        text = self.time_left.phrase
        if self.state == sla.WARNING:
            text = pgettext("sla clock", "Due soon: %(time_left)s") % {"time_left": text}
        return _("%(clock)s (clock paused)") % {"clock": text} if self.paused else text


def sla_clocks(*, complaints: Iterable[Complaint], now: datetime | None = None
               ) -> dict[int, SlaClock]:
    """The SLA clock of each open complaint (closed and resolved ones have none), by id.

    Applies everything the clock runs on: time spent before pauses and the running segment,
    the store's opening hours, the current cycle after a reopen, and HQ's warning fraction.
    Each complaint runs on its own grade policy version (``policy_of``). A fixed number of
    queries whatever the number of complaints (the policy, the grade policy versions, the
    stores' opening hours)."""
    rows = [c for c in complaints if c.status in OPEN_STATUSES]
    if not rows:
        return {}
    now = now or timezone.now()
    policy = ComplaintPolicy.current()
    grades, versions = grade_policies_for(rows)
    hours = opening_hours(store_ids={c.store_id for c in rows}, policy=policy)
    clocks = {}
    for complaint in rows:
        rules = policy_of(complaint, grades, policy=policy, versions=versions)
        state = sla.clock_state(
            spent_seconds=complaint.sla_spent_seconds, running_since=complaint.clock_started_at,
            due_at=complaint.due_at, warn_at=complaint.warn_at,
            budget_seconds=budget_seconds(rules),
            warn_fraction=policy.warn_fraction, hours=hours[complaint.store_id], now=now)
        clocks[complaint.pk] = SlaClock.of(state)
    return clocks


# --- HQ setup: the policies as the setup pages show them ----------------------------------------

# The points a graded complaint deducts are the scoring scheme's: scoring sits above complaints
# in the layers, so it hands its reader in at startup (``scoring.apps``) and the complaint
# setup page shows the points read-only without importing scoring.
def deduction_points() -> dict[str, float] | None:
    """The current scoring scheme's deduction per grade, shown beside the grade policies. The
    scheme owns the points and complaints sits below scoring, so the wiring names the reader in
    ``settings.COMPLAINT_GRADE_POINTS`` (as ``surveys.weights`` reads the weights); None when
    it names none."""
    path = getattr(settings, "COMPLAINT_GRADE_POINTS", "")
    return import_string(path)() if path else None


def _merged(*lists: list[history.Change], limit: int) -> list[history.Change]:
    return sorted((c for changes in lists for c in changes), key=lambda c: c.at,
                  reverse=True)[:limit]


def grade_policy_versions(*, grade: str = "") -> list[GradePolicy]:
    """The versions of one grade's policy (every grade's without ``grade``), by grade, newest
    first, each with who wrote it (``created_by``) and ``graded``: how many complaints were
    graded under it (one grouped query)."""
    versions = (GradePolicy.objects.select_related("created_by")
                .annotate(graded=Count("complaints")).order_by("grade", "-version"))
    if grade:
        versions = versions.filter(grade=grade)
    return list(versions)


def days_text(days: Iterable[int] | None) -> str:
    """Recurrence check days as HQ types them: "30, 60, 90"."""
    return ", ".join(str(day) for day in days or [])


def _grade_subject(grade: str, version: int) -> str:
    return _("Grade %(grade)s v%(version)s") % {"grade": grade, "version": version}


# What a new version is compared with its predecessor on (not its key, who or when).
GRADE_VERSION_SKIP = ("grade", "version", "created_at", "created_by", "recurrence_days")


def _grade_version_fields(older: GradePolicy | None, newer: GradePolicy
                          ) -> tuple[history.FieldChange, ...]:
    found = history.field_changes(GradePolicy, older, newer, history.editable_fields(
        GradePolicy, exclude=GRADE_VERSION_SKIP))
    if older is None or list(older.recurrence_days) != list(newer.recurrence_days):
        found += (history.FieldChange(
            history.label(history.model_field(GradePolicy, "recurrence_days")),
            days_text(older.recurrence_days) if older is not None else None,
            days_text(newer.recurrence_days)),)
    return found


def _grade_version_changes(limit: int) -> list[history.Change]:
    """Each version after a grade's first, as a change of that grade by whoever wrote it:
    what differs from the version before (two queries)."""
    newest = list(GradePolicy.objects.filter(version__gt=1).select_related("created_by")
                  .order_by("-created_at", "-pk")[:limit])
    if not newest:
        return []
    wanted = Q()
    for version in newest:
        wanted |= Q(grade=version.grade, version=version.version - 1)
    before = {(p.grade, p.version): p for p in GradePolicy.objects.filter(wanted)}
    result = []
    for version in newest:
        older = before.get((version.grade, version.version - 1))
        user = version.created_by
        result.append(history.Change(
            at=version.created_at, user=user.get_username() if user else "",
            subject=_grade_subject(version.grade, version.version),
            action=pgettext("history", "Changed") if older is not None
            else pgettext("history", "Created"),
            reason="", fields=_grade_version_fields(older, version)))
    return result


def complaint_policy_changes(*, limit: int = history.HISTORY_LIMIT) -> list[history.Change]:
    """Who changed the complaint policy or a grade policy, when, from what: newest first
    (six queries). A grade policy's new version reads as a change of the grade by the HQ user
    who wrote it, against the version before; the simple-history rows of the grade policies
    still give the first versions (and any change made to a row before versions existed)."""
    return _merged(history.changes(ComplaintPolicy.history.all(), limit=limit),
                   history.changes(GradePolicy.history.exclude(history_type="+", version__gt=1),
                                   limit=limit,
                                   describe=lambda record: _grade_subject(record.grade,
                                                                          record.version)),
                   _grade_version_changes(limit),
                   limit=limit)


def store_hours_list(*, query: str = "", region: Region | None = None) -> QuerySet[Store]:
    """Stores by code with their opening hours (``complaint_hours``, absent: none set), found
    by code or name and region."""
    stores = Store.objects.select_related("region", "complaint_hours").order_by("code")
    if query:
        stores = stores.filter(Q(code__istartswith=query) | Q(name__icontains=query))
    if region is not None:
        stores = stores.filter(region=region)
    return stores


def store_hours_changes(*, store_ids: Iterable[int] | None = None,
                        limit: int = history.HISTORY_LIMIT) -> list[history.Change]:
    """Who set which store's opening hours, from what, newest first (two queries); only the
    given stores' when ``store_ids`` is given."""
    records = StoreHours.history.select_related("store")
    if store_ids is not None:
        records = records.filter(store_id__in=list(store_ids))
    return history.changes(records, limit=limit,
                           describe=lambda record: record.store.code if record.store
                           else str(record.store_id))


# --- Contract with scoring (docs/architecture.md) ---------------------------------------------

def _quarter_received(quarter: Quarter) -> QuerySet[Complaint]:
    """Customer complaints received in the quarter: an internal complaint never deducts."""
    return Complaint.objects.customer().filter(received_at__gte=quarter.start(),
                                               received_at__lt=quarter.end())


def deduction_frame(*, quarter: Quarter) -> pd.DataFrame:
    """One row per complaint received in the quarter, graded and substantiated (appeal
    decisions are already applied to the complaint's grade and substantiation)."""
    rows = list(_quarter_received(quarter).exclude(grade="").filter(substantiated=True)
                .order_by("pk").values_list("pk", "store_id", "employee_id", "grade"))
    frame = pd.DataFrame(rows, columns=DEDUCTION_COLUMNS)
    return frame.astype({"complaint_id": "int64", "store_id": "int64", "employee_id": "Int64",
                         "grade": "object"})


def complaint_trace(*, quarter: Quarter, store_id: int,
                    employee_id: int | None = None) -> QuerySet[Complaint]:
    qs = (_quarter_received(quarter).exclude(grade="").filter(substantiated=True,
                                                              store_id=store_id))
    if employee_id is not None:
        qs = qs.filter(employee_id=employee_id)
    return qs.select_related("store", "employee").order_by("received_at", "pk")


def open_appeals(*, quarter: Quarter) -> QuerySet[Appeal]:
    """The open appeals on complaints received in the quarter (they block its publishing)."""
    return Appeal.objects.filter(
        status=AppealStatus.OPEN, complaint__kind=ComplaintKind.CUSTOMER,
        complaint__received_at__gte=quarter.start(),
        complaint__received_at__lt=quarter.end())


def open_appeals_exist(*, quarter: Quarter) -> bool:
    return open_appeals(quarter=quarter).exists()


# --- Figures --------------------------------------------------------------------------------

RECURRENCE_WINDOW = timedelta(days=90)  # the recurrence rate's, whatever the checks' intervals
LEVELS = {"store": ("store_id", "store__code", "store__name"),
          "region": ("store__region_id", "store__region__code", "store__region__name"),
          "chain": ()}


@dataclass
class FigureRow:
    key: str
    name: str
    total: int
    by_grade: dict[str, int]
    ungraded: int
    substantiated: int
    resolved: int
    on_time: int
    closed: int
    closed_satisfied: int
    second: int
    mean_hours: float | None
    # Closed in the period (whenever received), and of those, with a recurrence linked within
    # ``RECURRENCE_WINDOW`` of closing.
    closed_in_period: int = 0
    recurred: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.on_time, self.resolved)

    @property
    def closed_loop_rate(self) -> float | None:
        """闭环处理率: complaints received in the period that are closed with the customer's
        confirmation (closed, customer satisfied) / complaints received in the period."""
        return ratio(self.closed_satisfied, self.total)

    @property
    def satisfaction_rate(self) -> float | None:
        """Satisfaction with the resolution: of the complaints received in the period and
        closed, the share closed with the customer satisfied."""
        return ratio(self.closed_satisfied, self.closed)

    @property
    def recurrence_rate(self) -> float | None:
        """Complaints closed in the period with a recurrence (a complaint linked to them,
        received within ``RECURRENCE_WINDOW`` of closing) / complaints closed in the period."""
        return ratio(self.recurred, self.closed_in_period)

    @property
    def second_rate(self) -> float | None:
        return ratio(self.second, self.total)

    def as_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "total": self.total,
                "by_grade": self.by_grade, "ungraded": self.ungraded,
                "substantiated": self.substantiated, "resolved": self.resolved,
                "on_time_rate": self.on_time_rate, "closed": self.closed,
                "closed_satisfied": self.closed_satisfied,
                "closed_loop_rate": self.closed_loop_rate,
                "satisfaction_rate": self.satisfaction_rate,
                "closed_in_period": self.closed_in_period, "recurred": self.recurred,
                "recurrence_rate": self.recurrence_rate, "second": self.second,
                "second_complaint_rate": self.second_rate,
                "mean_handling_hours": self.mean_hours}


@dataclass
class Figures:
    start: datetime
    end: datetime
    level: str
    rows: list[FigureRow]
    pareto: list[dict] = field(default_factory=list)


def ratio(part: int, whole: int) -> float | None:
    """A rate in percent with one decimal, None when there is nothing to divide."""
    if not whole:
        return None
    return round(100.0 * part / whole, 1)


def pareto(counts: dict[str, int]) -> list[dict]:
    """Categories by count, largest first, with each one's share and the cumulative share."""
    total = sum(counts.values())
    rows, running = [], 0
    for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if not count:
            continue
        running += count
        rows.append({"key": key, "count": count, "share": ratio(count, total),
                     "cumulative": ratio(running, total)})
    return rows


def complaint_counts_by_store(*, start: datetime, end: datetime,
                              store_ids: list[int] | None = None,
                              kind: str = ComplaintKind.CUSTOMER) -> dict[int, int]:
    """Complaints of ``kind`` (customer complaints unless told) received in [start, end) per
    store id (``store_ids``: only those stores)."""
    complaints = Complaint.objects.filter(kind=kind, received_at__gte=start,
                                          received_at__lt=end)
    if store_ids is not None:
        complaints = complaints.filter(store_id__in=store_ids)
    return dict(complaints.values("store_id").annotate(n=Count("pk")).order_by()
                .values_list("store_id", "n"))


def figure_period(*, quarter: Quarter | None = None, start: date | None = None,
                  end: date | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the figures: a date range, else a quarter (default the current one)."""
    if start or end:
        if not (start and end) or end < start:
            raise ApplicationError(_("Give both dates, the second not before the first."),
                                   fields={"end": [_("Invalid date range.")]})
        first, last = REQUEST_YEARS  # beyond them a day's neighbour may not exist
        outside = {name: [_("Invalid date range.")] for name, day in (("start", start),
                   ("end", end)) if not first <= day.year <= last}
        if outside:
            raise ApplicationError(_("Give both dates, the second not before the first."),
                                   fields=outside)
        zone = chain_zone()
        return (datetime.combine(start, time.min, tzinfo=zone),
                datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))
    chosen = quarter or Quarter.current()
    return chosen.start(), chosen.end()


def complaint_figures(*, user: User, start: datetime, end: datetime,
                      level: str = "store") -> Figures:
    """Complaints received in [start, end) per store, region or the chain, scoped to ``user``;
    the recurrence rate over the complaints closed in [start, end).

    One grouped query for the figures, one for the categories, one grouped query for the
    recurrences (a level with closings but no complaint received in the period gets a row)."""
    group = LEVELS[level]
    base = scope_to_stores(Complaint.objects.customer().filter(received_at__gte=start,
                                                               received_at__lt=end), user)
    handling = ExpressionWrapper(F("resolved_at") - F("received_at"),
                                 output_field=DurationField())
    aggregates = {
        "total": Count("pk"),
        **{f"grade_{g}": Count("pk", filter=Q(grade=g)) for g in Grade.values},
        "ungraded": Count("pk", filter=Q(grade="")),
        "substantiated": Count("pk", filter=Q(substantiated=True) & ~Q(grade="")),
        "resolved": Count("pk", filter=Q(resolved_on_time__isnull=False)),
        "on_time": Count("pk", filter=Q(resolved_on_time=True)),
        "closed": Count("pk", filter=Q(status=Status.CLOSED)),
        "closed_satisfied": Count("pk", filter=Q(status=Status.CLOSED,
                                                 customer_satisfied=True)),
        "second": Count("pk", filter=Q(is_second=True)),
        "mean_handling": Avg(handling, filter=Q(resolved_at__isnull=False)),
    }
    if group:
        values = list(base.values(*group).annotate(**aggregates).order_by(group[1]))
    else:
        values = [item for item in [base.aggregate(**aggregates)] if item["total"]]
    rows = []
    for item in values:
        mean = item["mean_handling"]
        rows.append(FigureRow(
            key=item[group[1]] if group else "chain",
            name=item[group[2]] if group else "",
            total=item["total"], by_grade={g: item[f"grade_{g}"] for g in Grade.values},
            ungraded=item["ungraded"], substantiated=item["substantiated"],
            resolved=item["resolved"], on_time=item["on_time"], closed=item["closed"],
            closed_satisfied=item["closed_satisfied"], second=item["second"],
            mean_hours=round(mean.total_seconds() / 3600, 1) if mean is not None else None))
    rows = _with_recurrences(rows, user=user, start=start, end=end, group=group)
    categories = dict.fromkeys(Category.values, 0)
    categories.update(dict(base.order_by().values("category").annotate(n=Count("pk"))
                           .values_list("category", "n")))
    return Figures(start=start, end=end, level=level, rows=rows, pareto=pareto(categories))


def _with_recurrences(rows: list[FigureRow], *, user: User, start: datetime, end: datetime,
                      group: tuple[str, ...]) -> list[FigureRow]:
    """``rows`` with the complaints closed in [start, end) and those that recurred, per level
    (one grouped query); a level with closings only gets a row of its own."""
    recurrence = Complaint.objects.filter(
        recurrence_of=OuterRef("pk"), received_at__gte=OuterRef("closed_at"),
        received_at__lte=OuterRef("closed_at") + RECURRENCE_WINDOW)
    closed = scope_to_stores(Complaint.objects.customer().filter(
        status=Status.CLOSED, closed_at__gte=start, closed_at__lt=end), user)
    counts = {"closed_in_period": Count("pk"),
              "recurred": Count("pk", filter=Q(Exists(recurrence)))}
    if group:
        values = list(closed.values(*group).annotate(**counts).order_by(group[1]))
    else:
        values = [item for item in [closed.aggregate(**counts)] if item["closed_in_period"]]
    by_key = {row.key: row for row in rows}
    for item in values:
        key = item[group[1]] if group else "chain"
        row = by_key.get(key)
        if row is None:
            row = by_key[key] = FigureRow(
                key=key, name=item[group[2]] if group else "", total=0,
                by_grade=dict.fromkeys(Grade.values, 0), ungraded=0, substantiated=0,
                resolved=0, on_time=0, closed=0, closed_satisfied=0, second=0,
                mean_hours=None)
        row.closed_in_period, row.recurred = item["closed_in_period"], item["recurred"]
    return sorted(by_key.values(), key=lambda row: row.key)


# --- Product complaints (``services.products``) ---------------------------------------------

@dataclass
class ProductBatch:
    """One medicine batch complained about: how many complaints, in how many stores and
    regions, how many suspected adverse reactions, first and last received."""

    manufacturer: str
    batch_no: str
    medicine_name: str
    complaints: int
    stores: int
    regions: int
    adr: int
    first_received: datetime
    last_received: datetime


def product_batches(*, user: User, start: datetime, end: datetime) -> list[ProductBatch]:
    """Product complaints received in [start, end), scoped to ``user``, grouped by
    manufacturer, batch and medicine: one bad batch is one row however many stores it
    reached. Most stores first. One grouped query."""
    products = scope_to_stores(
        ComplaintProduct.objects.filter(complaint__received_at__gte=start,
                                        complaint__received_at__lt=end),
        user, store_field="complaint__store")
    rows = (products.values("manufacturer", "batch_no", "medicine_name")
            .annotate(complaints=Count("complaint_id"),
                      stores=Count("complaint__store_id", distinct=True),
                      regions=Count("complaint__store__region_id", distinct=True),
                      adr=Count("pk", filter=Q(suspected_adr=True)),
                      first_received=Min("complaint__received_at"),
                      last_received=Max("complaint__received_at"))
            .order_by("-stores", "-complaints", "manufacturer", "batch_no", "medicine_name"))
    return [ProductBatch(**row) for row in rows]


def adr_reports(*, user: User, start: datetime, end: datetime) -> QuerySet[ComplaintProduct]:
    """Suspected adverse drug reactions in complaints received in [start, end), scoped to
    ``user``, oldest first, with what the report needs joined (no customer contact)."""
    return (scope_to_stores(ComplaintProduct.objects.filter(
        suspected_adr=True, complaint__received_at__gte=start,
        complaint__received_at__lt=end), user, store_field="complaint__store")
        .select_related("complaint", "complaint__store", "complaint__store__region",
                        "complaint__received_by")
        .order_by("complaint__received_at", "pk"))


# --- Early warning: complaint spikes ------------------------------------------------------------

SPIKE_LIMIT = 200


def complaint_spikes(*, user: User, start: datetime, end: datetime) -> list[ComplaintSpike]:
    """Complaint spikes seen in [start, end) (first seen before the end, last seen on or after
    the start, in chain days), open ones first, then the most recent; at most ``SPIKE_LIMIT``.

    Scoped: HQ and HR see all; a regional manager his regions' spikes and their stores'; a
    store manager or clerk his stores' store-level spikes only (a region's spike is not his)."""
    zone = chain_zone()
    first_day = timezone.localtime(start, zone).date()
    end_day = timezone.localtime(end, zone).date()
    spikes = ComplaintSpike.objects.filter(started_on__lt=end_day, last_seen_on__gte=first_day)
    if not sees_all_stores(user):
        visible = Q(scope=SpikeScope.STORE, store__in=visible_store_ids(user))
        if user.is_authenticated and user.is_active and user.role == Role.REGIONAL_MANAGER:
            visible |= Q(scope=SpikeScope.REGION, region__in=user.regions.all())
        spikes = spikes.filter(visible)
    return list(spikes.select_related("store", "region", "store__region")
                .order_by(F("ended_on").desc(nulls_first=True), "-last_seen_on",
                          "-peak_count", "pk")[:SPIKE_LIMIT])


# --- Internal complaints: the stores' complaints to HQ departments -------------------------------

def scope_internal(queryset: QuerySet[Complaint], user: User) -> QuerySet[Complaint]:
    """The internal complaints ``user`` sees: HQ all; a department head those to the
    departments they head (from any store); store managers, clerks and regional managers those
    of the stores they see (``visible_store_ids``); nobody else any (HR and shoppers too)."""
    queryset = queryset.internal()
    if not (user.is_authenticated and user.is_active):
        return queryset.none()
    if user.is_superuser or user.role == Role.HQ_ADMIN:
        return queryset
    if user.role == Role.DEPARTMENT_HEAD:
        return queryset.filter(department__in=headed_departments(user).values("pk"))
    if user.role in (Role.STORE_MANAGER, Role.CLERK, Role.REGIONAL_MANAGER):
        return queryset.filter(store__in=visible_store_ids(user))
    return queryset.none()


def internal_complaint_list(*, user: User, status: str = "", department_code: str = "",
                            overdue: bool = False, mine: bool = False) -> QuerySet[Complaint]:
    """The internal complaints ``user`` sees (``scope_internal``), newest first, filtered as
    the customer list is (``overdue``: open, running and past its due time)."""
    qs = _handling_filters(
        scope_internal(Complaint.objects.all(), user).select_related(
            "store", "department", "owner", "received_by"),
        user=user, status=status, overdue=overdue, mine=mine)
    if department_code:
        qs = qs.filter(department__code=department_code)
    return qs.order_by("-received_at", "-pk")


def internal_complaint_get(*, user: User, pk: int) -> Complaint:
    """An internal complaint ``user`` sees (``scope_internal``), else 404."""
    try:
        return scope_internal(Complaint.objects.select_related(
            "store", "store__region", "department", "owner", "received_by"), user).get(pk=pk)
    except Complaint.DoesNotExist:
        raise Http404 from None


def department_heads(department_ids: Iterable[int]) -> dict[int, list[User]]:
    """The active heads of each department, by department id (two queries)."""
    pairs = list(User.departments.through.objects.filter(
        department_id__in=set(department_ids), user__role=Role.DEPARTMENT_HEAD,
        user__is_active=True).values_list("department_id", "user_id"))
    users = User.objects.in_bulk({user_id for _d, user_id in pairs})
    result: dict[int, list[User]] = {}
    for department_id, user_id in sorted(pairs):
        result.setdefault(department_id, []).append(users[user_id])
    return result


@dataclass
class InternalFigureRow:
    """A department's internal complaints received in a period, in one region (or all, when
    ``region_id`` is None)."""

    department_id: int
    region_id: int | None
    total: int = 0
    open: int = 0
    overdue: int = 0
    resolved: int = 0
    on_time: int = 0
    closed: int = 0
    closed_satisfied: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.on_time, self.resolved)

    @property
    def satisfied_rate(self) -> float | None:
        """Closed with the store satisfied / closed."""
        return ratio(self.closed_satisfied, self.closed)


def internal_complaint_figures(*, start: datetime, end: datetime,
                               departments: Iterable[Department],
                               now: datetime | None = None) -> list[InternalFigureRow]:
    """Per department and region of the filing store, the internal complaints received in
    [start, end): how many, open, overdue (open, running and past due), resolved and of those
    on time, closed and of those with the store satisfied. One grouped query; the caller
    chooses the departments (``satisfaction.scoping.headed_departments``)."""
    now = now or timezone.now()
    rows = (Complaint.objects.internal()
            .filter(received_at__gte=start, received_at__lt=end,
                    department__in=[d.pk for d in departments])
            .values("department_id", "store__region_id")
            .annotate(total=Count("pk"),
                      open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
                      overdue=Count("pk", filter=Q(status__in=OPEN_STATUSES, due_at__lt=now)),
                      resolved=Count("pk", filter=Q(resolved_on_time__isnull=False)),
                      on_time=Count("pk", filter=Q(resolved_on_time=True)),
                      closed=Count("pk", filter=Q(status=Status.CLOSED)),
                      closed_satisfied=Count("pk", filter=Q(status=Status.CLOSED,
                                                            customer_satisfied=True)))
            .order_by("department_id", "store__region_id"))
    return [InternalFigureRow(department_id=row.pop("department_id"),
                              region_id=row.pop("store__region_id"), **row) for row in rows]


def visible_internal_departments(*, user: User) -> QuerySet[Department]:
    """The departments a user's internal complaint list may be filtered by: a department
    head's own, every department for anyone else who sees the list."""
    if user.is_authenticated and user.role == Role.DEPARTMENT_HEAD and not user.is_superuser:
        return headed_departments(user)
    return Department.objects.all()
