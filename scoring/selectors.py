"""Reads of the scoring app, scoped to what the user may see (``satisfaction.scoping``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from django.db import connection
from django.db.models import CharField, Count, F, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat, ExtractQuarter, ExtractYear
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints import selectors as complaint_selectors
from complaints.models import Complaint
from mystery_shopper import selectors as visit_selectors
from mystery_shopper.models import Visit
from satisfaction import history
from satisfaction.errors import ApplicationError
from satisfaction.models import Employee, Store, User
from satisfaction.quarters import Quarter, chain_zone
from satisfaction.scoping import scope_to_stores
from scoring import engine, evidence, loader, rules
from scoring.models import (
    EmployeeScore,
    RevisionInput,
    RevisionResponses,
    Rollup,
    RollupStatus,
    Scheme,
    StoreScore,
)
from surveys.models import COUNTED_STATUSES, Campaign, Response


def rollup_list(*, quarter: Quarter | None = None) -> QuerySet[Rollup]:
    rollups = Rollup.objects.select_related("scheme", "published_by", "computed_by")
    if quarter is not None:
        rollups = rollups.filter(quarter=quarter)
    return rollups.order_by("-quarter", "-revision")


def quarters_with_values() -> list[Quarter]:
    return sorted(set(Rollup.objects.values_list("quarter", flat=True)), reverse=True)


# --- Quarters and their states ----------------------------------------------------------------

QUARTER_RUNNING, QUARTER_CLOSED = "running", "closed"
QUARTER_PROVISIONAL, QUARTER_PUBLISHED = "provisional", "published"


@dataclass(frozen=True)
class QuarterOption:
    """A quarter as every quarter picker shows it: its state and, when it has values, the
    revision that state is about (the provisional one; a published quarter's published one)
    and its publish time. ``pending_revision``: a provisional revision beside a published one
    (a recompute with a reason, not yet published)."""

    quarter: Quarter
    state: str
    revision: int | None
    published_at: datetime | None
    label: str
    pending_revision: int | None = None


def _quarter_label(quarter: Quarter, state: str, revision: int | None,
                   published_at: datetime | None, pending: int | None) -> str:
    if state == QUARTER_RUNNING:
        if revision is not None:  # the nightly provisional values so far
            return _("%(quarter)s · running, provisional revision %(revision)s") % {
                "quarter": quarter, "revision": revision}
        return _("%(quarter)s · running") % {"quarter": quarter}
    if state == QUARTER_CLOSED:
        return _("%(quarter)s · closed") % {"quarter": quarter}
    if state == QUARTER_PROVISIONAL:
        return _("%(quarter)s · provisional revision %(revision)s") % {
            "quarter": quarter, "revision": revision}
    label = _("%(quarter)s · published r%(revision)s on %(date)s") % {
        "quarter": quarter, "revision": revision, "date": _local_date(published_at)}
    if pending is not None:
        label = _("%(label)s · revision %(revision)s provisional") % {
            "label": label, "revision": pending}
    return label


def _quarters_with_inputs() -> set[Quarter]:
    """The quarters with a survey campaign, planned mystery-shopper visits or complaints (by
    their receipt in the chain's zone): one query, a union of the three."""
    zone = chain_zone()
    received = Complaint.objects.customer().order_by().annotate(q=Concat(
        Cast(ExtractYear("received_at", tzinfo=zone), CharField()), Value("Q"),
        Cast(ExtractQuarter("received_at", tzinfo=zone), CharField()),
        output_field=CharField())).values_list("q", flat=True)
    quarters = (Campaign.objects.order_by().values_list("quarter", flat=True)
                .union(Visit.objects.order_by().values_list("quarter", flat=True), received))
    return {q if isinstance(q, Quarter) else Quarter.parse(str(q)) for q in quarters}


def quarter_options() -> list[QuarterOption]:
    """Every quarter that exists (with a rollup, a survey campaign, planned visits or
    complaints; and the current one), newest first, each with its one state:

    - ``running``: not ended yet (whatever its nightly provisional values);
    - ``closed``: ended, not rolled up;
    - ``provisional``: ended, rolled up, not published;
    - ``published``: its published revision is locked (a provisional revision beside it is
      ``pending_revision``).

    Two queries whatever the number of quarters. The one owner of a quarter's state: every
    quarter select of the scoring pages and the dashboard reads it."""
    rollups: dict[Quarter, dict[str, tuple[int, datetime | None]]] = {}
    for quarter, revision, status, published_at in Rollup.objects.filter(
            status__in=[RollupStatus.PROVISIONAL, RollupStatus.PUBLISHED]).values_list(
            "quarter", "revision", "status", "published_at"):
        rollups.setdefault(quarter, {})[status] = (revision, published_at)
    now = timezone.now()
    current = Quarter.current()
    quarters = {current, *rollups, *_quarters_with_inputs()}
    options = []
    for quarter in sorted(quarters, reverse=True):
        states = rollups.get(quarter, {})
        provisional = states.get(RollupStatus.PROVISIONAL)
        published = states.get(RollupStatus.PUBLISHED)
        pending = None
        published_at = None
        if quarter.end() > now:
            state, revision = QUARTER_RUNNING, provisional[0] if provisional else None
        elif published is not None:
            state, (revision, published_at) = QUARTER_PUBLISHED, published
            pending = provisional[0] if provisional else None
        elif provisional is not None:
            state, revision = QUARTER_PROVISIONAL, provisional[0]
        else:
            state, revision = QUARTER_CLOSED, None
        options.append(QuarterOption(
            quarter=quarter, state=state, revision=revision, published_at=published_at,
            label=_quarter_label(quarter, state, revision, published_at, pending),
            pending_revision=pending))
    return options


def quarter_choices(options: list[QuarterOption] | None = None, *,
                    states: tuple[str, ...] | None = None) -> list[tuple[Quarter, str]]:
    """``(quarter, label)`` pairs for ``satisfaction.forms.QuarterChoiceField``: every quarter
    (``quarter_options``) or those in ``states``."""
    options = quarter_options() if options is None else options
    return [(o.quarter, o.label) for o in options if states is None or o.state in states]


def rollup_for_display(*, quarter: Quarter, revision: int | None = None) -> Rollup | None:
    """The quarter's published revision, else its provisional one (or the given revision)."""
    rollups = Rollup.objects.select_related("scheme").filter(quarter=quarter)
    if revision is not None:
        return rollups.filter(revision=revision).first()
    published = rollups.filter(status=RollupStatus.PUBLISHED).first()
    return published or rollups.filter(status=RollupStatus.PROVISIONAL).first()


def revision_param(params: Mapping[str, str], name: str = "revision", *,
                   strict: bool = False) -> int | None:
    """``?revision=2`` of a page or an API call: a whole number, or None when not given.
    ``strict`` (the API): the value as given, no surrounding spaces allowed."""
    raw = params.get(name) or ""
    text = raw if strict else raw.strip()
    if not text:
        return None
    # str.isdigit() accepts '²' and other digits int() refuses: only ASCII 0-9 will do.
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise ApplicationError(_("Give the revision as a whole number."),
                               fields={name: [_("A whole number such as 2.")]})
    return int(text)


def latest_rollup() -> Rollup | None:
    quarters = quarters_with_values()
    return rollup_for_display(quarter=quarters[0]) if quarters else None


def store_score_list(*, user: User, rollup: Rollup, region_code: str = "", query: str = ""
                     ) -> QuerySet[StoreScore]:
    scores = scope_to_stores(StoreScore.objects.filter(rollup=rollup), user)
    if region_code:
        scores = scores.filter(region__code=region_code)
    if query:
        scores = scores.filter(Q(store__code__icontains=query) | Q(store__name__icontains=query))
    return scores.select_related("store", "region", "rollup").order_by(
        F("rank_chain").asc(nulls_last=True), "store__code")


def scope_employee_scores(scores: QuerySet[EmployeeScore], user: User
                          ) -> QuerySet[EmployeeScore]:
    """Store-scoped; a clerk sees only their own value (docs/domain.md: "optionally their own")."""
    if not rules.can_see_values(user):
        return scores.none()
    scores = scope_to_stores(scores, user)
    if rules.sees_only_own_value(user):
        scores = scores.filter(employee_id=user.employee_id) if user.employee_id else (
            scores.none())
    return scores


def employee_score_scope(user: User) -> str:
    """Which staff values of a visible store ``user`` sees: ``"none"``, ``"all"`` or
    ``"own:<employee id>"`` (a page cached per reader keys on it)."""
    if not rules.can_see_values(user):
        return "none"
    if rules.sees_only_own_value(user):
        return f"own:{user.employee_id}"
    return "all"


def scope_employee_score_rows(rows: list[EmployeeScore], user: User) -> list[EmployeeScore]:
    """``scope_employee_scores`` on rows already read (a visible store's cached staff rows:
    the caller has checked the store is in the user's scope)."""
    scope = employee_score_scope(user)
    if scope == "none":
        return []
    if scope.startswith("own:"):
        return [s for s in rows if user.employee_id and s.employee_id == user.employee_id]
    return rows


def employee_score_list(*, user: User, rollup: Rollup, store_code: str = "",
                        region_code: str = "", query: str = "") -> QuerySet[EmployeeScore]:
    scores = scope_employee_scores(EmployeeScore.objects.filter(rollup=rollup), user)
    if store_code:
        scores = scores.filter(store__code=store_code)
    if region_code:
        scores = scores.filter(region__code=region_code)
    if query:
        scores = scores.filter(Q(employee__number__icontains=query)
                               | Q(employee__name__icontains=query))
    return scores.select_related("employee", "store", "region", "rollup").order_by(
        "store__code", F("rank_store").asc(nulls_last=True), "employee__number")


def store_score_get(*, user: User, rollup: Rollup, store_code: str) -> StoreScore:
    score = store_score_list(user=user, rollup=rollup).filter(store__code=store_code).first()
    if score is None:
        raise Http404
    return score


def employee_score_get(*, user: User, rollup: Rollup, number: str) -> EmployeeScore:
    score = employee_score_list(user=user, rollup=rollup).filter(
        employee__number=number).first()
    if score is None:
        raise Http404
    return score


TRACE_LIMIT = 200
KIND_NAMES = evidence.KINDS  # 1 -> "responses", 2 -> "visits", 3 -> "complaints"


def trace_employee_scope(user: User) -> int | None:
    """Whose inputs a user may see in a trace: a clerk only their own (their employee record;
    0, matching nothing, without one); everyone else who sees the value, all of them."""
    if rules.sees_only_own_inputs(user):
        return user.employee_id or 0
    return None


def _local_date(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment, chain_zone()).date()
    return moment.isoformat()


def _number(value) -> float | None:
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _objects(kind: int, ids: list[int]) -> dict[int, Response | Visit | Complaint]:
    """The rows of one kind of input by id: one query."""
    if not ids:
        return {}
    if kind == evidence.RESPONSE:
        rows = Response.objects.filter(pk__in=ids)
    elif kind == evidence.VISIT:
        rows = Visit.objects.filter(pk__in=ids)
    else:
        rows = Complaint.objects.filter(pk__in=ids)
    return {obj.pk: obj for obj in rows}


def _describe(kind: int, object_id: int, obj) -> dict:
    """Date, label and detail of an input (a response: channel; a visit: its date; a
    complaint: ticket, grade, channel); a row no longer on file says so."""
    if obj is None:
        return {"text": f"#{object_id}", "date": "", "detail": _("no longer on file")}
    if kind == evidence.RESPONSE:
        return {"text": f"#{obj.pk}", "date": _local_date(obj.submitted_at),
                "detail": str(obj.get_channel_display())}
    if kind == evidence.VISIT:
        return {"text": f"#{obj.pk}", "date": _local_date(obj.visited_on), "detail": ""}
    detail = " · ".join(part for part in (obj.grade, str(obj.get_channel_display())) if part)
    return {"text": obj.ticket_no, "date": _local_date(obj.received_at), "detail": detail}


def figure_text(kind: int, figure: float | None, employee_figure: float | None = None) -> str:
    """What an input contributed, as a person reads it."""
    if kind == evidence.RESPONSE:
        return "–" if figure is None else _("score %(s)s") % {"s": f"{figure:.1f}"}
    if kind == evidence.VISIT:
        text = "–" if figure is None else _("scenario %(p)s%%") % {"p": f"{figure:.1f}"}
        if employee_figure is not None:
            text += " · " + _("purchase evaluation %(p)s%%") % {"p": f"{employee_figure:.1f}"}
        return text
    return "–" if figure is None else f"−{figure:g}"


def _employee_numbers(ids) -> dict[int, str]:
    wanted = {int(i) for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(Employee.objects.filter(pk__in=wanted).values_list("pk", "number"))


def _inputs(rollup: Rollup, store_id: int | None, employee_id: int | None
            ) -> QuerySet[RevisionInput]:
    """The revision's frozen visits and complaints, of a store and/or an employee."""
    inputs = RevisionInput.objects.filter(rollup=rollup)
    if store_id is not None:
        inputs = inputs.filter(store_id=store_id)
    if employee_id is not None:
        inputs = inputs.filter(employee_id=employee_id)
    return inputs


@dataclass(frozen=True)
class FrozenResponse:
    """One survey response a revision counted, as frozen (``RevisionResponses``)."""

    object_id: int
    store_id: int
    employee_id: int | None
    figure: float | None


def _frozen_responses(rollup: Rollup, store_id: int | None, employee_id: int | None
                      ) -> list[FrozenResponse]:
    """The survey responses the revision counted, of a store and/or an employee, by id: its
    groups (one per store and employee) taken apart (one query)."""
    groups = RevisionResponses.objects.filter(rollup=rollup)
    if store_id is not None:
        groups = groups.filter(store_id=store_id)
    if employee_id is not None:
        # Key 0 is "no employee": an id that is no employee's (0) matches nothing.
        groups = (groups.filter(employee_key=employee_id)
                  if employee_id != RevisionResponses.NO_EMPLOYEE else groups.none())
    responses = [
        FrozenResponse(object_id, group_store, group_employee or None, figure)
        for group_store, group_employee, ids, figures in groups.values_list(
            "store_id", "employee_key", "response_ids", "figures")
        for object_id, figure in zip(ids, figures, strict=True)]
    responses.sort(key=lambda response: response.object_id)
    return responses


def revision_inputs(*, rollup: Rollup, store_id: int | None = None,
                    employee_id: int | None = None,
                    kinds: tuple[int, ...] = tuple(KIND_NAMES)) -> list[tuple]:
    """What the revision counted (of a store and/or an employee, of some kinds), one tuple
    per input in ``evidence.INPUT_COLUMNS``' order: the visits and complaints as frozen one by
    one, then the survey responses by id, taken out of their groups."""
    rows = list(_inputs(rollup, store_id, employee_id).filter(kind__in=kinds).values_list(
        *evidence.INPUT_COLUMNS)) if set(kinds) - {evidence.RESPONSE} else []
    if evidence.RESPONSE in kinds:
        rows += [(evidence.RESPONSE, r.object_id, r.store_id, r.employee_id, r.figure, None)
                 for r in _frozen_responses(rollup, store_id, employee_id)]
    return rows


def revision_trace(*, rollup: Rollup, store_id: int, employee_id: int | None = None,
                   employee_value: bool = False, limit: int = TRACE_LIMIT) -> dict:
    """What the revision counted for a value: ``{"recorded", "parts": {kind: {"count",
    "rows"}}, "late": [...]}``.

    A store's value (``employee_value`` false): the inputs of the store, or only those of
    ``employee_id`` (a clerk's view of their store). An employee's value: the inputs that
    counted for the employee, wherever they are. ``late``: what arrived or changed after a
    locked revision and is not counted by it (``late_inputs``). Each kind lists its first
    ``limit`` inputs by id, in date order.

    A revision computed before its inputs were recorded shows the quarter's rows as they are
    now (``recorded`` false, and the page says so). Callers have already checked that the user
    may see the value.
    """
    if not rollup.evidence_recorded:
        return {"recorded": False, "parts": _live_trace(rollup.quarter, store_id, employee_id,
                                                        limit), "late": []}
    store_filter = None if employee_value else store_id
    inputs = _inputs(rollup, store_filter, employee_id)
    counts = dict(inputs.values_list("kind").annotate(n=Count("object_id")).values_list(
        "kind", "n"))
    responses = _frozen_responses(rollup, store_filter, employee_id)
    counts[evidence.RESPONSE] = len(responses)
    numbers = _employee_numbers(r.employee_id for r in responses[:limit])
    # Per kind, the first inputs by id: (id, employee's number, figure, employee figure).
    shown: dict[int, list[tuple]] = {evidence.RESPONSE: [
        (r.object_id, numbers.get(r.employee_id, "") if r.employee_id else "", r.figure, None)
        for r in responses[:limit]]}
    for kind in (evidence.VISIT, evidence.COMPLAINT):
        shown[kind] = [
            (row.object_id, row.employee.number if row.employee else "", row.figure,
             row.employee_figure)
            for row in inputs.filter(kind=kind).select_related("employee")
            .order_by("object_id")[:limit]] if counts.get(kind) else []
    parts = {}
    for kind, name in KIND_NAMES.items():
        found = _objects(kind, [object_id for object_id, *_rest in shown[kind]])
        rows = []
        for object_id, employee, raw_figure, raw_employee_figure in shown[kind]:
            figure, employee_figure = _number(raw_figure), _number(raw_employee_figure)
            rows.append({"id": object_id, "url": "",
                         **_describe(kind, object_id, found.get(object_id)),
                         "employee": employee,
                         "figure": figure, "employee_figure": employee_figure,
                         "counted_as": figure_text(kind, figure, employee_figure)})
        rows.sort(key=lambda r: (r["date"], r["id"]))
        parts[name] = {"count": counts.get(kind, 0), "rows": rows}
    late = (late_inputs(rollup=rollup, store_id=store_id, employee_id=employee_id,
                        employee_value=employee_value)
            if rollup.is_locked else [])
    return {"recorded": True, "parts": parts, "late": late}


def _live_trace(quarter: Quarter, store_id: int, employee_id: int | None,
                limit: int) -> dict[str, dict]:
    result = {}
    for kind, queryset in loader.trace(quarter=quarter, store_id=store_id,
                                       employee_id=employee_id).items():
        rows = list(queryset[:limit])
        count = queryset.count() if len(rows) == limit else len(rows)
        result[kind] = {"count": count, "rows": [trace_item(obj) for obj in rows]}
    return result


def trace_item(obj: Response | Visit | Complaint) -> dict:
    """A plain description of a row as it is now (revisions without recorded inputs)."""
    kind = (evidence.RESPONSE if isinstance(obj, Response) else evidence.VISIT
            if isinstance(obj, Visit) else evidence.COMPLAINT)
    figure = obj.score_pct if kind == evidence.VISIT else None
    employee = obj.employee
    return {"id": obj.pk, "url": "", **_describe(kind, obj.pk, obj),
            "employee": employee.number if employee is not None else "",
            "figure": figure, "employee_figure": None,
            "counted_as": figure_text(kind, figure) if figure is not None else ""}


# --- What arrived or changed after a revision -------------------------------------------------

CHANGE_LABELS = {
    "added": gettext_lazy("arrived after publishing, not counted"),
    "changed": gettext_lazy("changed after publishing: counted as it was"),
    "withdrawn": gettext_lazy("no longer counts since publishing: still counted in this revision"),
}


def _frozen_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=evidence.INPUT_COLUMNS)


def _counted_now(rollup: Rollup, params: engine.SchemeParams, store_id: int) -> pd.DataFrame:
    """The store's inputs as a rollup run now would count them (``evidence.INPUT_COLUMNS``)."""
    now_data = loader.current_inputs(quarter=rollup.quarter, weights=params.indicator_weights,
                                     store_id=store_id)
    return evidence.counted_inputs(now_data, params, getattr(now_data, "responses", None),
                                   engine.visit_figures(now_data.visits, params), members=False)


def late_inputs(*, rollup: Rollup, store_id: int, employee_id: int | None = None,
                employee_value: bool = False) -> list[dict]:
    """Inputs of the store (or of the employee) that count now and differ from what the
    revision counted: arrived or approved after it, changed by an appeal, or withdrawn. Items
    are dated inside the quarter (the input apps' quarter rules); none of them changes the
    revision's values."""
    params = rollup.scheme.to_params()
    counted = _frozen_frame(revision_inputs(
        rollup=rollup, store_id=None if employee_value else store_id, employee_id=employee_id))
    stores = [store_id]
    if employee_value and employee_id is not None:
        # An employee's value counts their inputs at any store (one who moved during the
        # quarter has some at the store they left): what counts now is read at each of them.
        stores += sorted({int(s) for s in counted["store_id"].dropna()} - {store_id})
    now = pd.concat([_counted_now(rollup, params, s) for s in stores], ignore_index=True)
    if employee_id is not None:
        now = now[now["employee_id"] == employee_id]
        if not employee_value:
            counted = counted[counted["store_id"] == store_id]
    else:
        counted = counted[counted["store_id"] == store_id]
    changes = evidence.diff_inputs(counted, now)
    if changes.empty:
        return []
    numbers = _employee_numbers(
        [*changes["employee_id_counted"].dropna(), *changes["employee_id_now"].dropna()])
    found = {kind: _objects(kind, changes.loc[changes["kind"] == kind, "object_id"]
                            .astype(int).tolist()) for kind in KIND_NAMES}
    rows = []
    for record in changes.to_dict("records"):
        kind, object_id = int(record["kind"]), int(record["object_id"])
        counted_employee = record["employee_id_counted"]
        now_employee = record["employee_id_now"]
        counted_figure = (_number(record["figure_counted"]),
                          _number(record["employee_figure_counted"]))
        now_figure = (_number(record["figure_now"]), _number(record["employee_figure_now"]))
        rows.append({
            "kind": KIND_NAMES[kind], "id": object_id, "change": record["change"],
            "change_label": str(CHANGE_LABELS[record["change"]]),
            **_describe(kind, object_id, found[kind].get(object_id)),
            "counted_employee": "" if pd.isna(counted_employee) else numbers.get(
                int(counted_employee), ""),
            "employee": "" if pd.isna(now_employee) else numbers.get(int(now_employee), ""),
            "counted_figure": counted_figure[0], "figure": now_figure[0],
            "counted_as": ("" if record["change"] == "added"
                           else figure_text(kind, *counted_figure)),
            "now_as": ("" if record["change"] == "withdrawn"
                       else figure_text(kind, *now_figure)),
        })
    rows.sort(key=lambda r: (r["kind"], r["date"], r["id"]))
    return rows


def late_by_store(*, rollup: Rollup) -> dict[int, dict[str, int]]:
    """Chain-wide, per store: how many inputs arrived (``added``), ``changed`` or were
    ``withdrawn`` since the revision. Responses are compared in the database (their ids
    against the revision's frozen ones: ``_late_responses_sql``); visits and complaints in
    memory with the figures the rollup would give them now."""
    by_store: dict[int, dict[str, int]] = {}

    def add(store_id: int, change: str, n: int) -> None:
        counts = by_store.setdefault(int(store_id), {"added": 0, "changed": 0, "withdrawn": 0})
        counts[change] += int(n)

    if not rollup.evidence_recorded:
        return by_store
    sql, params = _late_responses_sql(rollup)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for store_id, change, n in cursor.fetchall():
            add(store_id, change, n)
    params = rollup.scheme.to_params()
    now_data = loader.current_inputs(quarter=rollup.quarter, weights=params.indicator_weights)
    now = evidence.counted_inputs(now_data, params, None,
                                  engine.visit_figures(now_data.visits, params), members=False)
    counted = _frozen_frame(revision_inputs(rollup=rollup,
                                            kinds=(evidence.VISIT, evidence.COMPLAINT)))
    changes = evidence.diff_inputs(counted, now)
    if not changes.empty:
        for (store_id, change), n in changes.groupby(["store_id", "change"]).size().items():
            add(store_id, change, n)
    return by_store


def _frozen_response_ids_sql() -> str:
    """The SQL of a revision's frozen responses one per row (``store_id``, ``id``; the
    revision's id is its one parameter): a PostgreSQL array unnested, elsewhere the JSON
    list (``models.NumberListField``)."""
    if connection.vendor == "postgresql":
        return ("SELECT g.store_id AS store_id, x.id AS id FROM scoring_revisionresponses g "
                "CROSS JOIN LATERAL unnest(g.response_ids) AS x(id) WHERE g.rollup_id = %s")
    return ("SELECT g.store_id AS store_id, CAST(x.value AS INTEGER) AS id "
            "FROM scoring_revisionresponses g, json_each(g.response_ids) AS x "
            "WHERE g.rollup_id = %s")


def _late_responses_sql(rollup: Rollup) -> tuple[str, list]:
    """Per store and change, how many responses count now and the revision did not count
    (``added``, by the response's store) and how many it counted that no longer count
    (``withdrawn``, by the store it counted them for): the quarter's counted responses against
    the revision's frozen ones, in the database, as ``(sql, params)``; rows (store, change, n).

    PostgreSQL: one ``FULL JOIN``, which it can only run as a hash or merge join whatever its
    statistics of the evidence table say (a nested loop over a million frozen ids, chosen on a
    stale row estimate, took seconds). SQLite (which may predate ``FULL JOIN``): two
    ``NOT IN`` subqueries, each read once into an index."""
    counted = (Response.objects.filter(campaign__quarter=rollup.quarter,
                                       status__in=COUNTED_STATUSES)
               .order_by().values(counted_id=F("pk"), counted_store_id=F("store_id")))
    counted_sql, counted_params = counted.query.sql_with_params()
    frozen_sql = _frozen_response_ids_sql()
    if connection.vendor == "postgresql":
        sql = ("SELECT COALESCE(r.counted_store_id, f.store_id), "  # noqa: S608
               "CASE WHEN f.id IS NULL THEN 'added' ELSE 'withdrawn' END, COUNT(*) "
               f"FROM ({counted_sql}) AS r FULL JOIN ({frozen_sql}) AS f "
               "ON f.id = r.counted_id WHERE r.counted_id IS NULL OR f.id IS NULL "
               "GROUP BY 1, 2")
        return sql, [*counted_params, rollup.pk]
    sql = (f"SELECT r.counted_store_id, 'added', COUNT(*) FROM ({counted_sql}) AS r "  # noqa: S608
           f"WHERE r.counted_id NOT IN (SELECT id FROM ({frozen_sql})) "
           "GROUP BY r.counted_store_id "
           f"UNION ALL SELECT f.store_id, 'withdrawn', COUNT(*) FROM ({frozen_sql}) AS f "
           f"WHERE f.id NOT IN (SELECT counted_id FROM ({counted_sql})) GROUP BY f.store_id")
    return sql, [*counted_params, rollup.pk, rollup.pk, *counted_params]


def late_totals(*, rollup: Rollup) -> dict[str, int]:
    """Chain-wide: how many inputs arrived (``added``), ``changed`` or were ``withdrawn``
    since the revision was computed (``late_by_store`` summed)."""
    totals = {"added": 0, "changed": 0, "withdrawn": 0}
    for counts in late_by_store(rollup=rollup).values():
        for change, n in counts.items():
            totals[change] += n
    return totals


def late_counts(rollups: list[Rollup]) -> dict[int, int]:
    """Per locked revision with recorded inputs: how many inputs arrived or changed since."""
    return {rollup.pk: sum(late_totals(rollup=rollup).values())
            for rollup in rollups if rollup.is_locked and rollup.evidence_recorded}


# --- What publishing a quarter locks ----------------------------------------------------------

OPEN_APPEALS_SHOWN = 50


@dataclass(frozen=True)
class OpenAppeal:
    kind: str  # "complaint" / "visit"
    label: str
    store_code: str
    filed_at: datetime
    url: str


def open_appeals(*, quarter: Quarter, limit: int = OPEN_APPEALS_SHOWN
                 ) -> tuple[list[OpenAppeal], int]:
    """The open appeals that block publishing the quarter (the input apps'
    ``open_appeals``, the rows ``open_appeals_exist`` asks about), oldest first, at most
    ``limit``, and how many there are (four queries)."""
    complaints = complaint_selectors.open_appeals(quarter=quarter)
    visits = visit_selectors.open_appeals(quarter=quarter)
    count = complaints.count() + visits.count()
    rows = [OpenAppeal(kind="complaint", label=_("Complaint %(ticket)s") % {
        "ticket": appeal.complaint.ticket_no}, store_code=appeal.complaint.store.code,
        filed_at=appeal.filed_at, url=reverse("complaints:detail", args=[appeal.complaint_id]))
        for appeal in complaints.select_related("complaint__store").order_by(
            "filed_at", "pk")[:limit]]
    rows += [OpenAppeal(kind="visit", label=_("Mystery-shopper visit #%(id)s on %(date)s") % {
        "id": appeal.visit_id, "date": _local_date(appeal.visit.visited_on)},
        store_code=appeal.visit.store.code, filed_at=appeal.raised_at,
        url=reverse("mystery_shopper:appeal_decide", args=[appeal.pk]))
        for appeal in visits.select_related("visit__store").order_by(
            "raised_at", "pk")[:limit]]
    rows.sort(key=lambda row: row.filed_at)
    return rows[:limit], count


@dataclass(frozen=True)
class PublishPreview:
    """What publishing the quarter would lock: its state, the provisional revision with the
    stores and employees it counted, the open appeals that block it and what arrived or
    changed since that revision was computed (publishing recomputes: it counts them)."""

    option: QuarterOption
    provisional: Rollup | None
    published: Rollup | None
    appeals: list[OpenAppeal]
    appeal_count: int
    late: dict[str, int]

    @property
    def late_total(self) -> int:
        return sum(self.late.values())


def publish_preview(*, quarter: Quarter) -> PublishPreview:
    """The confirmation page's facts of ``quarter`` (a 404 for a quarter that does not
    exist)."""
    option = next((o for o in quarter_options() if o.quarter == quarter), None)
    if option is None:
        raise Http404
    rollups = {r.status: r for r in Rollup.objects.select_related("scheme").filter(
        quarter=quarter, status__in=[RollupStatus.PROVISIONAL, RollupStatus.PUBLISHED])}
    provisional = rollups.get(RollupStatus.PROVISIONAL)
    appeals, appeal_count = open_appeals(quarter=quarter)
    late = (late_totals(rollup=provisional)
            if provisional is not None and provisional.evidence_recorded else {})
    return PublishPreview(option=option, provisional=provisional,
                          published=rollups.get(RollupStatus.PUBLISHED), appeals=appeals,
                          appeal_count=appeal_count, late=late)


def late_store_rows(*, rollup: Rollup) -> list[dict]:
    """The stores with late inputs, most first: store, counts, total."""
    counts = late_by_store(rollup=rollup)
    stores = Store.objects.in_bulk(list(counts))
    rows = [{"store": stores.get(store_id), "store_id": store_id, **c,
             "total": sum(c.values())} for store_id, c in counts.items()]
    rows.sort(key=lambda r: (-r["total"], r["store"].code if r["store"] else ""))
    return rows


# --- Comparing two revisions of a store -------------------------------------------------------

COMPONENTS = ("survey", "scenario", "deductions")


def revision_pair(*, quarter: Quarter, old: int | None, new: int | None
                  ) -> tuple[Rollup, Rollup]:
    """Two revisions of a quarter: ``new`` (default: the one displayed) and ``old`` (default:
    the revision before it). A 404 when either is missing (a revision compared with itself
    is allowed: nothing moved)."""
    rollups = {r.revision: r for r in Rollup.objects.select_related("scheme")
               .filter(quarter=quarter)}
    newer = rollups.get(new) if new is not None else rollup_for_display(quarter=quarter)
    if newer is None:
        raise Http404
    if old is None:
        older_numbers = [n for n in rollups if n < newer.revision]
        old = max(older_numbers) if older_numbers else None
    older = rollups.get(old) if old is not None else None
    if older is None:
        raise Http404
    return older, newer


def _share(score: StoreScore, component: str, default: float) -> float:
    """The points one % of the component is worth in this value (50/100 by default; the whole
    100 when the other component is missing and rescaled)."""
    pct = score.survey_pct if component == "survey" else score.scenario_pct
    points = score.survey_points if component == "survey" else score.scenario_points
    if pct:
        return points / pct * 100.0
    return default


def _items(rollup: Rollup | None, store_id: int) -> dict[int, dict[int, evidence.Item]]:
    items: dict[int, dict[int, evidence.Item]] = {kind: {} for kind in KIND_NAMES}
    if rollup is None or not rollup.evidence_recorded:
        return items
    for kind, object_id, _store, employee_id, figure, _employee_figure in revision_inputs(
            rollup=rollup, store_id=store_id):
        items[kind][object_id] = evidence.Item(kind, object_id, employee_id, _number(figure))
    return items


@dataclass(frozen=True)
class StoreComparison:
    """Two revisions of a store's value (the scores, as the user may see them) and what moved
    it (:func:`revision_compare`); ``rollup``: the later revision."""

    old: StoreScore
    new: StoreScore
    rollup: Rollup
    comparison: dict


def store_revision_comparison(*, user: User, code: str, quarter: Quarter | None,
                              old: int | None, new: int | None) -> StoreComparison:
    """The store's value in revisions ``old`` and ``new`` of ``quarter`` (default: the latest
    quarter with values; revisions as :func:`revision_pair`), compared item by item. A 404
    when the quarter, either revision or the store (for this user) is missing."""
    if quarter is None:
        quarters = quarters_with_values()
        if not quarters:
            raise Http404
        quarter = quarters[0]
    older, newer = revision_pair(quarter=quarter, old=old, new=new)
    old_score = store_score_get(user=user, rollup=older, store_code=code)
    new_score = store_score_get(user=user, rollup=newer, store_code=code)
    return StoreComparison(old=old_score, new=new_score, rollup=newer,
                           comparison=revision_compare(old=old_score, new=new_score))


def revision_compare(*, old: StoreScore, new: StoreScore) -> dict:
    """What moved a store's value from one revision to another, item by item.

    Per component: its % and points in each revision, the inputs added, removed or changed
    with what each counted as and the points it moved (``evidence.mean_changes`` /
    ``sum_changes``), and what the items do not explain (``other``: indicator weighting, a
    rescaled component, a scheme change). The components' movements plus clipping add up to
    the value's movement exactly.
    """
    recorded = old.rollup.evidence_recorded and new.rollup.evidence_recorded
    # Without the inputs of both revisions the items cannot be told apart: figures only.
    old_items = _items(old.rollup, old.store_id) if recorded else _items(None, 0)
    new_items = _items(new.rollup, new.store_id) if recorded else _items(None, 0)
    same = {kind: {i for i in set(old_items[kind]) & set(new_items[kind])
                   if evidence.same_item(old_items[kind][i], new_items[kind][i])}
            for kind in KIND_NAMES}
    changed_ids = {kind: sorted((set(old_items[kind]) | set(new_items[kind])) - same[kind])
                   for kind in KIND_NAMES}
    found = {kind: _objects(kind, ids) for kind, ids in changed_ids.items()}
    described = {kind: {i: _describe(kind, i, found[kind].get(i)) for i in ids}
                 for kind, ids in changed_ids.items()}
    order = {kind: sorted(ids, key=lambda i, k=kind: (described[k][i]["date"], i))
             for kind, ids in changed_ids.items()}
    numbers = _employee_numbers(
        item.employee_id for kind in KIND_NAMES for source in (old_items, new_items)
        for i, item in source[kind].items() if i in described[kind])
    scheme = new.rollup.scheme
    survey_share = _share(new, "survey", _share(old, "survey", scheme.survey_points))
    scenario_share = _share(new, "scenario", _share(old, "scenario", scheme.scenario_points))
    changes = {
        "survey": evidence.mean_changes(old_items[evidence.RESPONSE],
                                        new_items[evidence.RESPONSE], evidence.RESPONSE,
                                        survey_share, order[evidence.RESPONSE]),
        "scenario": evidence.mean_changes(old_items[evidence.VISIT], new_items[evidence.VISIT],
                                          evidence.VISIT, scenario_share,
                                          order[evidence.VISIT]),
        "deductions": evidence.sum_changes(old_items[evidence.COMPLAINT],
                                           new_items[evidence.COMPLAINT], evidence.COMPLAINT,
                                           order[evidence.COMPLAINT]),
    }
    figures = {
        "survey": (old.survey_pct, new.survey_pct, old.survey_points, new.survey_points),
        "scenario": (old.scenario_pct, new.scenario_pct, old.scenario_points,
                     new.scenario_points),
        "deductions": (None, None, -old.deductions, -new.deductions),
    }
    labels = {"survey": _("Sample survey"), "scenario": _("Scenario survey (mystery shopper)"),
              "deductions": _("Complaint deductions")}
    change_labels = {"added": _("added"), "removed": _("removed"), "changed": _("changed")}
    components = []
    for key in COMPONENTS:
        old_pct, new_pct, old_points, new_points = figures[key]
        delta = (new_points or 0.0) - (old_points or 0.0)
        items = []
        for change in changes[key]:
            kind = change.kind
            item_old, item_new = change.old, change.new
            employee = (item_new or item_old).employee_id
            items.append({
                "kind": KIND_NAMES[kind], "id": change.object_id,
                **described[kind][change.object_id],
                "employee": numbers.get(employee, "") if employee else "",
                "change": change.change, "change_label": str(change_labels[change.change]),
                "old_figure": item_old.figure if item_old else None,
                "new_figure": item_new.figure if item_new else None,
                "old_as": figure_text(kind, item_old.figure) if item_old else "",
                "new_as": figure_text(kind, item_new.figure) if item_new else "",
                "effect": round(change.effect, 4)})
        explained = sum(c.effect for c in changes[key])
        components.append({
            "key": key, "label": str(labels[key]), "old_pct": old_pct, "new_pct": new_pct,
            "old_points": old_points, "new_points": new_points, "delta": round(delta, 4),
            "items": items, "explained": round(explained, 4),
            "other": round(delta - explained, 4)})
    value_delta = (None if old.value is None or new.value is None
                   else round(new.value - old.value, 4))
    component_sum = sum(c["delta"] for c in components)
    unchanged = {KIND_NAMES[kind]: len(same[kind]) for kind in KIND_NAMES}
    return {
        "store": new.store.code, "quarter": str(new.quarter),
        "old": _revision_summary(old), "new": _revision_summary(new),
        "recorded": recorded,
        "components": components, "value_delta": value_delta,
        "clipping": (None if value_delta is None
                     else round(value_delta - component_sum, 4)),
        "unchanged": unchanged,
    }


def _revision_summary(score: StoreScore) -> dict:
    rollup = score.rollup
    return {"revision": rollup.revision, "status": rollup.status,
            "status_label": str(rollup.get_status_display()),
            "scheme_version": rollup.scheme.version, "reason": rollup.reason,
            "computed_at": rollup.computed_at, "published_at": rollup.published_at,
            "value": score.value, "survey_pct": score.survey_pct,
            "scenario_pct": score.scenario_pct, "survey_points": score.survey_points,
            "scenario_points": score.scenario_points, "deductions": score.deductions,
            "n_responses": score.n_responses, "n_visits": score.n_visits,
            "n_complaints": score.n_complaints}


# --- Policy history (satisfaction/history.py) -------------------------------------------------

# A scheme version is never edited, so the versions are the scheme's history (no
# django-simple-history table): each version names who saved it, when and why (its note).
SCHEME_VERSION_META = ("version", "is_current", "note", "created_by")


def scheme_changes(*, limit: int = history.HISTORY_LIMIT) -> list[history.Change]:
    """What each scheme version changed from the one before, newest first: every value that
    differs, an indicator weight per code (one query)."""
    versions = Scheme.objects.select_related("created_by").order_by("-version")[:limit + 1]
    return history.version_changes(
        versions, fields=history.editable_fields(Scheme, exclude=SCHEME_VERSION_META),
        limit=limit)
