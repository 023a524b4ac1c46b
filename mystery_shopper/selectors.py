"""Reads of mystery-shopper data: scoped lists for pages and the scoring contract's frames."""

from __future__ import annotations

from datetime import date

import pandas as pd
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from mystery_shopper import rules
from mystery_shopper.models import (
    NOT_REPORTED,
    SHOPPER_EDITABLE,
    Appeal,
    AppealStatus,
    Evidence,
    ItemKind,
    ScorecardItem,
    ScorecardSection,
    ScorecardTemplate,
    StoreVisitFrequency,
    Visit,
    VisitAnswer,
    VisitStatus,
)
from satisfaction import history
from satisfaction.models import User
from satisfaction.quarters import Quarter, chain_zone
from satisfaction.scoping import scope_to_stores

FRAME_COLUMNS = ["visit_id", "store_id", "employee_id", "score_pct", "purchase_points",
                 "purchase_max", "process_points", "process_max", "image_points", "image_max",
                 "red_line"]


def approved_visits_in(*, quarter: Quarter) -> QuerySet[Visit]:
    """The approved visits of the quarter (by visit date): the ones the scoring frame counts
    (and the dashboard's item figures)."""
    return Visit.objects.filter(status=VisitStatus.APPROVED,
                                visited_on__gte=quarter.first_day,
                                visited_on__lte=quarter.last_day)


# --- The scoring contract ---------------------------------------------------------------------


