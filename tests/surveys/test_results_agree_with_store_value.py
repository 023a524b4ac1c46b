"""The campaign results and the store value show the same survey figure (issue 12, part 3).

The scheme owns the indicator weights: the results page, its export and API, and the rollup all
weigh with them, so the same responses give the same weighted score and 95% interval, also
after HQ reweights (a new scheme version) or adds an indicator.

The store below has three responses on a 1–5 scale, no visit and no complaint, so its value is
its survey % (the survey carries all 100 points) and its interval is the survey's:

    response        six indicators   price   waiting (new)
    r1              5 -> 100         3 -> 50   1 -> 0
    r2              4 ->  75         2 -> 25   1 -> 0
    r3              3 ->  50         5 -> 100  1 -> 0
    indicator mean  75               58.333    0
"""

import csv
import io
from datetime import timedelta

import pytest

from satisfaction.quarters import Quarter
from scoring.models import StoreScore
from scoring.services import quarter_publish, rollup_quarter, scheme_create_version
from surveys.services import indicator_create
from tests.surveys.factories import ALL_CODES, CampaignFactory, rate

pytestmark = pytest.mark.django_db

T_975_2 = 4.302653  # t(0.975, 2): three responses
SIX = [code for code in ALL_CODES if code != "price"]


def answers(campaign, store):
    for six, price in ((5, 3), (4, 2), (3, 5)):
        rate(campaign=campaign, store=store,
             ratings={**dict.fromkeys(SIX, six), "price": price, "waiting": 1})


@pytest.fixture
def waiting(db):
    return indicator_create(code="waiting", name_zh="等候时间", name_en="Waiting time",
                            question_zh="等候时间合理吗？", question_en="Was the wait fair?",
                            kano="time")


def page_result(client, campaign, store):
    return client.get(f"/surveys/campaigns/{campaign.pk}/stores/{store.code}/").context["result"]


def api_result(client, campaign, store):
    body = client.get(f"/api/v1/surveys/campaigns/{campaign.pk}/results/?store={store.code}")
    return body.json()["results"][0]


def exported(client, campaign, store):
    text = client.get(f"/surveys/campaigns/{campaign.pk}/export.csv",
                      HTTP_ACCEPT_LANGUAGE="en").content.decode("utf-8-sig")
    return next(r for r in csv.DictReader(io.StringIO(text)) if r["Store code"] == store.code)


def store_value(quarter, store) -> StoreScore:
    return StoreScore.objects.filter(store=store, rollup__quarter=quarter).order_by(
        "-rollup__revision").first()


def assert_agree(client, campaign, store, *, survey_pct, scheme_version):
    value = store_value(campaign.quarter, store)
    result = page_result(client, campaign, store)
    assert value.survey_pct_raw == pytest.approx(survey_pct, abs=1e-3)
    assert result.weighted_score == pytest.approx(value.survey_pct_raw)
    assert value.value == pytest.approx(value.survey_pct_raw)  # no visit, no complaint
    # The same 95% interval: one function (satisfaction.stats), the same per-response sd.
    assert result.ci == pytest.approx((value.ci_low, value.ci_high))
    api = api_result(client, campaign, store)
    assert api["weighted_score"] == pytest.approx(value.survey_pct_raw)
    assert api["scheme_version"] == scheme_version
    row = exported(client, campaign, store)
    assert float(row["Survey score"]) == pytest.approx(value.survey_pct_raw, abs=0.005)
    assert row["Scheme version"] == str(scheme_version)
    return result


def test_the_results_page_and_the_store_value_agree_before_and_after_a_reweight(
        store, hq, login, waiting):
    campaign = CampaignFactory()
    answers(campaign, store)
    client = login(hq)

    # Scheme v1: the seven default codes weigh 1; "waiting" is not in the scheme, not counted.
    # (6 × 75 + 58.333) / 7 = 72.619; responses 92.857, 67.857, 57.143: sd 18.327
    rollup_quarter(quarter=campaign.quarter, user=hq)
    result = assert_agree(client, campaign, store, survey_pct=72.619, scheme_version=1)
    assert result.ci_low == pytest.approx(72.619 - T_975_2 * 18.3270 / 3 ** 0.5, abs=1e-3)
    assert result.indicator("waiting").weight == 0
    page = client.get(f"/surveys/campaigns/{campaign.pk}/").content.decode()
    assert "scoring scheme v1" in page or "评分方案 v1" in page

    # HQ reweights price to 4 (scheme v2): (6 × 75 + 4 × 58.333) / 10 = 68.333;
    # responses 80, 55, 70: sd 12.583, half-width 4.3027 × 12.583 / √3 = 31.26.
    weights = dict.fromkeys(ALL_CODES, 1.0) | {"price": 4.0}
    scheme_create_version(user=hq, note="price counts more", indicator_weights=weights)
    rollup_quarter(quarter=campaign.quarter, user=hq)
    result = assert_agree(client, campaign, store, survey_pct=68.333, scheme_version=2)
    assert result.ci_high == pytest.approx(68.333 + 31.26, abs=1e-2)

    # The new indicator counts once the scheme weighs it (v3), in both at once:
    # (450 + 233.333 + 0) / 11 = 62.121.
    scheme_create_version(user=hq, note="waiting time", indicator_weights=weights | {
        "waiting": 1.0})
    rollup_quarter(quarter=campaign.quarter, user=hq)
    result = assert_agree(client, campaign, store, survey_pct=62.121, scheme_version=3)
    assert result.indicator("waiting").weight == 1.0


def test_a_published_quarter_keeps_the_weights_of_its_locked_values(store, hq, login, waiting):
    last = Quarter.current().previous()
    campaign = CampaignFactory(quarter=last, opens_on=last.first_day,
                               closes_on=last.first_day + timedelta(days=20))
    answers(campaign, store)
    rollup_quarter(quarter=last, user=hq)  # publishing locks a provisional revision
    quarter_publish(quarter=last, user=hq)
    client = login(hq)
    assert_agree(client, campaign, store, survey_pct=72.619, scheme_version=1)
    # A reweight applies to the next rollups, not to the locked quarter's figures.
    scheme_create_version(user=hq, indicator_weights=dict.fromkeys(ALL_CODES, 1.0)
                          | {"price": 4.0})
    result = assert_agree(client, campaign, store, survey_pct=72.619, scheme_version=1)
    assert result.indicator("price").weight == 1.0
    # A campaign of the running quarter reads the current scheme.
    running = CampaignFactory()
    answers(running, store)
    assert page_result(client, running, store).weighted_score == pytest.approx(68.333, abs=1e-3)
