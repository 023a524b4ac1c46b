"""Who is told about a complaint: HQ, the store's and the region's managers, the owner;
and the escalation ladder of an SLA alert (``_Recipients.for_alert``). An internal complaint
(a store's complaint to an HQ department) climbs its own ladder: its owner and the
department's heads, then HQ."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from django.urls import reverse

from complaints.models import AlertKind, Complaint, ComplaintKind
from complaints.selectors import department_heads
from satisfaction.models import Role, Store, User

# --- Recipients -----------------------------------------------------------------------------

def _detail_url(complaint: Complaint) -> str:
    return reverse(_detail_route(complaint), args=[complaint.pk])


def _detail_route(complaint: Complaint) -> str:
    if complaint.kind == ComplaintKind.INTERNAL:
        return "complaints:internal_detail"
    return "complaints:detail"


#: An id no complaint has, reversed in its place to find where a detail URL holds the id.
_ID_MARK = 918_273_645_546_372_819


def _detail_urls(complaints: Iterable[Complaint]) -> dict[int, str]:
    """``_detail_url`` of many complaints by id: each route reversed once, the ids put in its
    place (1,000 ``reverse`` calls were a sixth of a sweep's hand-over)."""
    templates: dict[str, tuple[str, str] | None] = {}
    urls = {}
    for complaint in complaints:
        route = _detail_route(complaint)
        if route not in templates:
            parts = reverse(route, args=[_ID_MARK]).split(str(_ID_MARK))
            templates[route] = (parts[0], parts[1]) if len(parts) == 2 else None
        template = templates[route]
        urls[complaint.pk] = (f"{template[0]}{complaint.pk}{template[1]}" if template
                              else _detail_url(complaint))
    return urls


def _hq_users() -> list[User]:
    return list(User.objects.filter(role=Role.HQ_ADMIN, is_active=True).order_by("pk"))


def _store_managers(store_ids: set[int]) -> dict[int, list[User]]:
    pairs = set(User.stores.through.objects.filter(
        store_id__in=store_ids, user__role=Role.STORE_MANAGER, user__is_active=True)
        .values_list("store_id", "user_id"))
    pairs |= set(User.objects.filter(role=Role.STORE_MANAGER, is_active=True,
                                     employee__store_id__in=store_ids)
                 .values_list("employee__store_id", "pk"))
    users = User.objects.in_bulk({user_id for _s, user_id in pairs})
    result: dict[int, list[User]] = defaultdict(list)
    for store_id, user_id in sorted(pairs):
        result[store_id].append(users[user_id])
    return result


def _region_managers(region_ids: set[int]) -> dict[int, list[User]]:
    """The active regional managers of each region (by user id), two queries."""
    pairs = list(User.regions.through.objects.filter(
        region_id__in=region_ids, user__role=Role.REGIONAL_MANAGER, user__is_active=True)
        .values_list("region_id", "user_id"))
    users = User.objects.in_bulk({user_id for _r, user_id in pairs})
    result: dict[int, list[User]] = defaultdict(list)
    for region_id, user_id in sorted(pairs):
        result[region_id].append(users[user_id])
    return result


def _regional_managers(store_ids: set[int]) -> dict[int, list[User]]:
    """The regional managers of each store's region, by store id."""
    region_of = dict(Store.objects.filter(pk__in=store_ids).values_list("pk", "region_id"))
    by_region = _region_managers(set(region_of.values()))
    return {store_id: list(by_region.get(region_id, []))
            for store_id, region_id in region_of.items()}


@dataclass
class _Recipients:
    owners: dict[int, User]
    store_managers: dict[int, list[User]]
    hq: list[User]
    department_heads: dict[int, list[User]]
    store_ids: set[int]

    @cached_property
    def regional_managers(self) -> dict[int, list[User]]:
        """Read at the first alert that climbs to the region (the second escalation): a
        sweep's alerts are mostly warnings and first escalations, which never need them."""
        return _regional_managers(self.store_ids)

    def for_alert(self, complaint: Complaint, kind: str, level: int) -> list[User]:
        owner = self.owners.get(complaint.owner_id) if complaint.owner_id else None
        managers = self.store_managers.get(complaint.store_id, [])
        if complaint.kind == ComplaintKind.INTERNAL:
            # The store is the customer: its department answers, then HQ.
            managers = self.department_heads.get(complaint.department_id, [])
            if kind == AlertKind.ESCALATE and level >= 2:
                return list(self.hq)
        if kind == AlertKind.ESCALATE and level == 1:
            users = [*managers, *([owner] if owner else [])]
        elif kind == AlertKind.ESCALATE and level == 2:
            users = list(self.regional_managers.get(complaint.store_id, []))
        elif kind == AlertKind.ESCALATE:
            users = list(self.hq)
        else:
            users = [owner] if owner else list(managers)
        unique = list({u.pk: u for u in users if u is not None and u.is_active}.values())
        return unique or list(self.hq)


def _recipients(complaints: Iterable[Complaint]) -> _Recipients:
    complaints = list(complaints)
    store_ids = {c.store_id for c in complaints}
    departments = {c.department_id for c in complaints if c.kind == ComplaintKind.INTERNAL}
    return _Recipients(
        owners=User.objects.in_bulk({c.owner_id for c in complaints if c.owner_id}),
        store_managers=_store_managers(store_ids), hq=_hq_users(),
        department_heads=department_heads(departments) if departments else {},
        store_ids=store_ids)