def approved_visit_frame(*, quarter: Quarter) -> pd.DataFrame:
    """One row per approved visit of the quarter, scores after appeal decisions."""
    rows = list(approved_visits_in(quarter=quarter).order_by("pk").values_list(
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
    visits = approved_visits_in(quarter=quarter).filter(store_id=store_id)
    if employee_id is not None:
        visits = visits.filter(employee_id=employee_id)
    return visits.order_by("visited_on", "pk")


def open_appeals(*, quarter: Quarter) -> QuerySet[Appeal]:
    """The open appeals on visits of the quarter (they block its publishing)."""
    return Appeal.objects.filter(status=AppealStatus.OPEN,
                                 visit__visited_on__gte=quarter.first_day,
                                 visit__visited_on__lte=quarter.last_day)


def open_appeals_exist(*, quarter: Quarter) -> bool:
    return open_appeals(quarter=quarter).exists()


# --- Pages ------------------------------------------------------------------------------------


def shopper_visit_groups(*, shopper: User) -> dict[str, list[Visit]]:
    """A shopper's open visits (to report or to fix): due and overdue, soonest first. Their
    finished visits are :func:`shopper_done_visits` (a page at a time)."""
    today = timezone.localdate(timezone=chain_zone())
    visits = (Visit.objects.filter(shopper=shopper, status__in=SHOPPER_EDITABLE)
              .select_related("store", "scenario").order_by("due_on", "pk"))
    groups: dict[str, list[Visit]] = {"due": [], "overdue": []}
    for visit in visits:
        groups["overdue" if visit.due_on < today else "due"].append(visit)
    return groups


def shopper_done_visits(*, shopper: User) -> QuerySet[Visit]:
    """A shopper's submitted and approved visits, newest first (the page paginates them)."""
    return (Visit.objects.filter(shopper=shopper,
                                 status__in=(VisitStatus.SUBMITTED, VisitStatus.APPROVED))
            .select_related("store", "scenario").order_by("-due_on", "-pk"))


def overdue_visits(*, quarter: Quarter | None = None, today: date | None = None
                   ) -> QuerySet[Visit]:
    """Visits past their due date and not reported (unassigned, assigned, in progress or sent
    back), of ``quarter`` or of every quarter, the longest overdue first: what HQ chases."""
    today = today or timezone.localdate(timezone=chain_zone())
    visits = Visit.objects.filter(status__in=NOT_REPORTED, due_on__lt=today)
    if quarter is not None:
        visits = visits.filter(quarter=quarter)
    return visits.select_related("store", "shopper", "employee").order_by("due_on", "pk")


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


def visit_evidence_for(*, user: User, visit: Visit) -> tuple[list[Evidence], list[Evidence]]:
    """The files of ``visit`` that ``user`` sees, the visit read through a scoped selector
    (``visit_list_for``, ``store_visit_get``, ``shopper_visit_get``): (the report's photos
    and recordings, the store's appeal files), as ``rules.visit_files_seen`` says. One query,
    none when nothing is seen."""
    report_files, appeal_files = rules.visit_files_seen(user, visit)
    if not (report_files or appeal_files):
        return [], []
    evidence = list(visit.evidence.all())
    return ([e for e in evidence if e.appeal_id is None] if report_files else [],
            [e for e in evidence if e.appeal_id is not None] if appeal_files else [])


def evidence_get_for(*, user: User, public_id) -> Evidence:
    """An evidence file if ``user`` may read its visit (``visit_list_for``) and see the file
    (``rules.visit_files_seen``, as :func:`visit_evidence_for`), else 404."""
    evidence = (Evidence.objects.select_related("visit").filter(public_id=public_id).first())
    if evidence is None or not user.is_authenticated:
        raise Http404
    report_files, appeal_files = rules.visit_files_seen(user, evidence.visit)
    if not (appeal_files if evidence.appeal_id is not None else report_files):
        raise Http404
    if not visit_list_for(user=user).filter(pk=evidence.visit_id).exists():
        raise Http404
    return evidence


def appeal_list(*, user: User, status: str = AppealStatus.OPEN) -> QuerySet[Appeal]:
    appeals = Appeal.objects.select_related("visit", "visit__store")
    if status:
        appeals = appeals.filter(status=status)
    return scope_to_stores(appeals, user, "visit__store").order_by("raised_at")


# --- Figures of the scorecard items (the dashboard asks here) ---------------------------------


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


def item_point_shares(*, visits: QuerySet[Visit], limit: int = 10) -> list[dict]:
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
    return list(rows[:limit])


# --- Policy history (satisfaction/history.py) -------------------------------------------------

SCORECARD_FIELDS = ("name_zh", "name_en", "red_line_score")
SCORECARD_ITEM_FIELDS = ("text_zh", "text_en", "kind", "max_points", "part", "evidence",
                         "is_red_line", "allows_na")


def _item_summary(item: ScorecardItem) -> str:
    parts = [item.text,
             history.display(history.model_field(ScorecardItem, "max_points"), item.max_points),
             str(item.get_part_display())]
    if item.is_red_line:
        parts.append(history.label(history.model_field(ScorecardItem, "is_red_line")))
    return " · ".join(parts)


def _item_changes(older: dict[str, ScorecardItem] | None, newer: dict[str, ScorecardItem]
                  ) -> tuple[history.FieldChange, ...]:
    """Item by item (keyed by code): added, removed, and each changed field or section."""
    if older is None:  # the first version: its items are the scorecard shown on the page
        return ()
    result: list[history.FieldChange] = []
    for code in [*newer, *(c for c in older if c not in newer)]:
        name = _("Item %(code)s") % {"code": code}
        before, after = older.get(code), newer.get(code)
        if before is None or after is None:
            result.append(history.FieldChange(
                name, _item_summary(before) if before else None,
                _item_summary(after) if after else "—"))
            continue
        if before.section.title != after.section.title:
            section = history.label(history.model_field(ScorecardItem, "section"))
            result.append(history.FieldChange(f"{name} · {section}", before.section.title,
                                              after.section.title))
        result += [history.FieldChange(f"{name} · {change.field}", change.old, change.new)
                   for change in history.field_changes(ScorecardItem, before, after,
                                                       SCORECARD_ITEM_FIELDS)]
    return tuple(result)


def scorecard_changes(*, code: str, limit: int = history.HISTORY_LIMIT,
                      up_to_version: int | None = None) -> list[history.Change]:
    """What each version of scorecard ``code`` (up to ``up_to_version``) changed from the one
    before, newest first: its name, red-line score and items (a scorecard is versioned, so its
    versions are its history). Two queries whatever the limit."""
    versions = ScorecardTemplate.objects.filter(code=code).select_related("created_by")
    if up_to_version is not None:
        versions = versions.filter(version__lte=up_to_version)
    versions = list(versions.order_by("-version")[:limit + 1])
    items: dict[int, dict[str, ScorecardItem]] = {v.pk: {} for v in versions}
    for item in (ScorecardItem.objects.filter(section__template__in=versions)
                 .select_related("section").order_by("section__position", "position", "pk")):
        items[item.section.template_id][item.code] = item
    return history.version_changes(
        versions, fields=SCORECARD_FIELDS, limit=limit,
        extra=lambda older, newer: _item_changes(items[older.pk] if older else None,
                                                 items[newer.pk]))


def visit_frequency_changes(*, quarter: Quarter, limit: int = history.HISTORY_LIMIT
                            ) -> list[history.Change]:
    """Who set which store's visits in ``quarter``, from what, newest first (two queries)."""
    return history.changes(
        StoreVisitFrequency.history.filter(quarter=quarter).select_related("store"),
        limit=limit,
        describe=lambda record: record.store.code if record.store else str(record.store_id))


# --- Scorecard setup ---------------------------------------------------------------------------


def scorecard_list() -> QuerySet[ScorecardTemplate]:
    """The current version of each scorecard, with who saved it and its version count."""
    versions = ScorecardTemplate.objects.filter(code=OuterRef("code")).order_by()
    return (ScorecardTemplate.objects.filter(is_current=True).select_related("created_by")
            .annotate(n_versions=Subquery(versions.values("code").annotate(n=Count("pk"))
                                          .values("n")[:1]))
            .order_by("code"))


def scorecard_current_get(*, code: str) -> ScorecardTemplate:
    """The current version of scorecard ``code`` with its sections and items, else 404."""
    template = (ScorecardTemplate.objects.filter(code=code, is_current=True)
                .select_related("created_by")
                .prefetch_related(Prefetch("sections", queryset=ScorecardSection.objects
                                           .prefetch_related("items").order_by("position",
                                                                               "pk")))
                .first())
    if template is None:
        raise Http404
    return template


def scorecard_versions(*, code: str) -> QuerySet[ScorecardTemplate]:
    """Every version of scorecard ``code``, newest first, with who saved it and how many
    visits (cancelled ones left out) use it."""
    return (ScorecardTemplate.objects.filter(code=code).select_related("created_by")
            .annotate(n_visits=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED)))
            .order_by("-version"))


