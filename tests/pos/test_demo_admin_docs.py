"""The demo key works as the guide says; HQ issues keys in the admin; the contract renders."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from pos import demo as pos_demo
from pos.models import PosApiKey, PosTransaction
from pos.services import pos_api_key_create
from satisfaction.demo import build_chain
from tests.pos.factories import receipt


def test_the_demo_key_of_the_guide_posts_for_s0001_and_is_refused_for_s0004(db):
    chain = build_chain(seed=2026, password="pw-for-tests-2026", today=date(2026, 11, 24))
    line = pos_demo.seed(chain=chain)
    assert pos_demo.DEMO_KEY in line
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {pos_demo.DEMO_KEY}")
    ok = client.post("/api/v1/pos/transactions/", receipt(receipt_number="CURL-1"),
                     content_type="application/json")
    assert ok.status_code == 201
    refused = client.post("/api/v1/pos/transactions/",
                          receipt(store="S0004", receipt_number="CURL-1"),
                          content_type="application/json")
    assert refused.status_code == 403
    metrics = client.get("/api/v1/pos/metrics/", {"quarter": "2026Q4", "store": "S0001"})
    row = metrics.json()["results"][0]
    assert row["transactions"] > 0
    assert 0 <= row["loyalty"] <= row["retention"] <= 1
    key = PosApiKey.objects.get(prefix="PosDemo1")
    assert pos_demo.DEMO_KEY.split(".")[1] not in key.hashed_key


def test_hq_creates_a_key_in_the_admin_and_sees_it_once(login, hq, store):
    client = login(hq)
    response = client.post("/admin/pos/posapikey/add/", {
        "name": "Till vendor A", "stores": [store.pk], "throttle_rate": "", "expiry_date": ""})
    assert response.status_code == 302, response.content[:2000]
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    key = PosApiKey.objects.get(name="Till vendor A")
    secret = next(match.group(0) for text in shown
                  if (match := re.search(rf"{key.prefix}\.[A-Za-z0-9]+", text)))
    assert secret.split(".")[1] not in key.hashed_key
    assert list(key.stores.all()) == [store]
    posted = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}").post(
        "/api/v1/pos/transactions/", receipt(), content_type="application/json")
    assert posted.status_code == 201
    assert client.get(f"/admin/pos/posapikey/{key.pk}/change/").status_code == 200
    assert client.get("/admin/pos/postransaction/").status_code == 200
    assert PosTransaction.objects.count() == 1


@pytest.mark.parametrize("url", ["/admin/pos/posapikey/"])
def test_a_store_manager_cannot_open_the_key_admin(login, store_manager, url):
    assert login(store_manager).get(url).status_code in (302, 403)


def test_the_schema_documents_the_pos_endpoints_and_the_error_shape(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    for path in ("/api/v1/pos/transactions/", "/api/v1/pos/transactions/batch/",
                 "/api/v1/pos/metrics/", "/api/v1/pos/stores/{store}/scores/"):
        assert path in schema["paths"]
    components = schema["components"]
    assert set(components["schemas"]["Error"]["properties"]) == {"code", "detail", "fields"}
    assert components["securitySchemes"]["PosApiKey"]["in"] == "header"
    create = schema["paths"]["/api/v1/pos/transactions/"]["post"]
    assert {"200", "201", "400", "401", "403", "409", "429"} <= set(create["responses"])
    assert create["requestBody"]["content"]["application/json"]["examples"]


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_api_browsers_render_from_the_app_not_a_cdn(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar" in html
    assert "cdn." not in html


def test_the_admin_refuses_a_malformed_throttle_rate(login, hq, store):
    response = login(hq).post("/admin/pos/posapikey/add/", {
        "name": "Bad rate", "stores": [store.pk], "throttle_rate": "lots"})
    assert response.status_code == 200
    assert not PosApiKey.objects.filter(name="Bad rate").exists()


def test_the_admin_refuses_a_key_without_stores_as_the_service_does(login, hq, store):
    response = login(hq).post("/admin/pos/posapikey/add/", {
        "name": "No stores", "throttle_rate": "", "expiry_date": ""})
    assert response.status_code == 200
    assert "stores" in response.context["adminform"].form.errors
    assert not PosApiKey.objects.filter(name="No stores").exists()


def test_revoking_in_the_admin_goes_through_the_service(login, hq, store):
    key, _secret = pos_api_key_create(name="Till", stores=[store])
    response = login(hq).post(f"/admin/pos/posapikey/{key.pk}/change/", {
        "name": "Till", "stores": [store.pk], "throttle_rate": "", "expiry_date": "",
        "revoked": "on"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked
