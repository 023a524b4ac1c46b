"""Reads of the scoring app, scoped to what the user may see (``satisfaction.scoping``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.models import Complaint
from mystery_shopper.models import Visit
from satisfaction.errors import ApplicationError
from satisfaction.models import User
from satisfaction.quarters import Quarter, chain_zone
from satisfaction.scoping import scope_to_stores
from scoring import loader, rules
from scoring.models import EmployeeScore, Rollup, RollupStatus, StoreScore
from surveys.models import Response


def rollup_list(*, quarter: Quarter | None = None) -> QuerySet[Rollup]:
    rollups = Rollup.objects.select_related("scheme", "published_by", "computed_by")
    if quarter is not None:
        rollups = rollups.filter(quarter=quarter)
    return rollups.order_by("-quarter", "-revision")


def quarters_with_values() -> list[Quarter]:
    return sorted(set(Rollup.objects.values_list("quarter", flat=True)), reverse=True)


def rollup_for_display(*, quarter: Quarter, revision: int | None = None) -> Rollup | None:
    """The quarter's published revision, else its provisional one (or the given revision)."""
    rollups = Rollup.objects.select_related("scheme").filter(quarter=quarter)
    if revision is not None:
        return rollups.filter(revision=revision).first()
    published = rollups.filter(status=RollupStatus.PUBLISHED).first()
    return published or rollups.filter(status=RollupStatus.PROVISIONAL).first()


def revision_param(params: Mapping[str, str], name: str = "revision") -> int | None:
    """``?revision=2`` of a page or an API call: a whole number, or None when not given."""
    text = (params.get(name) or "").strip()
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


def score_trace(*, quarter: Quarter, store_id: int, employee_id: int | None = None,
                limit: int = TRACE_LIMIT) -> dict[str, dict]:
    """The responses, visits and complaints behind a value: ``{kind: {"count", "rows"}}``.

    Callers have already checked that the user may see the store (or the employee).
    """
    result = {}
    for kind, queryset in loader.trace(quarter=quarter, store_id=store_id,
                                       employee_id=employee_id).items():
        rows = list(queryset[:limit])
        result[kind] = {"count": queryset.count() if len(rows) == limit else len(rows),
                        "rows": rows}
    return result


def _local_date(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment, chain_zone()).date()
    return moment.isoformat()


def trace_item(obj: Response | Visit | Complaint) -> dict:
    """A plain description of a traced row: a response (date, channel), a visit (date, score)
    or a complaint (date, grade), with the employee who served."""
    if isinstance(obj, Response):
        when, detail = obj.submitted_at, str(obj.get_channel_display())
    elif isinstance(obj, Visit):
        when = obj.visited_on
        detail = "" if obj.score_pct is None else f"{obj.score_pct:.1f}%"
    else:
        when = obj.received_at
        detail = " · ".join(part for part in (obj.grade, str(obj.get_channel_display())) if part)
    employee = obj.employee
    return {"id": obj.pk, "text": str(obj), "url": "", "date": _local_date(when),
            "detail": detail, "employee": employee.number if employee is not None else ""}
