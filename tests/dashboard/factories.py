"""Rows for dashboard tests: scoring snapshots written directly, input-app rows via the ORM."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from satisfaction.quarters import Quarter
from scoring.models import EmployeeScore, Rollup, RollupStatus, Scheme, StoreScore

INDICATORS = ("assortment", "environment", "recommendation", "efficacy", "warm_service",
              "product_quality", "price")


def make_rollup(quarter: Quarter | str, status: str = RollupStatus.PUBLISHED,
                revision: int = 1) -> Rollup:
    scheme = Scheme.objects.filter(is_current=True).first() or Scheme.objects.create(version=1)
    return Rollup.objects.create(quarter=Quarter.parse(str(quarter)), revision=revision,
                                 status=status, scheme=scheme, computed_at=timezone.now())


def make_store_score(rollup: Rollup, store, value: float | None, *, survey: float = 0,
                     scenario: float = 0, deductions: float = 0, rank_chain=None,
                     rank_region=None, indicators: dict | None = None, **extra) -> StoreScore:
    return StoreScore.objects.create(
        rollup=rollup, quarter=rollup.quarter, store=store, region_id=store.region_id,
        value=value, survey_points=survey, scenario_points=scenario, deductions=deductions,
        rank_chain=rank_chain, rank_region=rank_region,
        indicators={c: [n, m] for c, (n, m) in (indicators or {}).items()}, **extra)


def make_employee_score(rollup: Rollup, employee, value: float, **extra) -> EmployeeScore:
    return EmployeeScore.objects.create(
        rollup=rollup, quarter=rollup.quarter, store_id=employee.store_id,
        region_id=employee.store.region_id, employee=employee, role=employee.role, value=value,
        **extra)


_TICKETS = iter(range(1, 10**6))


def make_complaint(store, *, received_at: datetime, **fields):
    from complaints.models import Category, Channel, Complaint

    defaults = {"channel": Channel.IN_STORE, "category": Category.SERVICE_ATTITUDE,
                "description": "店员态度差"}
    defaults.update(fields)
    return Complaint.objects.create(ticket_no=f"T{next(_TICKETS):07d}", store=store,
                                    received_at=received_at, **defaults)


def make_campaign(quarter: Quarter, *, scale_max: int = 5, ask_expectation: bool = True):
    from surveys.models import Campaign

    return Campaign.objects.create(name=f"{quarter} 调查", quarter=quarter, scale_max=scale_max,
                                   ask_expectation=ask_expectation, opens_on=quarter.first_day,
                                   closes_on=quarter.last_day)


def make_response(campaign, store, ratings: dict[str, int | tuple[int, int]], **fields):
    """``ratings``: code -> rating, or code -> (rating, expectation)."""
    from surveys.models import Answer, Channel, Indicator, Response
    from surveys.services import response_tallies_keep

    response = Response.objects.create(campaign=campaign, store=store,
                                       channel=fields.pop("channel", Channel.PAPER), **fields)
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=list(ratings))}
    Answer.objects.bulk_create([
        Answer(response=response, indicator=indicators[code],
               rating=value[0] if isinstance(value, tuple) else value,
               expectation=value[1] if isinstance(value, tuple) else None)
        for code, value in ratings.items()])
    response_tallies_keep(response=response)
    return response


def make_visit(store, *, quarter: Quarter, visited_on: date, score_pct: float,
               status: str = "approved", answers: dict[str, Decimal | None] | None = None,
               **fields):
    """An approved visit; ``answers`` maps item code -> value (None = not applicable)."""
    from mystery_shopper.models import ScorecardItem, Visit, VisitAnswer
    from mystery_shopper.services import current_template

    template = current_template()
    visit = Visit.objects.create(store=store, quarter=quarter, template=template, status=status,
                                 due_on=visited_on, visited_on=visited_on, score_pct=score_pct,
                                 approved_at=timezone.now() - timedelta(days=1), **fields)
    if answers:
        items = {i.code: i for i in ScorecardItem.objects.filter(section__template=template)}
        VisitAnswer.objects.bulk_create([
            VisitAnswer(visit=visit, item=items[code], value=value,
                        not_applicable=value is None) for code, value in answers.items()])
    return visit
