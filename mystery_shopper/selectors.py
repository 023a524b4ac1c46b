"""Reads of mystery-shopper data: scoped lists for pages and the scoring contract's frames."""

from __future__ import annotations

import pandas as pd
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.http import Http404
from django.utils import timezone

from mystery_shopper import rules
from mystery_shopper.models import (
    Appeal,
    AppealStatus,
    Evidence,
    ItemKind,
    ScorecardSection,
    Visit,
    VisitAnswer,
    VisitStatus,
)
from satisfaction.models import User
from satisfaction.quarters import Quarter, chain_zone
from satisfaction.scoping import scope_to_stores

FRAME_COLUMNS = ["visit_id", "store_id", "employee_id", "score_pct", "purchase_points",
                 "purchase_max", "process_points", "process_max", "image_points", "image_max",
                 "red_line"]


def _approved_in(quarter: Quarter) -> QuerySet[Visit]:
    return Visit.objects.filter(status=VisitStatus.APPROVED,
                                visited_on__gte=quarter.first_day,
                                visited_on__lte=quarter.last_day)


# --- The scoring contract ---------------------------------------------------------------------


def approved_visit_frame(*, quarter: Quarter) -> pd.DataFrame:
    """One row per approved visit of the quarter, scores after appeal decisions."""
    rows = list(_approved_in(quarter).order_by("pk").values_list(
        "pk", "store_id", "employee_id", "score_pct", "purchase_points", "purchase_max",
        "process_points", "process_max", "image_points", "image_max", "red_line"))
    frame = pd.DataFrame.from_records(rows, columns=FRAME_COLUMNS)
    frame = frame.astype({"visit_id": "int64", "store_id": "int64", "employee_id": "Int64",
                          "score_pct": "float64", "purchase_points": "float64",
                          "purchase_max": "float64", "process_points": "float64",
                          "process_max": "float64", "image_points": "float64",
                          "image_max": "float64", "red_line": "bool"})
    return frame


def visit_trace(*, quarter: Quarter, store_id: int,
                employee_id: int | None = None) -> QuerySet[Visit]:
    visits = _approved_in(quarter).filter(store_id=store_id)
    if employee_id is not None:
        visits = visits.filter(employee_id=employee_id)
    return visits.order_by("visited_on", "pk")


def open_appeals_exist(*, quarter: Quarter) -> bool:
    return Appeal.objects.filter(status=AppealStatus.OPEN,
                                 visit__visited_on__gte=quarter.first_day,
                                 visit__visited_on__lte=quarter.last_day).exists()


# --- Pages ------------------------------------------------------------------------------------


def shopper_visit_groups(*, shopper: User) -> dict[str, list[Visit]]:
    """A shopper's own visits: due, overdue, done (newest done first)."""
    today = timezone.localdate(timezone=chain_zone())
    visits = (Visit.objects.filter(shopper=shopper).exclude(status=VisitStatus.CANCELLED)
              .select_related("store", "scenario").order_by("due_on", "pk"))
    groups: dict[str, list[Visit]] = {"due": [], "overdue": [], "done": []}
    for visit in visits:
        if visit.status in (VisitStatus.SUBMITTED, VisitStatus.APPROVED):
            groups["done"].append(visit)
        elif visit.due_on < today:
            groups["overdue"].append(visit)
        else:
            groups["due"].append(visit)
    groups["done"].reverse()
    return groups


def shopper_visit_get(*, shopper: User, pk: int) -> Visit:
    try:
        return (Visit.objects.select_related("store", "template", "scenario")
                .get(pk=pk, shopper=shopper))
    except Visit.DoesNotExist:
        raise Http404 from None


def sections_with_items(visit: Visit) -> list[ScorecardSection]:
    return list(ScorecardSection.objects.filter(template=visit.template_id)
                .prefetch_related("items").order_by("position", "pk"))


def store_visit_list(*, user: User, quarter: Quarter | None = None) -> QuerySet[Visit]:
    """Approved reports of the stores ``user`` may see (no shopper in them)."""
    if not rules.can_see_store_visits(user):
        return Visit.objects.none()
    visits = scope_to_stores(Visit.objects.filter(status=VisitStatus.APPROVED), user)
    if quarter is not None:
        visits = visits.filter(visited_on__gte=quarter.first_day,
                               visited_on__lte=quarter.last_day)
    return visits.select_related("store", "employee").order_by("-visited_on", "-pk")


