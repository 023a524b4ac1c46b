"""Reads of the chain's core, scoped to what the user may see."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from satisfaction.models import Region, Store, User
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

