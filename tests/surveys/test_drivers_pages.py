"""What drives satisfaction on the pages: the campaign's extra questions (overall, would
recommend) collected on every channel, the scoped driver analysis, and the results pages."""

import numpy as np
import pytest
from django.core import signing
from django.http import Http404
from django.test import Client
from django.utils import timezone, translation

from satisfaction.errors import ApplicationError
from surveys import drivers
from surveys.models import Answer, Channel, Indicator, Response, ResponseStatus
from surveys.selectors import campaign_drivers
from surveys.services import ResponseInput, campaign_update, response_create
from tests.surveys.factories import ALL_CODES, CampaignFactory, all_rated

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}

WEIGHTS = {"efficacy": 0.3, "warm_service": 0.25, "price": 0.15, "assortment": 0.1,
           "product_quality": 0.08, "environment": 0.05, "recommendation": 0.02}


def _asking(**extra):
    return CampaignFactory(ask_overall=True, ask_recommend=True, **extra)


def _answers(campaign, store, n: int, *, seed: int = 1,
             status: str = ResponseStatus.COUNTED) -> list[Response]:
    """``n`` responses at ``store`` whose overall follows ``WEIGHTS`` plus noise (bulk)."""
    rng = np.random.default_rng(seed)
    indicators = list(Indicator.objects.filter(is_active=True).order_by("order", "code"))
    ratings = np.clip(np.round(3.6 + rng.normal(0, 0.5, (n, 1))
                               + rng.normal(0, 0.8, (n, len(indicators)))), 1, 5).astype(int)
    weights = np.array([WEIGHTS[i.code] for i in indicators])
    overall = np.clip(np.round(0.3 + ratings @ weights + rng.normal(0, 0.4, n)), 1, 5)
    responses = Response.objects.bulk_create([
        Response(campaign=campaign, store=store, channel=Channel.QR, status=status,
                 overall=int(overall[row]), recommend=int(rng.integers(0, 11)))
        for row in range(n)])
    Answer.objects.bulk_create([
        Answer(response=response, indicator=indicator, rating=int(ratings[row, column]))
        for row, response in enumerate(responses)
        for column, indicator in enumerate(indicators)])
    return responses


def _started() -> str:
    return signing.TimestampSigner(salt="surveys.started").sign(
        str(timezone.now().timestamp() - 120))


# --- Collecting the two questions ---------------------------------------------------------


def test_a_customer_answers_overall_and_recommend_on_the_questionnaire(store):
    _asking()
    page = Client().get("/q/S0001")
    assert b'name="overall"' in page.content
    assert b'name="recommend" value="10"' in page.content
    data = {f"rating_{code}": "4" for code in ALL_CODES}
    result = Client().post("/q/S0001", {**data, "overall": "5", "recommend": "9",
                                        "started": _started()})
    assert result.status_code == 200
    assert Response.objects.values_list("overall", "recommend").get() == (5, 9)


def test_the_questions_are_optional_for_the_customer_and_absent_when_not_asked(store):
    CampaignFactory()
    assert b'name="overall"' not in Client().get("/q/S0001").content
    response = response_create(store=store, campaign=_asking(), channel=Channel.QR,
                               data=ResponseInput(ratings=all_rated(4)))
    assert (response.overall, response.recommend) == (None, None)


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_out_of_range_or_unasked_answers_are_refused_by_field(store, english):
    asking, plain = _asking(), CampaignFactory()
    with pytest.raises(ApplicationError) as exc:
        response_create(store=store, campaign=asking, channel=Channel.QR,
                        data=ResponseInput(ratings=all_rated(4), overall=6, recommend="11"))
    assert exc.value.fields["overall"] == ["Choose a whole number from 1 to 5."]
    assert exc.value.fields["recommend"] == ["Choose a whole number from 0 to 10."]
    with pytest.raises(ApplicationError) as exc:
        response_create(store=store, campaign=plain, channel=Channel.QR,
                        data=ResponseInput(ratings=all_rated(4), overall=4))
    assert exc.value.fields["overall"] == ["This campaign does not ask this question."]
    assert Response.objects.count() == 0


def test_the_api_takes_the_two_answers_and_says_which_is_out_of_range(store, clerk, login):
    campaign = _asking()
    client = login(clerk)
    body = {"campaign": campaign.pk, "store": "S0001", "ratings": all_rated(4)}
    too_high = client.post("/api/v1/surveys/responses/", {**body, "overall": 7},
                           content_type="application/json")
    assert too_high.status_code == 400
    assert "overall" in too_high.json()["fields"]
    bad_recommend = client.post("/api/v1/surveys/responses/", {**body, "recommend": 11},
                                content_type="application/json")
    assert bad_recommend.status_code == 400
    good = client.post("/api/v1/surveys/responses/", {**body, "overall": 4, "recommend": 0},
                       content_type="application/json")
    assert good.status_code == 201
    assert (good.json()["overall"], good.json()["recommend"]) == (4, 0)


