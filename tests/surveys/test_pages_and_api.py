"""Results pages, exports, posters and the API: numbers and scoping."""

import csv
import io

import pytest
from openpyxl import load_workbook

from surveys.models import Channel, Indicator, Response
from surveys.services import invitation_create
from tests.factories import StoreFactory
from tests.surveys.factories import CampaignFactory, all_rated, rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign_with_answers(store, sibling_store, other_store):
    campaign = CampaignFactory(ask_expectation=True, target_per_store=3)
    rate(campaign=campaign, store=store, ratings=all_rated(5), expectations={"price": 4})
    rate(campaign=campaign, store=store, ratings=all_rated(3), expectations={"price": 4})
    rate(campaign=campaign, store=other_store, ratings=all_rated(1))
    invitation_create(store=store)
    invitation_create(store=store)
    return campaign


def test_store_results_page_shows_hand_computed_numbers(campaign_with_answers, store_manager,
                                                        login):
    page = login(store_manager).get(
        f"/surveys/campaigns/{campaign_with_answers.pk}/stores/S0001/")
    assert page.status_code == 200
    result = page.context["result"]
    # ratings 5 and 3 on 1..5 -> mean 4 -> 75; weights equal -> weighted 75
    assert result.n == 2
    assert result.below_target
    assert result.weighted_score == pytest.approx(75.0)
    # response scores 100 and 50: sd = 35.355; half width = t(0.975, 1) 12.706 * 35.355 / √2
    # = 317.6, clipped to the score range
    assert result.sd == pytest.approx(35.3553, abs=1e-3)
    assert result.ci == (0.0, 100.0)
    price = result.indicator("price")
    assert price.mean_rating == pytest.approx(4.0)
    assert price.mean_expectation == pytest.approx(4.0)
    assert price.gap_class == "met"
    assert result.invitations == 2
    assert result.response_rate == 0
    assert 'data-testid="score"' in page.content.decode()


def test_another_stores_results_are_a_404(campaign_with_answers, store_manager, login):
    client = login(store_manager)
    assert client.get(
        f"/surveys/campaigns/{campaign_with_answers.pk}/stores/S0011/").status_code == 404
    listing = client.get(f"/surveys/campaigns/{campaign_with_answers.pk}/")
    assert [s.code for s, _r, _c in listing.context["rows"]] == ["S0001"]


def test_regional_list_shows_its_stores_with_bounded_queries(
        campaign_with_answers, region, region_manager, login, django_assert_max_num_queries):
    for _ in range(20):
        StoreFactory(region=region)
    client = login(region_manager)
    # The count does not grow with the stores; 21 on PostgreSQL (its savepoints around the raw
    # aggregate queries), one of them the scheme's weights (the scheme owns them), two the
    # drivers' region choice and scope.
    with django_assert_max_num_queries(21):
        page = client.get(f"/surveys/campaigns/{campaign_with_answers.pk}/")
    rows = page.context["rows"]
    assert len(rows) == 22
    assert "S0011" not in {s.code for s, _r, _c in rows}


