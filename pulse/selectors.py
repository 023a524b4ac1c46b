"""Reads of the staff pulse. Every figure goes through ``pulse.calc.group_pulse``, so a group
under ``MIN_GROUP`` answers, or of a quarter still running, is hidden whatever reads it; each
read is one ``GROUP BY``, whatever the number of stores."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from pulse import calc, rules
from pulse.models import PulseParticipation, PulseResponse
from pulse.statements import CODES
from satisfaction.models import Region, Store, User
from satisfaction.quarters import Quarter
from satisfaction.scoping import visible_stores


def quarter_ended(quarter: Quarter) -> bool:
    return quarter.end() <= timezone.now()


def pulse_stores(*, user: User) -> QuerySet[Store]:
    """The stores ``user`` may answer for: the active stores they work in."""
    if not rules.can_take_pulse(user):
        return Store.objects.none()
    return visible_stores(user).filter(is_active=True).order_by("code")


def has_answered(*, user: User, quarter: Quarter) -> bool:
    return PulseParticipation.objects.filter(user=user, quarter=quarter).exists()


def pulse_quarters() -> list[Quarter]:
    """The ended quarters with answers, newest first (the quarters a results page offers)."""
    quarters = (PulseResponse.objects.order_by("-quarter").values_list("quarter", flat=True)
                .distinct())
    return [q for q in quarters if quarter_ended(q)]


def default_quarter(quarters: list[Quarter]) -> Quarter:
    """The newest ended quarter with answers, else the last ended quarter."""
    return quarters[0] if quarters else Quarter.current().previous()


def _figures(rows, key: str, quarter: Quarter) -> dict[int, calc.GroupPulse]:
    ended = quarter_ended(quarter)
    return {row[key]: calc.group_pulse(n=row["n"], sums=row, ended=ended) for row in rows}


def _grouped(responses: QuerySet[PulseResponse], key: str) -> QuerySet:
    return (responses.order_by().values(key)
            .annotate(n=Count("id"), **{code: Sum(code) for code in CODES}))


def store_pulse(*, quarter: Quarter, stores: QuerySet[Store] | None = None
                ) -> dict[int, calc.GroupPulse]:
    """Per store id (of ``stores``, else all) with answers in ``quarter``: its figure, hidden
    under ``MIN_GROUP``. One query."""
    responses = PulseResponse.objects.filter(quarter=quarter)
    if stores is not None:
        responses = responses.filter(store__in=stores.values("pk"))
    return _figures(_grouped(responses, "store_id"), "store_id", quarter)


def region_pulse(*, quarter: Quarter, regions: QuerySet[Region] | None = None
                 ) -> dict[int, calc.GroupPulse]:
    """Per region id: the figure of all its stores' answers pooled (a region shows when it
    has ``MIN_GROUP`` answers, whatever its stores show). One query."""
    responses = PulseResponse.objects.filter(quarter=quarter)
    if regions is not None:
        responses = responses.filter(store__region__in=regions.values("pk"))
    return _figures(_grouped(responses, "store__region_id"), "store__region_id", quarter)


def visible_regions(*, user: User) -> QuerySet[Region]:
    """The regions whose pooled pulse ``user`` sees: HQ all; anyone else the regions of the
    stores they see (a store's staff see their region's aggregate)."""
    if not rules.can_see_pulse_results(user):
        return Region.objects.none()
    return Region.objects.filter(pk__in=visible_stores(user).values("region_id")).order_by(
        "code")


def store_trend(*, store: Store, quarters: list[Quarter]) -> list[tuple[Quarter,
                                                                         calc.GroupPulse]]:
    """The store's figure in each of ``quarters`` (hidden where it must be). One query."""
    rows = _grouped(PulseResponse.objects.filter(store=store, quarter__in=quarters), "quarter")
    by_quarter = {row["quarter"]: row for row in rows}
    result = []
    for quarter in quarters:
        row = by_quarter.get(quarter)
        figure = (calc.GroupPulse(hidden=calc.HIDDEN_SMALL) if row is None else
                  calc.group_pulse(n=row["n"], sums=row, ended=quarter_ended(quarter)))
        result.append((quarter, figure))
    return result


@dataclass(frozen=True)
class StoreResults:
    store: Store
    figure: calc.GroupPulse
    region_figure: calc.GroupPulse
    comments: list[str]


def store_results(*, user: User, store: Store, quarter: Quarter) -> StoreResults:
    """One store's pulse for a reader who sees the store (the view checked the scope): the
    store's and its region's figures, and the comments when the reader may read them and the
    store's figure is shown, in no particular order (random keys) and without dates."""
    figure = store_pulse(quarter=quarter, stores=Store.objects.filter(pk=store.pk)).get(
        store.pk, calc.GroupPulse(hidden=calc.HIDDEN_SMALL))
    region_figure = region_pulse(quarter=quarter, regions=Region.objects.filter(
        pk=store.region_id)).get(store.region_id, calc.GroupPulse(hidden=calc.HIDDEN_SMALL))
    comments: list[str] = []
    if figure.shown and rules.can_read_pulse_comments(user):
        comments = list(PulseResponse.objects.filter(store=store, quarter=quarter)
                        .exclude(comment="").order_by("id").values_list("comment", flat=True))
    return StoreResults(store=store, figure=figure, region_figure=region_figure,
                        comments=comments)
