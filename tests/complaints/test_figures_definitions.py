"""The figures as the field means them, on a hand-made period with hand-computed numbers:

- closed-loop rate (闭环处理率) = received in the period and closed with the customer's
  confirmation / received in the period;
- satisfaction with the resolution = closed with the customer satisfied / closed (received in
  the period);
- recurrence rate = closed in the period with a recurrence received within 90 days of closing /
  closed in the period.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints import selectors, services
from complaints.models import Category, Complaint
from complaints.services import ProductInput
from satisfaction.quarters import chain_zone
from tests.complaints.factories import make_complaint
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def handled(store, hq, category, *, satisfied: bool | None = True, close: bool = True,
            **extra) -> Complaint:
    complaint = make_complaint(store, category=category, **extra)
    if satisfied is None:
        return complaint
    services.complaint_triage(complaint=complaint, user=hq, version=complaint.version,
                              grade="C", substantiated=True, responsibility="own_store",
                              owner=None)
    services.complaint_resolve(complaint=complaint, user=hq, version=complaint.version,
                               remedy="致歉", customer_satisfied=satisfied)
    if close:
        services.complaint_close(complaint=complaint, user=hq, version=complaint.version)
    return complaint


def z9() -> ProductInput:
    return ProductInput(medicine_name="布洛芬缓释胶囊", manufacturer="中美史克", batch_no="Z9")


@pytest.fixture
def period(store, sibling_store, other_store, other_region, hq):
    """Received in the period (all today):
    store S0001: closed satisfied (price), closed unsatisfied (environment), resolved
      satisfied but not closed, new, and a recurrence of the price one (new);
    sibling S0002: two closed satisfied (price, environment) and a recurrence of the second,
      received 120 days after it closed (its closing moved back: not within 90 days);
    other S0011: a new complaint, and a recurrence by batch of a complaint at S0012;
    far S0012 (other region): nothing received in the period, one complaint closed in it
      (received before the period) with that recurrence."""
    now = timezone.now()
    far_store = StoreFactory(code="S0012", name="深圳福田店", region=other_region)
    handled(store, hq, Category.PRICE, satisfied=True)
    handled(store, hq, Category.ENVIRONMENT, satisfied=False)
    handled(store, hq, Category.ASSORTMENT, satisfied=True, close=False)
    handled(store, hq, Category.OTHER, satisfied=None)
    recurrence_1 = handled(store, hq, Category.PRICE, satisfied=None, customer_phone="")
    handled(sibling_store, hq, Category.PRICE, satisfied=True)
    b2 = handled(sibling_store, hq, Category.ENVIRONMENT, satisfied=True)
    recurrence_2 = handled(sibling_store, hq, Category.ENVIRONMENT, satisfied=None,
                           customer_phone="")
    Complaint.objects.filter(pk=b2.pk).update(closed_at=now - timedelta(days=120))
    handled(other_store, hq, Category.SERVICE_ATTITUDE, satisfied=None)
    d1 = handled(far_store, hq, Category.PRODUCT_QUALITY, satisfied=True, product=z9())
    recurrence_3 = handled(other_store, hq, Category.PRODUCT_QUALITY, satisfied=None,
                           customer_phone="", product=z9())
    Complaint.objects.filter(pk=d1.pk).update(received_at=now - timedelta(days=300))
    assert recurrence_1.recurrence_of is not None
    assert recurrence_2.recurrence_of == b2
    assert recurrence_3.recurrence_of == d1
    return now - timedelta(days=200), now + timedelta(days=1)


def rates(rows) -> dict[str, tuple]:
    return {row.key: (row.total, row.closed, row.closed_satisfied, row.closed_loop_rate,
                      row.satisfaction_rate, row.closed_in_period, row.recurred,
                      row.recurrence_rate) for row in rows}


def test_the_figures_per_store_follow_the_definitions(period, hq,
                                                      django_assert_num_queries):
    start, end = period
    with django_assert_num_queries(3):
        figures = selectors.complaint_figures(user=hq, start=start, end=end, level="store")
    #        total closed  satisfied  closed-loop  satisfaction  closed-in-period  recurred
    assert rates(figures.rows) == {
        "S0001": (5, 2, 1, 20.0, 50.0, 2, 1, 50.0),
        "S0002": (3, 2, 2, 66.7, 100.0, 2, 0, 0.0),
        "S0011": (2, 0, 0, 0.0, None, 0, 0, None),
        "S0012": (0, 0, 0, None, None, 1, 1, 100.0),
    }
    assert [row.key for row in figures.rows] == ["S0001", "S0002", "S0011", "S0012"]


def test_the_figures_per_region_and_for_the_chain_follow_the_definitions(
        period, hq, django_assert_num_queries):
    start, end = period
    with django_assert_num_queries(3):
        regions = selectors.complaint_figures(user=hq, start=start, end=end, level="region")
    assert rates(regions.rows) == {
        "EAST": (8, 4, 3, 37.5, 75.0, 4, 1, 25.0),
        "SOUTH": (2, 0, 0, 0.0, None, 1, 1, 100.0),
    }
    with django_assert_num_queries(3):
        chain = selectors.complaint_figures(user=hq, start=start, end=end, level="chain")
    assert rates(chain.rows) == {"chain": (10, 4, 3, 30.0, 75.0, 5, 2, 40.0)}


def test_the_api_and_the_page_give_the_figures_and_state_the_definitions(period, hq, login):
    _start, end = period
    client = login(hq)
    today = timezone.localtime(end - timedelta(days=1), chain_zone()).date()
    query = {"start": (today - timedelta(days=199)).isoformat(), "end": today.isoformat(),
             "level": "chain"}
    row = client.get("/api/v1/complaint-figures/", query).json()["rows"][0]
    assert (row["closed_loop_rate"], row["satisfaction_rate"], row["recurrence_rate"]) == (
        30.0, 75.0, 40.0)
    assert (row["closed_satisfied"], row["closed_in_period"], row["recurred"]) == (3, 5, 2)
    english = client.get("/complaints/figures/", query,
                         HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "divided by all complaints received in the period" in english
    assert "within 90 days of closing" in english
    assert '<td class="num" data-testid="recurrence-rate">40.0</td>' in english
    chinese = client.get("/complaints/figures/", query,
                         HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "闭环处理率" in chinese
    assert "再发生率" in chinese


def test_a_store_manager_sees_the_rates_of_his_own_store_only(period, store_manager):
    start, end = period
    figures = selectors.complaint_figures(user=store_manager, start=start, end=end,
                                          level="chain")
    assert rates(figures.rows) == {"chain": (5, 2, 1, 20.0, 50.0, 2, 1, 50.0)}
