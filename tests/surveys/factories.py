"""Factories and helpers for survey tests."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from satisfaction.quarters import Quarter
from surveys.models import (
    Answer,
    Campaign,
    Channel,
    Indicator,
    Response,
    ResponseStatus,
)
from surveys.services import response_tallies_keep


class CampaignFactory(DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"活动{n}")
    quarter = factory.LazyFunction(Quarter.current)
    opens_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=5))
    closes_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=20))
    scale_max = 5
    target_per_store = 30


def rate(*, campaign: Campaign, store, ratings: dict[str, int],
         expectations: dict[str, int] | None = None, employee=None,
         status: str = ResponseStatus.COUNTED, channel: str = Channel.QR,
         **extra) -> Response:
    """Save a response directly (bypassing the service's rules) with the given ratings by
    code, and what the service keeps beside it (``response_tallies_keep``).

    As the service does, a response naming the person who keyed it in (``entered_by``) is
    marked ``self_served`` (its status stays the one given)."""
    entered_by = extra.get("entered_by")
    extra.setdefault("self_served", entered_by is not None and employee is not None
                     and entered_by.employee_id == employee.pk)
    response = Response.objects.create(campaign=campaign, store=store, employee=employee,
                                       channel=channel, status=status, **extra)
    indicators = {i.code: i for i in Indicator.objects.all()}
    Answer.objects.bulk_create([
        Answer(response=response, indicator=indicators[code], rating=value,
               expectation=(expectations or {}).get(code))
        for code, value in ratings.items()])
    response_tallies_keep(response=response)
    return response


ALL_CODES = ["assortment", "environment", "recommendation", "efficacy", "warm_service",
             "product_quality", "price"]


def all_rated(value: int) -> dict[str, int]:
    return dict.fromkeys(ALL_CODES, value)