def test_staff_key_in_overall_and_recommend_on_the_paper_page(store, clerk, login):
    campaign = _asking()
    client = login(clerk)
    assert b'name="r0_overall"' in client.get("/surveys/paper/").content
    data = {"store": "S0001", "campaign": str(campaign.pk), "r0_overall": "3",
            "r0_recommend": "6", **{f"r0_{code}": "4" for code in ALL_CODES}}
    assert client.post("/surveys/paper/", data).status_code == 302
    assert Response.objects.values_list("overall", "recommend").get() == (3, 6)


def test_hq_switches_the_questions_on_for_a_campaign_that_has_answers(store, hq, login):
    campaign = CampaignFactory()
    response_create(store=store, campaign=campaign, channel=Channel.QR,
                    data=ResponseInput(ratings=all_rated(4)))
    campaign_update(campaign=campaign, user=hq, ask_overall=True, ask_recommend=True)
    campaign.refresh_from_db()
    assert campaign.ask_overall
    assert campaign.ask_recommend
    page = login(hq).get(f"/setup/campaigns/{campaign.pk}/")
    assert b'name="ask_overall"' in page.content


# --- The analysis, scoped -----------------------------------------------------------------


def test_the_chain_analysis_counts_only_counted_answers(store, sibling_store, hq):
    campaign = _asking()
    _answers(campaign, store, 80, seed=1)
    _answers(campaign, sibling_store, 40, seed=2)
    _answers(campaign, store, 30, seed=3, status=ResponseStatus.FLAGGED)
    result = campaign_drivers(campaign=campaign, user=hq)
    assert result.enough
    assert result.n == 120
    assert not result.sampled
    assert [i.code for i in result.indicators] == [
        "assortment", "environment", "recommendation", "efficacy", "warm_service",
        "product_quality", "price"]
    assert {i.kano_class for i in result.indicators} == {"basic", "delight"}
    by_code = {i.code: i for i in result.indicators}
    assert by_code["price"].kano_class == "basic"
    assert by_code["warm_service"].kano_class == "delight"
    assert result.nps is not None
    assert result.nps.n == 120


def test_a_store_never_gets_weights_from_a_handful_of_answers(store, sibling_store,
                                                               store_manager):
    campaign = _asking()
    _answers(campaign, store, 40)
    _answers(campaign, sibling_store, 200, seed=2)
    result = campaign_drivers(campaign=campaign, user=store_manager, store=store)
    assert not result.enough
    assert result.n == 40
    assert result.indicators == []


def test_other_stores_and_regions_are_404(store, other_store, other_region, store_manager,
                                          region_manager):
    campaign = _asking()
    with pytest.raises(Http404):
        campaign_drivers(campaign=campaign, user=store_manager, store=other_store)
    with pytest.raises(Http404):
        campaign_drivers(campaign=campaign, user=region_manager, region=other_region)
    with pytest.raises(Http404):
        campaign_drivers(campaign=campaign, user=store_manager, region=store.region)


def test_a_region_manager_sees_their_regions_and_not_the_other_ones(store, other_store,
                                                                    region, region_manager):
    campaign = _asking()
    _answers(campaign, store, 110)
    _answers(campaign, other_store, 300, seed=2)
    mine = campaign_drivers(campaign=campaign, user=region_manager)
    assert mine.n == 110
    assert campaign_drivers(campaign=campaign, user=region_manager, region=region).n == 110


def test_a_large_scope_is_read_as_a_fixed_sample_and_says_so(store, hq, monkeypatch):
    campaign = _asking()
    _answers(campaign, store, 150)
    monkeypatch.setattr(drivers, "MAX_DRIVER_SAMPLE", 120)
    first = campaign_drivers(campaign=campaign, user=hq)
    assert (first.read, first.sample_of, first.sampled) == (120, 150, True)
    again = campaign_drivers(campaign=campaign, user=hq)
    assert again.indicators == first.indicators


def test_a_campaign_that_asks_neither_question_has_no_analysis(store, hq):
    assert campaign_drivers(campaign=CampaignFactory(), user=hq) is None


# --- The pages ----------------------------------------------------------------------------


