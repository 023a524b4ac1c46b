"""Reads of the dashboards. Every query is scoped (``satisfaction.scoping``) and set-based:
the number of queries of a page does not grow with the number of stores or employees."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from typing import TypeVar

from django.core.cache import cache
from django.db import connection, connections, router
from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Floor, Least
from django.http import Http404
from django.utils import timezone

from complaints.models import OPEN_STATUSES, Complaint, ComplaintKind
from complaints.selectors import complaint_figures, pareto, sla_clocks
from dashboard import calc, rules
from dashboard.models import ActionStatus, ImprovementAction
from mystery_shopper import rules as visit_rules
from mystery_shopper import selectors as visit_selectors
from mystery_shopper.models import (
    Evidence,
    EvidenceKind,
    Visit,
    VisitStatus,
)
from satisfaction.models import Employee, Region, Role, Store, User
from satisfaction.quarters import Quarter
from satisfaction.scoping import scope_to_stores, sees_all_stores, visible_stores
from scoring.models import EmployeeScore, Rollup, RollupStatus, StoreScore
from scoring.selectors import QuarterOption, rollup_for_display, scope_employee_score_rows
from surveys.models import COUNTED_STATUSES, Answer, Indicator, Response
from surveys.results import to_score

TREND_QUARTERS = 8
# Orders on the snapshot's own columns (ties by store id, which follows the store code), so
# the database sorts the narrow snapshot rows before it joins the 50 rows of the page.
RANKING_SORTS = {
    "rank": (F("rank_chain").asc(nulls_last=True), "store_id"),
    "value": (F("value").desc(nulls_last=True), "store_id"),
    "-value": (F("value").asc(nulls_last=True), "store_id"),
    "survey": (F("survey_points").desc(), "store_id"),
    "scenario": (F("scenario_points").desc(), "store_id"),
    "deductions": (F("deductions").desc(), "store_id"),
    "store": ("store__code",),
    "region": ("region_id", F("rank_region").asc(nulls_last=True), "store_id"),
}
MOVERS = 5
T = TypeVar("T")


# --- Which values to show ---------------------------------------------------------------------


def quarter_rollup(*, quarter: Quarter, revision: int | None = None) -> Rollup | None:
    """The quarter's published revision, else its provisional one (or the given revision)."""
    return rollup_for_display(quarter=quarter, revision=revision)


def latest_display_quarter(options: list[QuarterOption]) -> Quarter | None:
    """The newest quarter with values (a provisional or a published revision), read from the
    quarter picker's options (``scoring.selectors.quarter_options``): no query of its own."""
    return next((o.quarter for o in options
                 if o.revision is not None or o.published_at is not None), None)


# --- Region averages of the indicators (cached per rollup) ------------------------------------


def _per_revision(name: str, rollup: Rollup, compute: Callable[[], T]) -> T:
    """``compute()``, cached for a day under the revision and when it was computed: a
    recompute of the revision makes a new key, so nothing needs invalidating."""
    key = f"dashboard:{name}:{rollup.pk}:{rollup.computed_at.timestamp()}"
    cached = cache.get(key)
    if cached is None:
        cached = compute()
        cache.set(key, cached, 60 * 60 * 24)
    return cached


def region_indicator_means(*, rollup: Rollup) -> dict[int, dict[str, float]]:
    """Per region, the mean over its stores of each indicator (0–100), cached per revision."""
    def compute() -> dict[int, dict[str, float]]:
        rows = StoreScore.objects.filter(rollup=rollup).values_list("region_id", "indicators")
        return calc.region_means(rows.iterator(chunk_size=5000))
    return _per_revision("region-indicators", rollup, compute)


# --- Region figures of a revision (cached per rollup) -----------------------------------------


@dataclass(frozen=True)
class RegionFigure:
    """A region's figures in one revision: the mean of its stores' values (stores without a
    value do not count) and how many of its stores are ranked (``rank_region`` set)."""

    mean: float | None
    ranked: int


@dataclass(frozen=True)
class RevisionFigures:
    """Per region, its figures; and how many stores the revision ranks across the chain."""

    regions: dict[int, RegionFigure]
    chain_ranked: int


def revision_figures(*, rollup: Rollup) -> RevisionFigures:
    """The one owner of a region's value and of the rank totals ("28 / 30") of a revision:
    one GROUP BY over its snapshot rows, cached per revision as ``region_indicator_means``."""
    def compute() -> RevisionFigures:
        rows = list(StoreScore.objects.filter(rollup=rollup).order_by().values("region_id")
                    .annotate(mean=Avg("value"), ranked=Count("rank_region"),
                              chain=Count("rank_chain")))
        return RevisionFigures(
            regions={row["region_id"]: RegionFigure(
                mean=None if row["mean"] is None else float(row["mean"]), ranked=row["ranked"])
                for row in rows},
            chain_ranked=sum(row["chain"] for row in rows))
    return _per_revision("revision-figures", rollup, compute)


