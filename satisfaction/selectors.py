"""Reads of the chain's core, scoped to what the user may see."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from satisfaction.models import DEFAULT_APPEAL_DAYS, AppealWindow, Region, Store, User
from satisfaction.scoping import visible_stores


def store_list(*, user: User, region_code: str = "", city: str = "", query: str = ""
               ) -> QuerySet[Store]:
    stores = visible_stores(user).select_related("region").annotate(
        active_employees=Count("employees", filter=Q(employees__is_active=True)))
    if region_code:
        stores = stores.filter(region__code=region_code)
    if city:
        stores = stores.filter(city=city)
    if query:
        stores = stores.filter(Q(code__icontains=query) | Q(name__icontains=query))
    return stores.order_by("code")


def region_list(*, user: User) -> QuerySet[Region]:
    return Region.objects.filter(stores__in=visible_stores(user).values("pk")).distinct()


def appeal_window_days(*, kind: str) -> int:
    """Days after a decision of ``kind`` (``AppealWindowKind``) that it may be appealed: HQ's
    row, or the default 7 without one."""
    days = AppealWindow.objects.filter(kind=kind).values_list("days", flat=True).first()
    return DEFAULT_APPEAL_DAYS if days is None else days