def test_csv_and_xlsx_exports_are_scoped(campaign_with_answers, region_manager, login):
    client = login(region_manager)
    text = client.get(f"/surveys/campaigns/{campaign_with_answers.pk}/export.csv",
                      HTTP_ACCEPT_LANGUAGE="en").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Store code"] for r in rows] == ["S0001", "S0002"]
    assert float(rows[0]["Survey score"]) == 75.0
    assert rows[0]["Price: gap to expectation"] == "0.0"
    # In the user's language: Chinese by default.
    chinese = client.get(f"/surveys/campaigns/{campaign_with_answers.pk}/export.csv"
                         ).content.decode("utf-8-sig")
    assert chinese.splitlines()[0].startswith("门店编码")
    assert "商品价格感知" in chinese.splitlines()[0]
    xlsx = client.get(f"/surveys/campaigns/{campaign_with_answers.pk}/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.cell(2, 1).value == "S0001"


def test_posters_carry_the_store_name_and_the_short_link(store, store_manager, login):
    client = login(store_manager)
    svg = client.get("/surveys/stores/S0001/poster.svg")
    assert svg["Content-Type"] == "image/svg+xml"
    assert "上海人民路店" in svg.content.decode()
    assert "/q/S0001" in svg.content.decode()
    png = client.get("/surveys/stores/S0001/poster.png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/surveys/stores/S0011/poster.png").status_code == 404


def test_staff_page_creates_a_receipt_invitation(store, clerk, login):
    page = login(clerk).post("/surveys/invitations/new/",
                             {"store": "S0001", "transaction_ref": "R-1", "expires_in_days": "2"})
    assert page.status_code == 200
    invitation = page.context["invitation"]
    assert invitation.transaction_ref == "R-1"
    assert "<svg" in page.content.decode()


def test_api_results_are_scoped_like_the_pages(campaign_with_answers, store_manager, hq, login):
    url = f"/api/v1/surveys/campaigns/{campaign_with_answers.pk}/results/"
    mine = login(store_manager).get(url).json()
    assert [r["store"] for r in mine["results"]] == ["S0001"]
    assert mine["results"][0]["weighted_score"] == pytest.approx(75.0)
    assert login(store_manager).get(url + "?store=S0011").status_code == 404
    everything = login(hq).get(url).json()
    assert {r["store"] for r in everything["results"]} >= {"S0001", "S0011"}
    low = next(r for r in everything["results"] if r["store"] == "S0011")
    assert low["weighted_score"] == 0.0


def test_api_staff_create_responses_with_field_errors(store, other_store, clerk, login):
    campaign = CampaignFactory()
    client = login(clerk)
    bad = client.post("/api/v1/surveys/responses/", {
        "campaign": campaign.pk, "store": "S0001", "ratings": {**all_rated(4), "price": 0}},
        content_type="application/json")
    assert bad.status_code == 400
    assert "ratings.price" in bad.json()["fields"]
    assert client.post("/api/v1/surveys/responses/", {
        "campaign": campaign.pk, "store": "S0011", "ratings": all_rated(4)},
        content_type="application/json").status_code == 404
    good = client.post("/api/v1/surveys/responses/", {
        "campaign": campaign.pk, "store": "S0001", "ratings": all_rated(4),
        "channel": "phone"}, content_type="application/json")
    assert good.status_code == 201
    assert good.json()["answers"]["price"]["rating"] == 4
    assert Response.objects.get().channel == Channel.PHONE
    listed = client.get("/api/v1/surveys/responses/").json()
    assert listed["count"] == 1


def test_api_responses_list_hides_other_stores(campaign_with_answers, store_manager, login):
    data = login(store_manager).get("/api/v1/surveys/responses/").json()
    assert {r["store"] for r in data["results"]} == {"S0001"}


def test_api_invitations_for_the_pos(store, other_store, clerk, login):
    client = login(clerk)
    created = client.post("/api/v1/surveys/invitations/", {
        "store": "S0001", "transaction_ref": "T-77"}, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["short_url"].endswith("/s/" + created.json()["token"])
    assert client.post("/api/v1/surveys/invitations/", {"store": "S0011"},
                       content_type="application/json").status_code == 404


def test_only_hq_renames_and_adds_indicators_and_weights_are_the_schemes(
        store_manager, hq, login):
    url = "/api/v1/surveys/indicators/price/"
    assert login(store_manager).patch(url, {"name_zh": "价"},
                                      content_type="application/json").status_code == 403
    changed = login(hq).patch(url, {"name_zh": "价格感知"}, content_type="application/json")
    assert changed.status_code == 200
    assert "weight" not in changed.json()
    assert Indicator.objects.get(code="price").name_zh == "价格感知"
    added = login(hq).post("/api/v1/surveys/indicators/", {
        "code": "waiting", "name_zh": "等候时间", "name_en": "Waiting time",
        "question_zh": "等候时间合理吗？", "question_en": "Was the wait reasonable?",
        "kano": "time"}, content_type="application/json")
    assert added.status_code == 201
    # A weight sent here would do nothing: it is refused, pointing at the scheme.
    reweigh = login(hq).patch(url, {"weight": "2.5"}, content_type="application/json",
                              HTTP_ACCEPT_LANGUAGE="en")
    assert reweigh.status_code == 400
    assert reweigh.json()["code"] == "weight_on_scheme"
    assert "scheme" in reweigh.json()["fields"]["weight"][0]
    assert login(hq).post("/api/v1/surveys/indicators/", {
        "code": "parking", "name_zh": "停车", "name_en": "Parking", "question_zh": "停车方便吗？",
        "question_en": "Easy to park?", "kano": "time", "weight": "1"},
        content_type="application/json").status_code == 400
    assert not Indicator.objects.filter(code="parking").exists()


def test_the_seven_default_indicators_exist_with_both_languages():
    indicators = Indicator.objects.order_by("order")
    assert [i.code for i in indicators] == [
        "assortment", "environment", "recommendation", "efficacy", "warm_service",
        "product_quality", "price"]
    price = indicators.get(code="price")
    assert price.name_zh == "商品价格感知"
    assert price.name_en == "Price"
    assert price.kano_category == "basic"
    assert indicators.get(code="warm_service").kano_category == "attractive"


def test_hq_creates_a_campaign_through_the_api(hq, store, login):
    created = login(hq).post("/api/v1/surveys/campaigns/", {
        "name": "Q", "quarter": "2026Q4", "opens_on": "2026-10-01", "closes_on": "2026-12-31",
        "scale_max": 10, "stores": ["S0001"]}, content_type="application/json")
    assert created.status_code == 201, created.json()
    assert created.json()["target_per_store"] == 30
    assert created.json()["all_stores"] is False
    dates = login(hq).post("/api/v1/surveys/campaigns/", {
        "name": "Q", "quarter": "2026Q4", "opens_on": "2026-10-05", "closes_on": "2026-10-01"},
        content_type="application/json")
    assert dates.status_code == 400
    assert "closes_on" in dates.json()["fields"]
    scale = login(hq).post("/api/v1/surveys/campaigns/", {
        "name": "Q", "quarter": "2026Q4", "opens_on": "2026-10-01", "closes_on": "2026-10-09",
        "scale_max": 7}, content_type="application/json")
    assert "scale_max" in scale.json()["fields"]


def test_the_admin_edits_indicators_through_the_service_without_a_weight(login, hq):
    indicator = Indicator.objects.get(code="price")
    client = login(hq)
    form = client.get(f"/admin/surveys/indicator/{indicator.pk}/change/")
    assert "weight" not in form.context["adminform"].form.fields
    changelist = client.post("/admin/surveys/indicator/", {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": indicator.pk,
        "form-0-order": 5, "form-0-is_active": "on", "_save": "Save"})
    assert changelist.status_code == 302
    indicator.refresh_from_db()
    assert indicator.order == 5
    change = client.post(f"/admin/surveys/indicator/{indicator.pk}/change/", {
        "code": "price", "name_zh": "价格", "name_en": "Price", "question_zh": "价格？",
        "question_en": "Price?", "kano": indicator.kano, "group": indicator.group,
        "order": indicator.order, "is_active": "on"})
    assert change.status_code == 302
    indicator.refresh_from_db()
    assert indicator.name_zh == "价格"