def test_hq_sees_the_quadrant_chart_and_the_advice_in_a_fixed_number_of_queries(
        store, sibling_store, hq, login, django_assert_max_num_queries):
    campaign = _asking()
    _answers(campaign, store, 130)
    client = login(hq)
    # Whatever the number of answers (the analysis is three of them): 24 on SQLite, 28 on
    # PostgreSQL (its raw statements set jit off first).
    with django_assert_max_num_queries(30):
        page = client.get(f"/surveys/campaigns/{campaign.pk}/", **EN)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-chart="drivers"' in html
    assert 'id="spec-drivers"' in html
    assert "the whole chain" in html
    assert "n = 130" in html
    advice = html.split('data-testid="drivers-advice"')[1].split("</ol>")[0]
    assert advice.count("<li>") >= 2
    # The Kano class beside each indicator of the store table.
    assert 'data-testid="kano-price">Basic<' in html
    assert 'data-testid="kano-warm_service">Delight<' in html
    assert "Net promoter score:" in html


def test_hq_picks_a_region_and_an_empty_one_says_it_has_too_few_answers(
        store, other_store, other_region, hq, login):
    campaign = _asking()
    _answers(campaign, store, 120)
    page = login(hq).get(f"/surveys/campaigns/{campaign.pk}/?region=SOUTH", **EN)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-chart="drivers"' not in html
    assert "to say what drives it: 0 of the 106 needed." in html
    assert login(hq).get(f"/surveys/campaigns/{campaign.pk}/?region=NOPE").status_code == 404


def test_a_region_manager_cannot_pick_another_region(store, other_store, region_manager, login):
    campaign = _asking()
    client = login(region_manager)
    page = client.get(f"/surveys/campaigns/{campaign.pk}/")
    assert page.status_code == 200
    assert b'value="EAST"' in page.content
    assert b'value="SOUTH"' not in page.content
    assert client.get(f"/surveys/campaigns/{campaign.pk}/?region=SOUTH").status_code == 404


def test_the_store_page_says_too_few_answers_with_the_n(store, store_manager, login,
                                                        django_assert_max_num_queries):
    campaign = _asking()
    _answers(campaign, store, 25)
    client = login(store_manager)
    with django_assert_max_num_queries(29):  # 23 on SQLite, 27 on PostgreSQL
        page = client.get(f"/surveys/campaigns/{campaign.pk}/stores/S0001/", **EN)
    html = page.content.decode()
    assert page.status_code == 200
    assert "to say what drives it: 25 of the 106 needed." in html
    assert 'data-chart="drivers"' not in html


def test_a_store_with_enough_answers_shows_its_own_chart(store, store_manager, login):
    campaign = _asking()
    _answers(campaign, store, 110)
    page = login(store_manager).get(f"/surveys/campaigns/{campaign.pk}/stores/S0001/")
    assert b'data-chart="drivers"' in page.content


def test_another_stores_manager_gets_404_on_the_store_drivers(store, other_store_manager,
                                                             login):
    campaign = _asking()
    _answers(campaign, store, 110)
    client = login(other_store_manager)
    assert client.get(f"/surveys/campaigns/{campaign.pk}/stores/S0001/").status_code == 404
    assert client.get(f"/surveys/campaigns/{campaign.pk}/?region=EAST").status_code == 404


def test_the_drivers_section_reads_in_chinese(store, hq, login):
    campaign = _asking()
    _answers(campaign, store, 120)
    client = login(hq)
    page = client.get(f"/surveys/campaigns/{campaign.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert "什么在驱动满意度" in html
    assert "回归分析，n = 120；竖线为 95% 置信区间" in html
    assert '<th class="num">表现</th>' in html  # the column, not the Kano class 期望型
    assert "Fix the basics" not in html
    assert "Keep up" not in html


def test_the_demo_campaign_shows_the_drivers_it_was_made_with():
    from satisfaction.demo import build_chain
    from satisfaction.quarters import chain_zone
    from surveys import demo
    from surveys.models import Campaign

    today = timezone.localdate(timezone=chain_zone())
    chain = build_chain(seed=1, password="pw-for-tests-2026", today=today)
    demo.seed(chain=chain)
    campaign = Campaign.objects.get()
    assert campaign.ask_overall
    assert campaign.ask_recommend
    result = campaign_drivers(campaign=campaign, user=chain.users["hq"])
    assert result.enough
    assert result.nps is not None
    ranked = [i.code for i in sorted(result.indicators, key=lambda i: -i.importance)]
    # The two largest of demo.DRIVER_WEIGHTS come out on top, in their order.
    assert ranked[:2] == ["efficacy", "warm_service"]
    assert ranked[-1] in ("recommendation", "environment")
    assert result.advice
