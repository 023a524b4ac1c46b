"""HQ sets up survey campaigns and indicators from ordinary pages (issue 14, part 1): the
services' rules show as form errors, and every change shows in the page's history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from satisfaction.quarters import Quarter
from surveys.models import Campaign, Indicator, StoreSelection
from surveys.services import campaign_update
from tests.factories import StoreFactory
from tests.surveys.factories import CampaignFactory, all_rated, rate

pytestmark = pytest.mark.django_db


def campaign_post(**overrides) -> dict:
    today = timezone.localdate()
    data = {"name": "华东区四季度调查", "quarter": str(Quarter.current()), "store_choice": "",
            "scale_max": "5", "target_per_store": "40", "opens_on": str(today),
            "closes_on": str(today + timedelta(days=30))}
    data.update(overrides)
    return data


def test_hq_creates_a_campaign_for_a_region_and_sees_it_listed_as_running(
        login, hq, store, sibling_store, other_store):
    client = login(hq)
    StoreFactory(code="S0099", region=store.region, is_active=False)
    page = client.post("/setup/campaigns/new/", campaign_post(store_choice="region",
                                                              regions=["EAST"]))
    campaign = Campaign.objects.get()
    assert page.status_code == 302
    assert page["Location"] == f"/setup/campaigns/{campaign.pk}/"
    assert not campaign.all_stores
    # The region's active stores; the closed one and the other region's are not asked.
    assert sorted(campaign.stores.values_list("code", flat=True)) == ["S0001", "S0002"]
    assert StoreSelection.parse(campaign.store_selection) == StoreSelection("region", ("EAST",))
    listing = client.get("/setup/campaigns/").content.decode()
    assert "华东区四季度调查" in listing
    assert "running" in listing or "进行中" in listing
    edit = client.get(f"/setup/campaigns/{campaign.pk}/")
    assert edit.context["form"]["store_choice"].value() == "region"
    assert edit.context["form"]["regions"].value() == ["EAST"]
    assert edit.context["changes"][0].user == "hq"  # the history names who created it


def test_a_campaign_by_city_and_by_store_codes(login, hq, store, sibling_store, other_store):
    client = login(hq)
    client.post("/setup/campaigns/new/", campaign_post(name="城市", store_choice="city",
                                                       cities="杭州，广州"))
    client.post("/setup/campaigns/new/", campaign_post(name="门店", store_choice="store",
                                                       store_codes="s0001\nS0011"))
    by_city = Campaign.objects.get(name="城市")
    by_code = Campaign.objects.get(name="门店")
    assert sorted(by_city.stores.values_list("code", flat=True)) == ["S0002", "S0011"]
    assert sorted(by_code.stores.values_list("code", flat=True)) == ["S0001", "S0011"]


def test_unknown_stores_regions_and_bad_dates_are_form_errors_and_nothing_is_saved(
        login, hq, store):
    client = login(hq)
    page = client.post("/setup/campaigns/new/", campaign_post(
        store_choice="store", store_codes="S0001 NOPE1 NOPE2",
        opens_on="2026-12-20", closes_on="2026-12-01"))
    assert page.status_code == 400
    text = page.content.decode()
    assert "NOPE1, NOPE2" in text
    assert Campaign.objects.count() == 0
    page = client.post("/setup/campaigns/new/", campaign_post(store_choice="region"))
    assert page.status_code == 400
    page = client.post("/setup/campaigns/new/", campaign_post(quarter="1999Q1"))
    assert page.status_code == 400
    assert Campaign.objects.count() == 0


def test_a_campaign_with_answers_refuses_a_new_quarter_scale_or_dates_that_drop_answers(
        login, hq, store, sibling_store):
    campaign = CampaignFactory(name="已有答卷")
    campaign.stores.set([store, sibling_store])
    Campaign.objects.filter(pk=campaign.pk).update(all_stores=False,
                                                   store_selection="store: S0001 S0002")
    rate(campaign=campaign, store=store, ratings=all_rated(4))
    client = login(hq)
    today = timezone.localdate()
    page = client.post(f"/setup/campaigns/{campaign.pk}/", campaign_post(
        name="已有答卷", quarter=str(Quarter.current().next()), scale_max="10",
        store_choice="store", store_codes="S0002", opens_on=str(today + timedelta(days=1)),
        closes_on=str(today + timedelta(days=40))))
    assert page.status_code == 400
    text = page.content.decode()
    assert "S0001" in text  # the store with answers that would leave
    errors = page.context["form"].errors
    assert set(errors) >= {"quarter", "scale_max", "store_choice", "opens_on"}
    campaign.refresh_from_db()
    assert campaign.scale_max == 5
    assert campaign.quarter == Quarter.current()
    # What may still change: its name, target and a later closing day.
    page = client.post(f"/setup/campaigns/{campaign.pk}/", campaign_post(
        name="改名", store_choice="store", store_codes="S0001 S0002",
        opens_on=str(campaign.opens_on), closes_on=str(campaign.closes_on + timedelta(days=3)),
        target_per_store="50"))
    assert page.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.target_per_store) == ("改名", 50)
    history = login(hq).get(f"/setup/campaigns/{campaign.pk}/").content.decode()
    assert "改名" in history
    assert "已有答卷" in history


def test_the_api_and_admin_path_still_save_a_list_of_stores(hq, store, other_store):
    campaign = CampaignFactory()
    saved = campaign_update(campaign=campaign, stores=[other_store])
    assert list(saved.stores.all()) == [other_store]
    assert saved.store_selection == "store: S0011"
    saved = campaign_update(campaign=saved, target_per_store=12)  # stores kept as they are
    assert list(saved.stores.all()) == [other_store]
    assert saved.target_per_store == 12


def test_hq_edits_an_indicator_label_and_sees_it_in_the_history(login, hq):
    price = Indicator.objects.get(code="price")
    client = login(hq)
    data = {"name_zh": "价格实惠", "name_en": "Fair prices", "question_zh": price.question_zh,
            "question_en": price.question_en, "kano": price.kano, "group": price.group,
            "order": price.order, "is_active": "on"}
    page = client.post(f"/setup/indicators/{price.pk}/", data)
    assert page.status_code == 302
    price.refresh_from_db()
    assert price.name_en == "Fair prices"
    english = login(hq)
    english.cookies["django_language"] = "en"
    text = english.get(f"/setup/indicators/{price.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Fair prices" in text
    changes = english.get(f"/setup/indicators/{price.pk}/").context["changes"]
    assert changes[0].user == "hq"
    assert [(f.new) for f in changes[0].fields if f.new == "Fair prices"] == ["Fair prices"]
    assert "价格实惠" in client.get("/setup/indicators/").content.decode()


def test_an_indicator_needs_its_labels_and_a_new_code_must_be_free(login, hq):
    price = Indicator.objects.get(code="price")
    client = login(hq)
    page = client.post(f"/setup/indicators/{price.pk}/", {
        "name_zh": " ", "name_en": "x", "question_zh": "q", "question_en": "q",
        "kano": "bogus", "group": "service", "order": 1})
    assert page.status_code == 400
    assert set(page.context["form"].errors) >= {"name_zh", "kano"}
    page = client.post("/setup/indicators/", {
        "code": "price", "name_zh": "价格", "name_en": "Price", "question_zh": "q",
        "question_en": "q", "kano": "price", "group": "goods", "order": 5})
    assert page.status_code == 400
    assert "code" in page.context["form"].errors
    page = client.post("/setup/indicators/", {
        "code": "waiting", "name_zh": "等候时间", "name_en": "Waiting time",
        "question_zh": "等候时间短吗？", "question_en": "Was the wait short?", "kano": "time",
        "group": "service", "order": 80, "is_active": "on"})
    assert page.status_code == 302
    assert Indicator.objects.get(code="waiting").is_active


@pytest.mark.parametrize("url", ["/setup/campaigns/", "/setup/campaigns/new/",
                                 "/setup/indicators/"])
def test_only_hq_sees_the_setup_pages(login, url, store_manager, region_manager, hr, hq):
    for user in (store_manager, region_manager, hr):
        assert login(user).get(url).status_code == 403
    assert login(hq).get(url).status_code == 200


def test_the_campaign_list_takes_a_fixed_number_of_queries(
        login, hq, store, django_assert_max_num_queries):
    for _ in range(12):
        rate(campaign=CampaignFactory(), store=store, ratings=all_rated(3))
    client = login(hq)
    with django_assert_max_num_queries(14):
        page = client.get("/setup/campaigns/")
    assert page.status_code == 200
    assert page.content.decode().count("/setup/campaigns/") >= 12


def test_the_setup_pages_render_in_english(login, hq, store):
    campaign = CampaignFactory()
    client = login(hq)
    for url in ("/setup/campaigns/", f"/setup/campaigns/{campaign.pk}/", "/setup/indicators/"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200


def test_the_indicator_pages_take_a_fixed_number_of_queries(
        login, hq, django_assert_max_num_queries):
    client = login(hq)
    price = Indicator.objects.get(code="price")
    for name in ("甲", "乙", "丙"):
        client.post(f"/setup/indicators/{price.pk}/", {
            "name_zh": name, "name_en": price.name_en, "question_zh": price.question_zh,
            "question_en": price.question_en, "kano": price.kano, "group": price.group,
            "order": price.order, "is_active": "on"})
    with django_assert_max_num_queries(12):
        assert client.get("/setup/indicators/").status_code == 200
    with django_assert_max_num_queries(12):
        page = client.get(f"/setup/indicators/{price.pk}/")
    assert [c.fields[0].new for c in page.context["changes"][:3]] == ["丙", "乙", "甲"]