# --- The store page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The store page's one figure: the value of the quarter shown (its provisional value if
    there is one, else the last published), its change against the last published value before
    it, the region's value of the same revision, and the ranks of that same revision."""

    score: StoreScore
    provisional: bool
    running: bool  # the value is the running quarter's
    baseline: StoreScore | None  # the last published value before the one shown
    change: float | None  # shown value minus the baseline, as both are shown (one decimal)
    region_mean: float | None
    region_ranked: int | None
    chain_ranked: int | None

    @property
    def quarter(self) -> Quarter:
        return self.score.quarter

    @property
    def direction(self) -> str:
        return calc.direction(self.change)

    @property
    def change_abs(self) -> float | None:
        return None if self.change is None else abs(self.change)


@dataclass
class StorePage:
    store: Store
    quarter: Quarter
    provisional: StoreScore | None = None
    published: StoreScore | None = None
    current: StoreScore | None = None  # the one the page details: provisional, else published
    trend: list[tuple[Quarter, float | None]] = field(default_factory=list)
    region_means: dict[str, float] = field(default_factory=dict)
    store_means: dict[str, float] = field(default_factory=dict)
    staff: list[EmployeeScore] = field(default_factory=list)
    baseline: StoreScore | None = None  # the last published value before ``current``


def store_scores(*, store: Store, quarter: Quarter) -> StorePage:
    """The store's values: the running quarter's provisional one, the last published one, the
    trend over the last eight quarters and the indicators beside the region's mean."""
    page = StorePage(store=store, quarter=quarter)
    quarters = quarter.last_n(TREND_QUARTERS)
    scores = list(StoreScore.objects.filter(
        store=store, quarter__in=quarters,
        rollup__status__in=[RollupStatus.PUBLISHED, RollupStatus.PROVISIONAL],
    ).select_related("rollup"))
    by_quarter: dict[Quarter, StoreScore] = {}
    for score in scores:
        shown = by_quarter.get(score.quarter)
        # A quarter shows its published revision, else its provisional one.
        if shown is None or score.rollup.status == RollupStatus.PUBLISHED:
            by_quarter[score.quarter] = score
        if score.quarter == quarter and score.rollup.status == RollupStatus.PROVISIONAL:
            page.provisional = score
    page.trend = [(q, by_quarter[q].value if q in by_quarter else None) for q in quarters]
    published = [s for s in scores if s.rollup.status == RollupStatus.PUBLISHED]
    if published:
        page.published = max(published, key=lambda s: s.quarter)
    else:
        older = (StoreScore.objects.filter(store=store, rollup__status=RollupStatus.PUBLISHED)
                 .select_related("rollup").order_by("-quarter").first())
        page.published = older
        published = [older] if older is not None else []
    page.current = page.provisional or by_quarter.get(quarter) or page.published
    if page.current is not None:
        # A provisional value compares with the last published one (of its own quarter if
        # that was published before a recompute); a published value with the one before it.
        before = [s for s in published if s.pk != page.current.pk
                  and s.quarter <= page.current.quarter
                  and (page.current.rollup.status != RollupStatus.PUBLISHED
                       or s.quarter < page.current.quarter)]
        page.baseline = max(before, key=lambda s: s.quarter, default=None)
    if page.current is not None:
        page.store_means = calc.indicator_means(page.current.indicators)
        page.region_means = region_indicator_means(rollup=page.current.rollup).get(
            store.region_id, {})
    return page


def headline(*, page: StorePage, running_quarter: Quarter) -> Headline | None:
    """The store page's hero figure from the values ``store_scores`` read: ``page.current``
    beside ``page.baseline``, with the region's value and the rank totals of the same revision
    (``revision_figures``)."""
    score = page.current
    if score is None:
        return None
    figures = revision_figures(rollup=score.rollup)
    region = figures.regions.get(score.region_id)
    baseline = page.baseline
    return Headline(
        score=score, provisional=score.rollup.status == RollupStatus.PROVISIONAL,
        running=score.quarter == running_quarter, baseline=baseline,
        change=calc.change(score.value, None if baseline is None else baseline.value),
        region_mean=None if region is None else region.mean,
        region_ranked=None if region is None else region.ranked,
        chain_ranked=figures.chain_ranked)


@dataclass(frozen=True)
class GapRow:
    code: str
    perception: float | None
    expectation: float | None

    @property
    def gap(self) -> float | None:
        if self.perception is None or self.expectation is None:
            return None
        return self.perception - self.expectation


