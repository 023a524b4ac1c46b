"""Demo data: a shopper team with cities, last quarter's approved visits and this quarter's plan
with approved, submitted and draft reports."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q

from mystery_shopper import services
from mystery_shopper.models import (
    ItemKind,
    Scenario,
    ScorecardItem,
    ShopperCity,
    Visit,
    VisitAnswer,
    VisitEvent,
    VisitStatus,
)
from satisfaction.demo import REGIONS, DemoChain
from satisfaction.quarters import Quarter, chain_zone

# Each shopper covers two regions, so every city has two shoppers to alternate.
SHOPPER_REGIONS = {"shopper1": (0, 1), "shopper2": (1, 2), "shopper3": (2, 0)}


def _answer(chain: DemoChain, visit: Visit, items: list[ScorecardItem]) -> list[VisitAnswer]:
    rng = chain.rng
    rows = []
    for item in items:
        if item.is_red_line:
            value = Decimal(0) if rng.random() < 0.03 else Decimal(1)
        elif item.kind == ItemKind.YES_NO:
            value = Decimal(1) if rng.random() < 0.8 else Decimal(0)
        else:
            value = Decimal(rng.randint(int(item.max_points) // 2, int(item.max_points)))
        na = item.allows_na and rng.random() < 0.05
        rows.append(VisitAnswer(visit=visit, item=item, value=None if na else value,
                                not_applicable=na))
    return rows


def _fill(chain: DemoChain, visits: list[Visit], items: list[ScorecardItem]) -> None:
    scenarios = list(Scenario.objects.all())
    answers: list[VisitAnswer] = []
    for visit in visits:
        staff = chain.staff_of(visit.store)
        employee = chain.rng.choice(staff) if staff else None
        moment = datetime.combine(min(visit.due_on, chain.today), time(10, 30),
                                  tzinfo=chain_zone())
        visit.checked_in_at = moment
        visit.visited_on = moment.date()
        visit.employee = employee
        visit.served_by_badge = employee.number if employee else ""
        visit.scenario = chain.rng.choice(scenarios) if scenarios else None
        visit.notes = "店员态度热情，主动询问症状。"
        answers += _answer(chain, visit, items)
    Visit.objects.bulk_update(visits, ["checked_in_at", "visited_on", "employee",
                                       "served_by_badge", "scenario", "notes"])
    VisitAnswer.objects.bulk_create(answers)


def _mark(visits: list[Visit], status: str, actor) -> None:
    for visit in visits:
        previous = visit.status
        visit.status = status
        visit.submitted_at = visit.checked_in_at + timedelta(hours=2)
        VisitEvent.objects.create(visit=visit, action=status, from_status=previous,
                                  to_status=status, actor=actor)
    Visit.objects.bulk_update(visits, ["status", "submitted_at"])


def seed(*, chain: DemoChain) -> str:
    for username, region_indexes in SHOPPER_REGIONS.items():
        shopper = chain.users[username]
        cities = [city for index in region_indexes for city in REGIONS[index][2]]
        ShopperCity.objects.bulk_create([ShopperCity(shopper=shopper, city=c) for c in cities])
    hq = chain.users["hq"]
    current = Quarter.containing(chain.today)
    previous = current.previous()
    services.visit_plan_generate(quarter=previous, user=hq)
    services.visit_plan_generate(quarter=current, user=hq)
    template = services.current_template()
    items = list(ScorecardItem.objects.filter(section__template=template))
    stores = {s.pk: s for s in chain.stores}
    done = list(Visit.objects.filter(Q(quarter=previous) | Q(quarter=current,
                                                               due_on__lte=chain.today))
                .exclude(shopper=None).order_by("due_on", "pk"))
    for visit in done:
        visit.store = stores[visit.store_id]
    _fill(chain, done, items)
    # The latest few of this quarter stay submitted (HQ's review queue); the rest approved.
    recent = [v for v in done if v.quarter == current][-4:]
    _mark([v for v in done if v not in recent], VisitStatus.SUBMITTED, None)
    _mark(recent, VisitStatus.SUBMITTED, None)
    for visit in done:
        if visit not in recent:
            services.visit_approve(visit=visit, reviewer=hq)
    # A draft in progress for shopper1 (the next visit due), so the demo shows resuming.
    upcoming = (Visit.objects.filter(quarter=current, status=VisitStatus.ASSIGNED,
                                     shopper=chain.users["shopper1"]).order_by("due_on").first())
    drafts = 0
    if upcoming is not None:
        services.visit_draft_save(visit=upcoming, shopper=chain.users["shopper1"],
                                  served_by_badge="", answers={
                                      items[0].pk: {"value": 1}, items[1].pk: {"value": 1}})
        drafts = 1
    approved = len(done) - len(recent)
    return (f"3 shoppers, {Visit.objects.count()} visits planned in {previous} and {current}: "
            f"{approved} approved, {len(recent)} submitted, {drafts} draft")
