import math

import pytest

from satisfaction.quarters import Quarter
from scoring import evidence
from surveys import selectors
from surveys.models import ResponseStatus
from tests.factories import EmployeeFactory
from tests.surveys.factories import CampaignFactory, all_rated, rate

pytestmark = pytest.mark.django_db


def test_store_indicator_frame_maps_ratings_to_0_100_and_counts_bottom(store, sibling_store):
    campaign = CampaignFactory(scale_max=5)
    rate(campaign=campaign, store=store, ratings={**all_rated(5), "price": 1},
         expectations={"price": 3})
    rate(campaign=campaign, store=store, ratings={**all_rated(4), "price": 2})
    rate(campaign=campaign, store=sibling_store, ratings=all_rated(3))
    rate(campaign=campaign, store=sibling_store, ratings=all_rated(1),
         status=ResponseStatus.FLAGGED)
    frame = selectors.survey_store_indicator_frame(quarter=campaign.quarter)
    price = frame[(frame.store_id == store.pk) & (frame.indicator_code == "price")].iloc[0]
    # ratings 1 and 2 on 1..5 -> 0 and 25 -> mean 12.5; one at the bottom; expectation 3 -> 50
    assert price.n == 2
    assert price.mean_score == pytest.approx(12.5)
    assert price.bottom_n == 1
    assert price.mean_expectation_score == pytest.approx(50.0)
    assortment = frame[(frame.store_id == store.pk)
                       & (frame.indicator_code == "assortment")].iloc[0]
    assert assortment.mean_score == pytest.approx(87.5)  # (100 + 75) / 2
    assert math.isnan(assortment.mean_expectation_score)
    sibling = frame[frame.store_id == sibling_store.pk]
    assert set(sibling.n) == {1}  # the flagged response does not count
    assert set(sibling.mean_score) == {50.0}


def test_store_response_frame_weights_each_response_and_gives_sample_sd(store):
    campaign = CampaignFactory(scale_max=5)
    rate(campaign=campaign, store=store, ratings={**all_rated(5), "price": 1})
    rate(campaign=campaign, store=store, ratings=all_rated(3))
    frame = evidence.response_stats(selectors.survey_response_score_frame(
        quarter=campaign.quarter, weights={"warm_service": 3.0, "price": 1.0}))
    row = frame.iloc[0]
    # response 1: (3*100 + 1*0) / 4 = 75; response 2: (3*50 + 1*50) / 4 = 50
    assert row.n == 2
    assert row.mean_score == pytest.approx(62.5)
    assert row.sd_score == pytest.approx(math.sqrt(((75 - 62.5) ** 2 + (50 - 62.5) ** 2) / 1))


def test_employee_frame_only_has_responses_naming_the_employee(store):
    employee = EmployeeFactory(store=store)
    campaign = CampaignFactory(scale_max=10)
    rate(campaign=campaign, store=store, ratings=all_rated(10), employee=employee)
    rate(campaign=campaign, store=store, ratings=all_rated(1))
    frame = selectors.survey_employee_indicator_frame(quarter=campaign.quarter)
    assert set(frame.employee_id) == {employee.pk}
    assert set(frame.mean_score) == {100.0}
    assert list(frame.columns) == selectors.EMPLOYEE_INDICATOR_COLUMNS


def test_empty_quarter_gives_empty_frames_with_the_contract_columns():
    quarter = Quarter.parse("2001Q1")
    assert list(selectors.survey_store_indicator_frame(quarter=quarter).columns) == \
        selectors.STORE_INDICATOR_COLUMNS
    assert selectors.survey_response_score_frame(quarter=quarter, weights={}).empty
    assert selectors.survey_employee_indicator_frame(quarter=quarter).empty


def test_stores_with_running_campaign_for_the_pos(store, sibling_store, other_store):
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    ids = {store.pk, sibling_store.pk, other_store.pk}
    assert selectors.stores_with_running_campaign(store_ids=ids, day=today) == set()
    some = CampaignFactory(all_stores=False)
    some.stores.set([store])
    CampaignFactory(all_stores=True, opens_on=today - timedelta(days=40),
                    closes_on=today - timedelta(days=30))
    assert selectors.stores_with_running_campaign(store_ids=ids, day=today) == {store.pk}
    CampaignFactory(all_stores=True)
    assert selectors.stores_with_running_campaign(store_ids=ids, day=today) == ids