def scorecard_quarter_versions(*, code: str) -> list[dict]:
    """Which version of scorecard ``code`` each quarter's visits used (cancelled ones left
    out), newest quarter first: ``[{"quarter", "versions": [(version, visits), ...]}]``. A
    quarter planned before a new version keeps the old one, so a quarter may list two. One
    query."""
    rows = (Visit.objects.filter(template__code=code).exclude(status=VisitStatus.CANCELLED)
            .values_list("quarter", "template__version").annotate(n=Count("pk"))
            .order_by("-quarter", "template__version"))
    result: list[dict] = []
    for quarter, version, count in rows:
        if not result or result[-1]["quarter"] != quarter:
            result.append({"quarter": quarter, "versions": []})
        result[-1]["versions"].append((version, count))
    return result


def visit_quarters() -> list[Quarter]:
    """The quarters that have visits, newest first (the quarter pickers offer them)."""
    return list(Visit.objects.order_by("-quarter").values_list("quarter", flat=True).distinct())


# --- Exports -----------------------------------------------------------------------------------


def visit_export_list(*, user: User, quarter: Quarter) -> QuerySet[Visit]:
    """The visit reports of ``quarter`` that ``user`` may export, by store and date: for HQ
    every visit planned in the quarter, whatever its state; for a regional or store manager
    (and HR) the approved reports of their stores visited in the quarter, as their list shows
    them (:func:`store_visit_list`)."""
    if rules.can_review_visits(user):
        visits = Visit.objects.filter(quarter=quarter)
    else:
        visits = store_visit_list(user=user, quarter=quarter)
    return visits.order_by("store__code", "visited_on", "due_on", "pk")
