"""Demo data: a running campaign with a few thousand answers, some stores weak somewhere, and
three questionnaires clerk1 keyed in for his own store naming himself, held for HQ review.

The campaign asks overall satisfaction and would-recommend. Overall is made from the
indicator ratings with known weights (``DRIVER_WEIGHTS``) plus noise, so the results page's
importance–performance chart (``surveys.drivers``) shows efficacy and warm service moving
customers most, as the weights say."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta

from django.utils import timezone

from satisfaction.demo import DemoChain
from satisfaction.quarters import Quarter, chain_zone
from surveys.models import (
    Answer,
    Campaign,
    Channel,
    Indicator,
    Invitation,
    InvitationChannel,
    Response,
)
from surveys.services import ResponseInput, response_create, survey_tallies_rebuild

RESPONSES_PER_STORE = (60, 140)
# How much a point of each indicator moves overall satisfaction in the demo's answers (the
# driver analysis should find about these): efficacy and warm service most, then price.
DRIVER_WEIGHTS = {"efficacy": 0.28, "warm_service": 0.22, "price": 0.16, "assortment": 0.12,
                  "product_quality": 0.08, "environment": 0.05, "recommendation": 0.04}
OVERALL_INTERCEPT, OVERALL_NOISE = 0.25, 0.45
OVERALL_ANSWERED, RECOMMEND_ANSWERED = 0.92, 0.85


def seed(*, chain: DemoChain, quarter: Quarter | None = None) -> str:
    """The running quarter's campaign. With ``quarter``, a past quarter's closed campaign
    (responses only: no open invitations, nothing held), so that the quarter the demo publishes
    has a sample survey (without one every employee's survey parts read "no data")."""
    rng = chain.rng
    past = quarter is not None
    quarter = quarter or Quarter.containing(chain.today)
    campaign = Campaign.objects.create(
        name="季度顾客满意度抽样调查", quarter=quarter, scale_max=5, ask_expectation=True,
        ask_overall=True, ask_recommend=True, target_per_store=80, opens_on=quarter.first_day,
        closes_on=quarter.last_day)
    indicators = list(Indicator.objects.filter(is_active=True).order_by("order"))
    days = max(1, (min(chain.today, quarter.last_day) - quarter.first_day).days + 1)
    zone = chain_zone()
    responses: list[Response] = []
    ratings_of: list[dict[int, int]] = []
    invitations: list[Invitation] = []
    for store in chain.stores:
        # Each store is good at most things; some are weak on one or two indicators.
        base = rng.uniform(3.6, 4.5)
        weak_count = min(rng.choice((0, 1, 1, 2)), len(indicators))
        weak = set(rng.sample([i.pk for i in indicators], weak_count))
        profile = {i.pk: base - (1.4 if i.pk in weak else 0.0) for i in indicators}
        staff = chain.staff_of(store)
        for _ in range(rng.randint(*RESPONSES_PER_STORE)):
            day = quarter.first_day + timedelta(days=rng.randrange(days))
            moment = datetime.combine(day, time(rng.randint(8, 21), rng.randint(0, 59)),
                                      tzinfo=zone)
            channel = rng.choice((Channel.QR, Channel.QR, Channel.RECEIPT, Channel.PAPER))
            employee = rng.choice(staff) if staff and rng.random() < 0.6 else None
            ratings = {i.pk: min(5, max(1, round(rng.gauss(profile[i.pk], 0.8))))
                       for i in indicators}
            overall, recommend = _overall_and_recommend(rng, indicators, ratings)
            responses.append(Response(
                campaign=campaign, store=store, employee=employee, channel=channel,
                submitted_at=min(moment, timezone.now()), duration_seconds=rng.randint(40, 300),
                language="zh-hans", device_hash=secrets.token_hex(8), overall=overall,
                recommend=recommend))
            ratings_of.append(ratings)
        sent = 0 if past else rng.randint(40, 120)
        now = timezone.now()
        invitations += [Invitation(
            token=secrets.token_urlsafe(16), store=store, campaign=campaign,
            transaction_ref=f"R{store.code}-{n:05d}", channel=InvitationChannel.RECEIPT,
            created_at=now - timedelta(days=1), expires_at=now + timedelta(days=6))
            for n in range(sent)]
    Response.objects.bulk_create(responses, batch_size=2000)
    answers = []
    for response, ratings in zip(responses, ratings_of, strict=True):
        for indicator in indicators:
            rating = ratings[indicator.pk]
            expectation = min(5, max(1, round(rng.gauss(4.0, 0.7)))) if rng.random() < 0.5 \
                else None
            answers.append(Answer(response=response, indicator=indicator, rating=rating,
                                  expectation=expectation))
    Answer.objects.bulk_create(answers, batch_size=5000)
    Invitation.objects.bulk_create(invitations, batch_size=2000)
    # Link the receipt responses to invitations so the response rate has something to show.
    receipts = [r for r in responses if r.channel == Channel.RECEIPT]
    by_store: dict[int, list[Invitation]] = {}
    for invitation in Invitation.objects.filter(campaign=campaign).order_by("pk"):
        by_store.setdefault(invitation.store_id, []).append(invitation)
    linked = []
    for response in receipts:
        pool = by_store.get(response.store_id) or []
        if pool:
            invitation = pool.pop()
            invitation.used_at = response.submitted_at
            response.invitation = invitation
            linked.append(response)
    Invitation.objects.bulk_update([r.invitation for r in linked], ["used_at"], batch_size=2000)
    Response.objects.bulk_update(linked, ["invitation"], batch_size=2000)
    # Written in bulk, around the services: tally them as the services would have.
    survey_tallies_rebuild(campaigns=[campaign])
    held = 0 if past else _self_entered(chain=chain, campaign=campaign, indicators=indicators)
    return (f"campaign {campaign} with {len(responses)} responses, {len(answers)} ratings, "
            f"{len(invitations)} invitations, {held} held for HQ review")


def _overall_and_recommend(rng, indicators: list[Indicator], ratings: dict[int, int]
                           ) -> tuple[int | None, int | None]:
    """A customer's overall satisfaction (1–5: the known weights of the ratings plus noise) and
    would-recommend (0–10, following overall), each left out by some customers."""
    value = OVERALL_INTERCEPT + sum(DRIVER_WEIGHTS.get(i.code, 0.0) * ratings[i.pk]
                                    for i in indicators)
    overall = min(5, max(1, round(rng.gauss(value, OVERALL_NOISE))))
    recommend = min(10, max(0, round(rng.gauss(2.5 * overall - 2.5, 1.3))))
    return (overall if rng.random() < OVERALL_ANSWERED else None,
            recommend if rng.random() < RECOMMEND_ANSWERED else None)


def _self_entered(*, chain: DemoChain, campaign: Campaign, indicators: list[Indicator]) -> int:
    """clerk1 keys in top marks for his own store, naming himself: the review page's example
    (held, flagged "entered by the store's own staff" and "names who entered it")."""
    clerk = chain.users.get("clerk1")
    if clerk is None or clerk.employee is None:
        return 0
    moment = datetime.combine(chain.today, time(12, 0), tzinfo=chain_zone())
    for _ in range(3):
        response_create(
            store=clerk.employee.store, campaign=campaign, channel=Channel.PAPER,
            entered_by=clerk, now=min(moment, timezone.now()),
            data=ResponseInput(ratings={i.code: campaign.scale_max for i in indicators},
                               employee_number=clerk.employee.number))
    return 3
