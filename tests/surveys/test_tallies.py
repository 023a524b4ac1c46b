"""The survey tallies and kept response scores: what the services keep as answers arrive and
change status equals what the answers say, whatever the order of the writes; the results and
the rollup read them and give the figures the answers give."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from satisfaction.quarters import Quarter
from scoring.models import StoreScore
from scoring.services import rollup_quarter, scheme_create_version
from surveys import selectors
from surveys.models import IndicatorTally, Response, ResponseStatus
from surveys.results import AbuseThresholds
from surveys.services import (
    ResponseInput,
    paper_batch_create,
    response_create,
    response_review,
    response_scores_refresh,
    store_anomaly_scan,
    store_flag_review,
    survey_tallies_rebuild,
)
from tests.concurrency import run_concurrently
from tests.factories import EmployeeFactory
from tests.surveys.factories import ALL_CODES, CampaignFactory, all_rated, rate

SOME_RATINGS = {"assortment": 2, "environment": 5, "recommendation": 1, "efficacy": 4,
                "warm_service": 3, "product_quality": 5, "price": 1}


def _answer(campaign, store, *, ratings=None, employee_number="", entered_by=None,
            expectations=None):
    return response_create(
        store=store, campaign=campaign, channel="paper" if entered_by else "qr",
        entered_by=entered_by,
        data=ResponseInput(ratings=ratings or SOME_RATINGS, employee_number=employee_number,
                           expectations=expectations or {}))


def _figures(campaign):
    """The store and employee frames and every store's per-response scores, as read."""
    quarter = campaign.quarter
    weights = dict.fromkeys(ALL_CODES, 1.0)
    stores = selectors.survey_store_indicator_frame(quarter=quarter).sort_values(
        ["store_id", "indicator_code"]).reset_index(drop=True)
    employees = selectors.survey_employee_indicator_frame(quarter=quarter).sort_values(
        ["employee_id", "indicator_code"]).reset_index(drop=True)
    scores = selectors.survey_response_score_frame(quarter=quarter, weights=weights)
    return stores, employees, scores.sort_values("response_id").reset_index(drop=True)


def test_what_the_services_keep_equals_the_answers_through_every_change_of_status(
        store, sibling_store, clerk, hq):
    campaign = CampaignFactory()
    server = EmployeeFactory(store=store, number="E00009")
    _answer(campaign, store, employee_number=server.number,
            expectations={"price": 4, "efficacy": 2})
    _answer(campaign, store, ratings=all_rated(1))
    # Keyed in by a clerk naming himself: held for review, then it counts for the store only.
    paper_batch_create(store=store, campaign=campaign, entered_by=clerk, rows=[
        ResponseInput(ratings=all_rated(5), employee_number=clerk.employee.number)])
    held = Response.objects.get(status=ResponseStatus.FLAGGED)
    assert selectors.tally_differences(campaigns=[campaign]) == []
    response_review(user=hq, response_ids=[held.pk], clear=True)
    response_review(user=hq, response_ids=[held.pk], clear=True)  # twice: counted once
    assert selectors.tally_differences(campaigns=[campaign]) == []
    tallied = IndicatorTally.objects.filter(campaign=campaign, store=store,
                                            indicator__code="price")
    assert sorted(tallied.values_list("employee_key", "n", "rating_sum", "bottom_n",
                                      "expectation_n", "expectation_sum")) == [
        (0, 2, 6, 1, 0, 0), (server.pk, 1, 1, 1, 1, 4)]

    # The anomaly scan holds a whole store back, then HQ clears it.
    for n in range(12):
        rate(campaign=campaign, store=sibling_store, ratings=all_rated(5),
             device_hash="same-phone", submitted_at=timezone.now() - timedelta(minutes=n % 3))
    [flag] = store_anomaly_scan(campaign=campaign, thresholds=AbuseThresholds(
        min_responses=10, top_share_floor=0.5, top_share_margin=0.0))
    assert not IndicatorTally.objects.filter(store=sibling_store, n__gt=0).exists()
    assert selectors.tally_differences(campaigns=[campaign]) == []
    store_flag_review(user=hq, flag=flag, clear=True)
    assert IndicatorTally.objects.get(store=sibling_store, indicator__code="price").n == 12
    assert selectors.tally_differences(campaigns=[campaign]) == []