def expectation_gaps(*, store: Store, quarter: Quarter) -> list[GapRow]:
    """Per indicator, perception and expectation (0–100) of the store's counted responses of
    the quarter that answered the expectation question (one GROUP BY)."""
    rows = (Answer.objects.filter(response__store=store, response__campaign__quarter=quarter,
                                  response__status__in=COUNTED_STATUSES,
                                  expectation__isnull=False)
            .values("indicator__code", "response__campaign__scale_max")
            .annotate(perception=Avg("rating"), expectation=Avg("expectation"), n=Count("id")))
    acc: dict[str, list[float]] = {}
    for row in rows:
        scale = row["response__campaign__scale_max"]
        item = acc.setdefault(row["indicator__code"], [0.0, 0.0, 0])
        item[0] += calc_score(row["perception"], scale) * row["n"]
        item[1] += calc_score(row["expectation"], scale) * row["n"]
        item[2] += row["n"]
    return [GapRow(code=code, perception=p / n, expectation=e / n)
            for code, (p, e, n) in acc.items() if n]


def calc_score(mean_rating: float, scale_max: int) -> float:
    return to_score(float(mean_rating), int(scale_max))


def indicator_labels() -> dict[str, str]:
    """Indicator code -> its name in the current language (HQ may rename or add indicators)."""
    return {i.code: i.name for i in Indicator.objects.only("code", "name_zh", "name_en")}


def open_complaints(*, store: Store, limit: int = 50) -> list:
    """The store's open complaints, the most urgent first: overdue ones first (the most overdue
    first), then the least time left; each with ``clock``: its time left and state as the
    complaints module's SLA clock gives them (``complaints.selectors.sla_clocks``, the same
    figure and words as on the complaint pages). Paused clocks count with the time they have
    left."""
    complaints = list(Complaint.objects.customer().filter(store=store, status__in=OPEN_STATUSES)
                      .select_related("employee")
                      .order_by(F("due_at").asc(nulls_last=True), "received_at")[:limit])
    clocks = sla_clocks(complaints=complaints)
    for complaint in complaints:
        complaint.clock = clocks.get(complaint.pk)
    return sorted(complaints, key=lambda c: calc.urgency(
        None if c.clock is None else c.clock.left_seconds))


def approved_visits(*, store: Store, with_photos: bool, limit: int = 3) -> list:
    """The latest approved mystery-shopper reports (never the shopper), with their photos when
    ``with_photos`` (``mystery_shopper.rules.can_see_store_evidence``, the store side of
    ``visit_files_seen``; else ``photos`` is empty)."""
    photos = Evidence.objects.filter(kind=EvidenceKind.PHOTO, appeal__isnull=True).only(
        "public_id", "visit_id", "kind", "uploaded_at")
    if not with_photos:
        photos = photos.none()
    return list(Visit.objects.filter(store=store, status=VisitStatus.APPROVED)
                .select_related("employee")
                .only("id", "store_id", "visited_on", "score_pct", "red_line", "employee__name",
                      "employee__number", "purchase_points", "purchase_max", "process_points",
                      "process_max", "image_points", "image_max", "review_comment",
                      "public_id")
                .order_by(F("visited_on").desc(nulls_last=True), "-pk")
                .prefetch_related(Prefetch("evidence", queryset=photos, to_attr="photos"))
                [:limit])


def store_actions(*, store: Store) -> list[ImprovementAction]:
    """The store's actions: open and done ones, and those reviewed in the last year."""
    year_ago = timezone.now() - timedelta(days=365)
    return list(ImprovementAction.objects.filter(store=store).exclude(
        status=ActionStatus.REVIEWED, reviewed_at__lt=year_ago).select_related("owner")
        .order_by("status", "deadline", "pk")[:50])


def action_is_overdue(action: ImprovementAction, today: date) -> bool:
    return action.status == ActionStatus.OPEN and action.deadline < today


def action_list(*, user: User) -> QuerySet[ImprovementAction]:
    return scope_to_stores(ImprovementAction.objects.all(), user).select_related(
        "store", "owner")


def user_home_store(*, user: User) -> Store | None:
    return visible_stores(user).order_by("code").first()