def store_visit_get(*, user: User, pk: int) -> Visit:
    try:
        return (store_visit_list(user=user)
                .select_related("template", "scenario").prefetch_related(
                    "answers", Prefetch("appeals", queryset=Appeal.objects.all()))
                .get(pk=pk))
    except Visit.DoesNotExist:
        raise Http404 from None


def visit_list_for(*, user: User) -> QuerySet[Visit]:
    """The visits ``user`` may read: every visit for HQ, their own for a shopper, the approved
    reports of their stores for everyone else."""
    if rules.can_review_visits(user):
        visits = Visit.objects.all()
    elif rules.can_report_visits(user):
        visits = Visit.objects.filter(shopper=user)
    else:
        visits = store_visit_list(user=user)
    return visits.select_related("store", "employee", "shopper").order_by("due_on", "pk")


def review_list(*, status: str = VisitStatus.SUBMITTED,
                quarter: Quarter | None = None) -> QuerySet[Visit]:
    visits = Visit.objects.select_related("store", "shopper", "employee")
    if status:
        visits = visits.filter(status=status)
    if quarter is not None:
        visits = visits.filter(quarter=quarter)
    return visits.order_by("due_on", "pk")


def evidence_get_for(*, user: User, public_id) -> Evidence:
    """An evidence file if ``user`` may see its visit, else 404.

    HQ: any; the shopper: their own visit's files (not the store's appeal files); regional and
    store managers: approved visits of their stores, with the store's own appeal files
    (``rules.can_see_store_evidence``). HR and clerks read the reports, not the files.
    """
    evidence = (Evidence.objects.select_related("visit").filter(public_id=public_id).first())
    if evidence is None or not user.is_authenticated:
        raise Http404
    visit = evidence.visit
    if rules.can_review_visits(user):
        return evidence
    if rules.can_report_visits(user):
        if rules.can_report(user, visit) and evidence.appeal_id is None:
            return evidence
        raise Http404
    if (rules.can_see_store_evidence(user)
            and store_visit_list(user=user).filter(pk=visit.pk).exists()):
        return evidence
    raise Http404


def appeal_list(*, user: User, status: str = AppealStatus.OPEN) -> QuerySet[Appeal]:
    appeals = Appeal.objects.select_related("visit", "visit__store")
    if status:
        appeals = appeals.filter(status=status)
    return scope_to_stores(appeals, user, "visit__store").order_by("raised_at")





# --- Figures of the scorecard items (the dashboard asks here) ---------------------------------


def approved_visits_in(*, quarter: Quarter) -> QuerySet[Visit]:
    """The approved visits of the quarter (by visit date): the ones the scoring frame counts."""
    return _approved_in(quarter)


def earned_points() -> Case:
    """An answer's points, in SQL, as ``calc.ItemResult.earned`` gives them in Python: a yes/no
    item earns its maximum for a yes (value ≥ 1) and 0 for a no; a points item its value.

    A visit's stored part points are these points summed over the part's applicable answers
    (a red-line visit's parts are then set to its red-line score, ``calc.visit_score``).
    """
    return Case(When(item__kind=ItemKind.YES_NO,
                     then=Case(When(value__gte=1, then=Cast("item__max_points", FloatField())),
                               default=Value(0.0))),
                default=Cast("value", FloatField()), output_field=FloatField())


def item_point_shares(*, visits: QuerySet[Visit], limit: int | None = 10) -> list[dict]:
    """Per scorecard item over the answers of ``visits``: points earned (:func:`earned_points`),
    points possible, answers and answers scored 0, and ``pct`` = earned / possible × 100; the
    lowest share first (then by item code). Not-applicable and unanswered items are left out,
    as in the visit's score; items worth 0 points (red lines) have no share. One GROUP BY."""
    answers = VisitAnswer.objects.filter(visit__in=visits.order_by().values("pk"),
                                         not_applicable=False, value__isnull=False)
    rows = (answers.values("item__code", "item__text_zh", "item__text_en", "item__part")
            .annotate(points=Sum(earned_points()),
                      possible=Sum(Cast("item__max_points", FloatField())),
                      n=Count("id"), failed=Count("id", filter=Q(value=0)))
            .filter(possible__gt=0)
            .annotate(pct=Coalesce(F("points"), Value(0.0)) * 100.0 / F("possible"))
            .order_by("pct", "item__code"))
    return list(rows if limit is None else rows[:limit])