def test_the_frames_read_from_the_tallies_equal_the_frames_from_the_answers(store, hq):
    campaign = CampaignFactory()
    server = EmployeeFactory(store=store, number="E00009")
    for ratings in (SOME_RATINGS, all_rated(4), all_rated(2)):
        _answer(campaign, store, ratings=ratings, employee_number=server.number,
                expectations={"price": 5})
    _answer(campaign, store, ratings={**SOME_RATINGS, "price": 3})
    kept = _figures(campaign)
    # The same figures straight from the answers: drop what is kept and rebuild it.
    IndicatorTally.objects.all().delete()
    Response.objects.update(score=None, score_key=None)
    survey_tallies_rebuild(campaigns=[campaign])
    rebuilt = _figures(campaign)
    for mine, theirs in zip(kept, rebuilt, strict=True):
        assert mine.equals(theirs)
    stores = kept[0].set_index("indicator_code")
    assert stores.loc["price", "n"] == 4
    assert stores.loc["price", "mean_score"] == pytest.approx((0 + 3 + 1 + 2) * 25 / 4)
    assert stores.loc["recommendation", "bottom_n"] == 2
    assert stores.loc["price", "mean_expectation_score"] == pytest.approx(100.0)
    assert kept[1]["employee_id"].unique().tolist() == [server.pk]


def test_a_reweighted_scheme_rescores_the_kept_responses_before_the_rollup_reads_them(
        store, hq):
    # An ended quarter (it can be rolled up) whose campaign still takes answers today.
    campaign = CampaignFactory(quarter=Quarter.current().previous())
    for ratings in (SOME_RATINGS, all_rated(4)):
        _answer(campaign, store, ratings=ratings)
    rollup_quarter(quarter=campaign.quarter, user=hq)
    before = StoreScore.objects.get(store=store, rollup__revision=1).survey_pct
    # Only the price counts now: (1 - 1) and (4 - 1) out of 4 → 0 and 75.
    only_price = {**dict.fromkeys(ALL_CODES, 0.0), "price": 1.0}
    scheme_create_version(user=hq, indicator_weights=only_price)
    assert response_scores_refresh(quarter=campaign.quarter,
                                   weights={"price": 1.0}) == 2
    assert response_scores_refresh(quarter=campaign.quarter, weights={"price": 1.0}) == 0
    assert sorted(Response.objects.values_list("score", flat=True)) == [0.0, 75.0]
    rollup_quarter(quarter=campaign.quarter, user=hq)
    after = StoreScore.objects.filter(store=store).order_by("-rollup__computed_at").first()
    assert after.survey_pct == pytest.approx(37.5)
    assert before != after.survey_pct


def test_the_check_command_finds_a_tally_that_differs_and_the_rebuild_mends_it(store):
    campaign = CampaignFactory()
    _answer(campaign, store)
    call_command("survey_tallies_rebuild", "--check")
    IndicatorTally.objects.filter(indicator__code="price").update(n=7)
    with pytest.raises(CommandError, match="1 tallies differ"):
        call_command("survey_tallies_rebuild", "--check")
    call_command("survey_tallies_rebuild")
    call_command("survey_tallies_rebuild", "--check")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_writers_adding_to_the_same_tallies_never_lose_an_update(region):
    from tests.factories import StoreFactory

    store = StoreFactory(code="S0091", region=region)
    campaign = CampaignFactory()

    def answer_five_times():
        for _ in range(5):
            _answer(campaign, store)

    run_concurrently(answer_five_times, times=4)
    assert IndicatorTally.objects.get(store=store, indicator__code="price").n == 20
    assert selectors.tally_differences(campaigns=[campaign]) == []