@dataclass
class StorePageData:
    """Everything the store page shows, read in a fixed number of queries."""

    store: Store
    quarter: Quarter
    is_running: bool
    page: StorePage
    headline: Headline | None
    indicator_rows: list[tuple[str, float | None, float | None]]
    weakest: list[dict]
    gap_rows: list[dict]
    components: list[tuple[str, float]]
    trend: list[tuple[str, float | None]]
    complaints: list[Complaint]
    overdue_complaints: int  # of ``complaints``, those whose SLA clock is overdue
    visits: list[Visit]
    staff: list[EmployeeScore]
    unscored_staff: list[Employee]
    actions: list[ImprovementAction]
    overdue_count: int
    can_manage: bool
    figures_key: str = ""  # ``StoreFigures.key``: the cached fragments of the page use it
    staff_key: str = ""  # the staff rows shown (the reader's scope) and the unscored staff


    @property
    def score(self) -> StoreScore | None:
        return self.page.current

    def context(self) -> dict:
        """The template's names (a shallow copy: model instances stay as they are)."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "score": self.score}


COMPONENTS = ("survey", "scenario", "deductions")


def _component_rows(score: StoreScore | None) -> list[tuple[str, float]]:
    """``(component, points)``: survey and scenario points, deductions as a negative."""
    if score is None:
        return []
    return list(zip(COMPONENTS, (score.survey_points, score.scenario_points, -score.deductions),
                    strict=True))


def _indicator_rows(page: StorePage, labels: dict[str, str]
                    ) -> list[tuple[str, float | None, float | None]]:
    codes = [c for c in labels if c in page.store_means or c in page.region_means]
    codes += sorted(c for c in page.store_means if c not in labels)
    return [(labels.get(c, c), page.store_means.get(c), page.region_means.get(c))
            for c in codes]


def _gap_rows(store: Store, quarter: Quarter, labels: dict[str, str]) -> list[dict]:
    order = list(labels)
    rows = [{"label": labels.get(g.code, g.code), "code": g.code, "p": g.perception,
             "e": g.expectation, "gap": g.gap}
            for g in expectation_gaps(store=store, quarter=quarter)]
    return sorted(rows, key=lambda r: order.index(r["code"]) if r["code"] in order else 99)


def _annotated_actions(store: Store, labels: dict[str, str], today: date
                       ) -> list[ImprovementAction]:
    current = Quarter.containing(today)
    actions = store_actions(store=store)
    for action in actions:
        action.overdue = action_is_overdue(action, today)
        action.indicator_label = labels.get(action.indicator_code, action.indicator_code)
        action.reviewable = (action.status != ActionStatus.REVIEWED
                             and calc.action_review_quarter(action.quarter) < current)
    return actions


# --- The store page's cached figures ------------------------------------------------------------

STORE_FIGURES_SECONDS = 60 * 60 * 24


def rollups_version() -> str:
    """What every revision shown anywhere looks like now, in one aggregate over the (small)
    rollup table: a rollup or recompute (new revision, or ``computed_at`` moved), a publication
    (``published_at``) or a superseded or deleted revision (the count) changes it. The
    scoring services own these writes; nothing needs to tell the dashboard."""
    row = Rollup.objects.exclude(status=RollupStatus.SUPERSEDED).aggregate(
        n=Count("pk"), last=Max("pk"), computed=Max("computed_at"),
        published=Max("published_at"))
    return ":".join(str(row[k]) for k in ("n", "last", "computed", "published"))


@dataclass
class StoreFigures:
    """The store page's figures that only a rollup or a publication changes: the values
    (``store_scores``) and every staff row of the shown revision, unscoped
    (``scoring.selectors.scope_employee_score_rows`` applies the reader's scope). ``key``
    names them: the store, the quarter and ``rollups_version``; the page's cached fragments
    use it too."""

    key: str
    page: StorePage
    staff: list[EmployeeScore]


def store_figures(*, store: Store, quarter: Quarter) -> StoreFigures:
    """``store_scores`` and the staff rows, from the cache (``STORE_FIGURES_SECONDS``) under the
    store, the quarter and ``rollups_version``: a new revision or a publication makes a new
    key, so an entry is never invalidated, only no longer read."""
    digest = hashlib.sha256(rollups_version().encode()).hexdigest()[:24]
    key = f"dashboard:store-figures:{store.pk}:{quarter}:{digest}"
    figures = cache.get(key)
    if figures is None:
        page = store_scores(store=store, quarter=quarter)
        staff = [] if page.current is None else list(
            EmployeeScore.objects.filter(rollup_id=page.current.rollup_id, store_id=store.pk)
            .select_related("employee")
            .order_by(F("rank_store").asc(nulls_last=True), "employee__number"))
        figures = StoreFigures(key=key, page=page, staff=staff)
        cache.set(key, figures, STORE_FIGURES_SECONDS)
    # The live store (its name, address, state), never the copy in the cache.
    figures.page = replace(figures.page, store=store)
    return figures


def store_page_data(*, user: User, store: Store, quarter: Quarter, today: date
                    ) -> StorePageData:
    """The store page of ``store`` for ``quarter`` as ``user`` may see it (the caller has
    checked that the store is visible). The values and staff rows come from ``store_figures``
    (cached per revision); complaints, their clocks, visits, actions, survey gaps and the
    store's unscored staff are read live."""
    figures = store_figures(store=store, quarter=quarter)
    page = figures.page
    labels = indicator_labels()
    staff = scope_employee_score_rows(figures.staff, user)
    scored = {score.employee_id for score in staff}
    actions = _annotated_actions(store, labels, today)
    complaints = open_complaints(store=store)
    unscored = [e for e in store.employees.filter(is_active=True).order_by("number")
                if e.pk not in scored]
    staff_key = hashlib.sha256(repr(([s.pk for s in staff], [
        (e.pk, e.name, e.role) for e in unscored])).encode()).hexdigest()
    return StorePageData(
        store=store, quarter=quarter, is_running=quarter == Quarter.containing(today),
        page=page, headline=headline(page=page, running_quarter=Quarter.containing(today)),
        indicator_rows=_indicator_rows(page, labels),
        weakest=[{"code": c, "label": labels.get(c, c), "value": page.store_means[c],
                  "region": page.region_means.get(c)}
                 for c in calc.weakest(page.store_means, page.region_means)],
        gap_rows=_gap_rows(store, quarter, labels),
        components=_component_rows(page.current),
        trend=[(str(q), v) for q, v in page.trend],
        complaints=complaints,
        overdue_complaints=sum(1 for c in complaints
                               if c.clock is not None and c.clock.time_left.overdue),
        visits=approved_visits(store=store, with_photos=visit_rules.can_see_store_evidence(user)),
        staff=staff,
        unscored_staff=unscored, staff_key=staff_key,
        actions=actions, overdue_count=sum(1 for a in actions if a.overdue),
        can_manage=rules.can_manage_actions(user, store),
        # The labels are HQ's to rename: a renamed indicator makes new fragments.
        figures_key=hashlib.sha256(f"{figures.key}:{sorted(labels.items())}".encode())
        .hexdigest())


# --- The ranking ------------------------------------------------------------------------------


def ranking(*, user: User, rollup: Rollup, region_code: str = "", city: str = "",
            query: str = "", sort: str = "rank") -> QuerySet[StoreScore]:
    """The scoped, filtered, sorted snapshot rows of the revision (not yet joined)."""
    scores = scope_to_stores(StoreScore.objects.filter(rollup=rollup), user)
    if region_code:
        scores = scores.filter(region__code=region_code)
    if city:
        scores = scores.filter(store__city=city)
    if query:
        scores = scores.filter(Q(store__code__icontains=query) | Q(store__name__icontains=query))
    return scores.order_by(*RANKING_SORTS.get(sort, RANKING_SORTS["rank"]))


def ranking_rows(*, ids: list[int], previous: Rollup | None) -> list[StoreScore]:
    """The page's rows, in the order of ``ids``, with their store, region and last value."""
    rows = with_previous(scores=StoreScore.objects.filter(pk__in=ids), previous=previous)
    by_id = rows.select_related("store", "region").defer("indicators").in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def value_histogram(*, scores: QuerySet[StoreScore]) -> list[tuple[str, int]]:
    """Counts per ten-point bucket of the values, grouped in the database."""
    bucket = Least(Cast(Floor(F("value") / calc.BUCKET_WIDTH), IntegerField()),
                   Value(calc.BUCKETS - 1))
    rows = (scores.order_by().filter(value__isnull=False).annotate(bucket=bucket)
            .values("bucket").annotate(n=Count("id")).values_list("bucket", "n"))
    return calc.histogram(dict(rows))


def with_previous(*, scores: QuerySet[StoreScore], previous: Rollup | None
                  ) -> QuerySet[StoreScore]:
    if previous is None:
        return scores.annotate(previous_value=Value(None, output_field=FloatField()))
    prior = StoreScore.objects.filter(rollup=previous, store_id=OuterRef("store_id"))
    return scores.annotate(previous_value=Subquery(prior.values("value")[:1],
                                                   output_field=FloatField()))


def movers(*, scores: QuerySet[StoreScore], previous: Rollup | None, count: int = MOVERS
           ) -> tuple[list[StoreScore], list[StoreScore]]:
    """The stores that moved most up and down since the previous quarter.

    One join of the (scoped, filtered) scores with the previous revision's rows on the store,
    ordered by the change both ways, then one query for the rows shown."""
    if previous is None:
        return [], []
    inner = scores.order_by().values("id", "store_id", "value")
    inner_sql, inner_params = inner.query.sql_with_params()
    table = StoreScore._meta.db_table  # noqa: SLF001 - Django's documented model metadata
    joined = (f"SELECT c.id, c.value - p.value AS delta FROM ({inner_sql}) c "  # noqa: S608
              f"JOIN {table} p ON p.store_id = c.store_id AND p.rollup_id = %s "
              "WHERE c.value IS NOT NULL AND p.value IS NOT NULL")
    # Only our own table name and Django-compiled SQL are formatted in; values are parameters.
    sql = (f"SELECT * FROM (SELECT * FROM ({joined}) u WHERE u.delta > 0 "  # noqa: S608
           "ORDER BY u.delta DESC, u.id LIMIT %s) up UNION ALL "
           f"SELECT * FROM (SELECT * FROM ({joined}) d WHERE d.delta < 0 "
           "ORDER BY d.delta ASC, d.id LIMIT %s) down")
    params = [*inner_params, previous.pk, count, *inner_params, previous.pk, count]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        deltas = cursor.fetchall()
    rows = StoreScore.objects.select_related("store", "region").defer("indicators").in_bulk(
        [pk for pk, _delta in deltas])
    up, down = [], []
    for pk, delta in deltas:
        score = rows[pk]
        score.delta = delta
        (up if delta > 0 else down).append(score)
    return up, down


def cities(*, user: User, region_code: str = "") -> list[str]:
    stores = visible_stores(user)
    if region_code:
        stores = stores.filter(region__code=region_code)
    return list(stores.order_by("city").values_list("city", flat=True).distinct()[:500])


# --- Complaint figures ------------------------------------------------------------------------


def complaint_figures_by_region(*, user: User, quarter: Quarter):
    """The complaints app's figures per region (on-time, closed-loop, second-complaint rates
    and the Pareto of categories), scoped to ``user``."""
    return complaint_figures(user=user, start=quarter.start(), end=quarter.end(),
                             level="region")


def complaint_category_pareto(*, user: User, quarter: Quarter, region_code: str) -> list[dict]:
    """The Pareto of one region's categories (the complaints app's figures are per level)."""
    complaints = scope_to_stores(Complaint.objects.customer().filter(
        received_at__gte=quarter.start(), received_at__lt=quarter.end(),
        store__region__code=region_code), user)
    return pareto(dict(complaints.order_by().values("category").annotate(n=Count("id"))
                       .values_list("category", "n")))


def iceberg(*, user: User, quarter: Quarter, region_code: str = "", limit: int = 20
            ) -> tuple[list[dict], dict]:
    """Per store, formal complaints of the quarter beside the counted survey respondents who
    rated at least one indicator at the bottom of the scale (1). The stores with the most
    unhappy respondents first; plus the totals over every visible store."""
    responses = scope_to_stores(Response.objects.filter(
        campaign__quarter=quarter, status__in=COUNTED_STATUSES), user)
    complaints = scope_to_stores(Complaint.objects.customer().filter(
        received_at__gte=quarter.start(), received_at__lt=quarter.end()), user)
    if region_code:
        responses = responses.filter(store__region__code=region_code)
        complaints = complaints.filter(store__region__code=region_code)
    unhappy = responses.filter(Exists(Answer.objects.filter(response_id=OuterRef("pk"),
                                                            rating=1)))
    per_store = (unhappy.order_by().values("store_id").annotate(n=Count("id"))
                 .order_by("-n", "store_id")[:limit])
    top = {row["store_id"]: row["n"] for row in per_store}
    complaint_counts = dict(complaints.filter(store_id__in=list(top)).order_by()
                            .values("store_id").annotate(n=Count("id"))
                            .values_list("store_id", "n")) if top else {}
    stores = Store.objects.in_bulk(list(top)) if top else {}
    rows = [{"store": stores[store_id], "unhappy": n,
             "complaints": complaint_counts.get(store_id, 0)} for store_id, n in top.items()]
    totals = {"unhappy": unhappy.count(), "complaints": complaints.count(),
              "respondents": responses.count()}
    return rows, totals


# --- Mystery-shopper figures ------------------------------------------------------------------


def weakest_scorecard_items(*, user: User, quarter: Quarter, region_code: str = "",
                            limit: int = 10) -> list[dict]:
    """Scorecard items with the lowest share of their points over the approved visits of the
    quarter the user may see — the visits the scoring rollup counts — as the mystery-shopper
    module computes them (``mystery_shopper.selectors.item_point_shares``). One query."""
    visits = scope_to_stores(visit_selectors.approved_visits_in(quarter=quarter), user)
    if region_code:
        visits = visits.filter(store__region__code=region_code)
    return visit_selectors.item_point_shares(visits=visits, limit=limit)


# --- The region page --------------------------------------------------------------------------


def visible_regions(*, user: User) -> QuerySet[Region]:
    """The regions whose page ``user`` may open: every region for those who see every store
    (HQ, HR), a regional manager's own regions, none for anyone else (a store's staff see
    their store, not its region's page)."""
    if sees_all_stores(user):
        return Region.objects.all()
    if rules.can_see_chain_figures(user) and user.role == Role.REGIONAL_MANAGER:
        return user.regions.all()
    return Region.objects.none()


def get_visible_region_or_404(*, user: User, code: str) -> Region:
    try:
        return visible_regions(user=user).get(code=code)
    except Region.DoesNotExist:
        raise Http404 from None


@dataclass
class RegionPage:
    """The region page's values for one quarter, as the store list computes them: the region's
    mean and ranked stores of the revision shown (``revision_figures``), its stores ranked
    (``ranking``), the movers since the previous quarter (``movers``)."""

    region: Region
    quarter: Quarter
    rollup: Rollup | None = None
    previous: Rollup | None = None
    figure: RegionFigure | None = None
    previous_figure: RegionFigure | None = None
    scores: QuerySet[StoreScore] | None = None
    up: list[StoreScore] = field(default_factory=list)
    down: list[StoreScore] = field(default_factory=list)

    @property
    def change(self) -> float | None:
        return calc.change(None if self.figure is None else self.figure.mean,
                           None if self.previous_figure is None else self.previous_figure.mean)

    @property
    def direction(self) -> str:
        return calc.direction(self.change)


def region_page(*, user: User, region: Region, quarter: Quarter) -> RegionPage:
    """The region's values of ``quarter`` (the caller has checked that the region is
    visible); ``scores`` is the ranking, not yet paged."""
    page = RegionPage(region=region, quarter=quarter,
                      rollup=quarter_rollup(quarter=quarter))
    if page.rollup is None:
        return page
    page.previous = quarter_rollup(quarter=quarter.previous())
    page.figure = revision_figures(rollup=page.rollup).regions.get(region.pk)
    if page.previous is not None:
        page.previous_figure = revision_figures(rollup=page.previous).regions.get(region.pk)
    page.scores = ranking(user=user, rollup=page.rollup, region_code=region.code,
                          sort="region")
    page.up, page.down = movers(scores=page.scores, previous=page.previous)
    return page


# --- The store page's stamp (what its cached body is a function of) ----------------------------


def _rows_digest_sql(model: type, where: str, vendor: str) -> str:
    """A scalar subquery over the rows of ``model``'s table that match ``where``: the text of
    every column of every row, in key order. PostgreSQL takes each row whole (``t::text``, one
    cheap expression to plan) and folds the rows with md5; SQLite concatenates the model's
    concrete columns and the caller hashes the text. Either way a column added later is in the
    stamp without anyone remembering to add it."""
    meta = model._meta  # noqa: SLF001 - the model's documented metadata
    quote = connection.ops.quote_name
    table, key = quote(meta.db_table), quote(meta.pk.column)
    if vendor == "postgresql":
        return (f"(SELECT md5(string_agg(t::text, ',' ORDER BY t.{key})) "  # noqa: S608
                f"FROM {table} AS t WHERE {where})")
    text = " || '|' || ".join(f"COALESCE(CAST({quote(f.column)} AS TEXT), '~')"
                              for f in meta.concrete_fields)
    # SQLite (3.40) has no ORDER BY inside an aggregate: it concatenates in the order the
    # ordered subquery yields.
    return (f"(SELECT group_concat(r, ',') FROM (SELECT {text} AS r "  # noqa: S608
            f"FROM {table} WHERE {where} ORDER BY {key}))")


@functools.cache
def _store_page_stamp_sql(vendor: str) -> str:
    """The stamp's one statement (built once per process): named parameters ``store``,
    ``region``, ``quarter`` and the constants below."""
    from complaints.models import ComplaintPolicy, GradePolicy, StoreHours
    from surveys.models import Campaign

    def table(model: type) -> str:
        return connection.ops.quote_name(model._meta.db_table)  # noqa: SLF001

    visits = (f"FROM {table(Visit)} "
              "WHERE store_id = %(store)s AND status = %(approved)s")
    actions = f"FROM {table(ImprovementAction)} WHERE store_id = %(store)s"
    open_statuses = ", ".join(f"%(open_{i})s" for i in range(len(OPEN_STATUSES)))
    parts = [  # store_page_stamp reads the open complaints' digest as the fifth
        (Store, "id = %(store)s"),
        (Region, "id = %(region)s"),
        (Rollup, "status <> %(superseded)s"),
        (Indicator, "1 = 1"),
        (Complaint, ("store_id = %(store)s AND kind = %(customer)s "
                     f"AND status IN ({open_statuses})")),
        (ComplaintPolicy, "1 = 1"),
        (GradePolicy, "1 = 1"),
        (StoreHours, "store_id = %(store)s"),
        (Visit, "store_id = %(store)s AND status = %(approved)s"),
        (Evidence, f"visit_id IN (SELECT id {visits})"),
        (ImprovementAction, "store_id = %(store)s"),
        (Employee, "store_id = %(store)s"),
        # Named on the page from elsewhere (an action's owner, a visit's served-by): separate
        # subqueries, each an index lookup (an OR of them would scan the staff).
        (Employee, f"id IN (SELECT owner_id {actions})"),
        (Employee, f"id IN (SELECT employee_id {visits})"),
        (Campaign, "quarter = %(quarter)s"),
        (Response, ("store_id = %(store)s AND campaign_id IN "  # noqa: S608
                    f"(SELECT id FROM {table(Campaign)} WHERE quarter = %(quarter)s)")),
    ]
    return "SELECT " + ", ".join(_rows_digest_sql(model, where, vendor)
                                 for model, where in parts)


@dataclass(frozen=True)
class StorePageStamp:
    digest: str
    clocks_running: bool  # the store has open customer complaints: their SLA clocks move


def _stamp_constants() -> dict[str, str]:
    """The stamp statement's parameters that are the code's own values, not the page's."""
    return {"superseded": RollupStatus.SUPERSEDED, "customer": ComplaintKind.CUSTOMER,
            "approved": VisitStatus.APPROVED,
            **{f"open_{i}": status for i, status in enumerate(OPEN_STATUSES)}}


@functools.cache
def store_page_stamp_function() -> tuple[str, str]:
    """PostgreSQL: the stamp's statement as a PL/pgSQL function, ``(name, CREATE statement)``.

    PL/pgSQL keeps a statement's plan for the session, so a reload runs the 16 subqueries
    without planning them again: about 0.65 ms a call instead of 1.7 ms, most of it
    PostgreSQL's CPU (docs/scaling.md, "What a reload costs"). The name carries a digest of
    the statement: a changed statement is a new function, which ``migrate`` installs
    (``store_page_stamp_install``, on ``post_migrate``) while the old one stays for processes
    still running the old code. The code's own values are literals in the body; the page's
    are the arguments."""
    literals = {name: "'" + str(value).replace("'", "''") + "'"
                for name, value in _stamp_constants().items()}
    select = _store_page_stamp_sql("postgresql") % {
        "store": "p_store", "region": "p_region", "quarter": "p_quarter", **literals}
    body = "SELECT ARRAY[" + select.removeprefix("SELECT ") + "]"
    name = "dashboard_store_page_stamp_" + hashlib.sha256(body.encode()).hexdigest()[:12]
    create = (f"CREATE OR REPLACE FUNCTION {name}"
              "(p_store bigint, p_region bigint, p_quarter text) RETURNS text[] "
              f"LANGUAGE plpgsql STABLE AS $stamp$ BEGIN RETURN ({body}); END $stamp$")
    return name, create


def store_page_stamp_install(*, using: str) -> None:
    """Create (or replace) ``store_page_stamp_function`` in database ``using`` (PostgreSQL;
    a no-op elsewhere). Run by ``migrate`` through ``post_migrate``: idempotent."""
    database = connections[using]
    if database.vendor != "postgresql":
        return
    _name, create = store_page_stamp_function()
    with database.cursor() as cursor:
        cursor.execute(create)
    _stamp_function_present.pop(using, None)


# Per database alias: whether the stamp's function is installed (asked once per process).
_stamp_function_present: dict[str, bool] = {}


def _stamp_function_ready(database) -> bool:
    """Whether ``database`` has the stamp's function. A database migrated by an older release
    has not: the page then runs the statement itself (planned on every call) until the next
    ``migrate`` and restart, rather than fail."""
    if database.alias not in _stamp_function_present:
        name, _create = store_page_stamp_function()
        with database.cursor() as cursor:
            cursor.execute("SELECT to_regproc(%s) IS NOT NULL", [name])
            _stamp_function_present[database.alias] = cursor.fetchone()[0]
    return _stamp_function_present[database.alias]


def store_page_stamp(*, store: Store, quarter: Quarter) -> StorePageStamp:
    """A digest of every row the store page's body shows or computes from, read in one query:
    the store and its region; the revisions (any rollup, recompute or publication); HQ's
    indicators; the store's open customer complaints and what their SLA clocks run on (the
    complaint policy, the grade policy versions, the store's opening hours); its approved
    visits and their files; its improvement actions; its staff, and the action owners and
    visit staff from elsewhere; the quarter's campaigns and the store's responses to them
    (answers are written once, with their response). Any write to one of these rows, by a
    service, the admin or a bulk update, changes the stamp, so a cached body is never
    invalidated, only no longer read (``dashboard.page_cache``). Not in it, because the cache
    key carries them: the time (the SLA clocks, overdue deadlines), what the reader's role
    shows, and the loyalty figures."""
    database = connections[router.db_for_read(Store)]  # the replica in a replica block
    with database.cursor() as cursor:
        if database.vendor == "postgresql" and _stamp_function_ready(database):
            name, _create = store_page_stamp_function()
            cursor.execute(f"SELECT {name}(%s, %s, %s)",
                           [store.pk, store.region_id, str(quarter)])
            row = cursor.fetchone()[0]
        else:
            cursor.execute(_store_page_stamp_sql(database.vendor), {
                "store": store.pk, "region": store.region_id, "quarter": str(quarter),
                **_stamp_constants()})
            row = cursor.fetchone()
    digest = hashlib.sha256("\x1f".join("" if v is None else str(v) for v in row).encode())
    return StorePageStamp(digest=digest.hexdigest(), clocks_running=row[4] is not None)
