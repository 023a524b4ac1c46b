"""Hostile input to the API: each case once made a server error (or a silent misreading); each
now gets a clear 4xx in the one error shape ``{"code", "detail", "fields"}``."""

from __future__ import annotations

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from complaints import services as complaint_services
from complaints.models import Category, Channel
from satisfaction.api_errors import MAX_JSON_DEPTH, RejectHostileInput
from tests.pos.factories import make_key

pytestmark = pytest.mark.django_db


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert all(isinstance(messages, list) for messages in body["fields"].values())
    return body


@pytest.fixture
def hq_client(login, hq):
    return login(hq)


@pytest.fixture
def complaint(store, hq):
    return complaint_services.complaint_create(
        store=store, channel=Channel.PHONE, category=Category.PRICE, description="多收钱",
        received_by=hq)


def test_a_non_numeric_complaint_id_is_not_found(hq_client):
    body = _error(hq_client.get("/api/v1/complaints/abc/"), 404)
    assert body["code"] == "not_found"


def test_a_non_numeric_id_in_an_action_is_not_found(hq_client):
    response = hq_client.post("/api/v1/complaints/1.5/start/", {"version": 1},
                              content_type="application/json")
    _error(response, 404)


def test_a_malformed_campaign_id_is_not_found(hq_client):
    _error(hq_client.get("/api/v1/surveys/campaigns/null/results/"), 404)


def test_an_empty_eight_d_save_names_the_version(hq_client, complaint):
    response = hq_client.put(f"/api/v1/complaints/{complaint.pk}/eight-d/", {},
                             content_type="application/json")
    body = _error(response, 400)
    assert "version" in body["fields"]


def test_a_malformed_quarter_on_the_visits_api(hq_client):
    body = _error(hq_client.get("/api/v1/mystery-shopper/visits/?quarter=x"), 400)
    assert "quarter" in body["fields"]


def test_an_out_of_range_quarter_on_the_visits_api(hq_client):
    body = _error(hq_client.get("/api/v1/mystery-shopper/visits/?quarter=9999Q4"), 400)
    assert "quarter" in body["fields"]


def test_complaint_figures_refuse_dates_outside_the_sane_range(hq_client):
    response = hq_client.get("/api/v1/complaint-figures/?start=0001-01-01&end=9999-12-31")
    body = _error(response, 400)
    assert set(body["fields"]) <= {"start", "end"}
    assert body["fields"]


def test_pos_metrics_refuse_the_last_quarter_of_the_calendar(client, store):
    _, key = make_key(store)
    response = client.get("/api/v1/pos/metrics/?quarter=9999Q4",
                          HTTP_AUTHORIZATION=f"Api-Key {key}")
    body = _error(response, 400)
    assert "quarter" in body["fields"]


def test_scores_refuse_a_quarter_before_the_range(hq_client):
    body = _error(hq_client.get("/api/v1/scoring/store-scores/?quarter=1900Q1"), 400)
    assert "quarter" in body["fields"]


def test_scores_refuse_a_revision_in_other_digits(hq_client):
    body = _error(hq_client.get("/api/v1/scoring/store-scores/?revision=%C2%B2"), 400)
    assert "revision" in body["fields"]


def test_json_nested_five_thousand_deep_is_a_parse_error(hq_client):
    body = "[" * 5000 + "]" * 5000
    response = hq_client.post("/api/v1/complaints/", body, content_type="application/json")
    assert _error(response, 400)["code"] == "parse_error"


def test_json_nested_past_the_limit_is_a_parse_error(hq_client):
    body = json.dumps({"store": "S0001", "x": json.loads("[" * MAX_JSON_DEPTH + "]" *
                                                         MAX_JSON_DEPTH)})
    response = hq_client.post("/api/v1/complaints/", body, content_type="application/json")
    assert _error(response, 400)["code"] == "parse_error"


def test_malformed_json_is_a_parse_error(hq_client):
    response = hq_client.post("/api/v1/complaints/", "{", content_type="application/json")
    assert _error(response, 400)["code"] == "parse_error"


def test_an_oversize_body_is_too_large(hq_client, settings):
    body = json.dumps({"description": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = hq_client.post("/api/v1/complaints/", body, content_type="application/json")
    assert _error(response, 413)["code"] == "too_large"


def test_a_form_post_to_a_json_endpoint_is_an_unsupported_media_type(hq_client):
    response = hq_client.post("/api/v1/complaints/", {"store": "S0001"})
    assert _error(response, 415)["code"] == "unsupported_media_type"


def test_a_nul_character_anywhere_in_a_json_body_is_refused(hq_client):
    # Inside a list of store codes: it would have reached a query and PostgreSQL refuses NUL.
    body = json.dumps({"name": "秋季调查", "quarter": "2026Q4", "stores": ["S00\u000001"],
                       "scale_max": 5, "target_per_store": 30, "opens_on": "2026-10-01",
                       "closes_on": "2026-12-31"})
    response = hq_client.post("/api/v1/surveys/campaigns/", body,
                              content_type="application/json")
    assert _error(response, 400)["code"] == "parse_error"
    key = json.dumps({"stor\u0000e": "S0001"})
    response = hq_client.post("/api/v1/complaints/", key, content_type="application/json",
                              HTTP_ACCEPT_LANGUAGE="zh-hans")
    error = _error(response, 400)
    assert error["code"] == "parse_error"
    assert error["detail"] == "不允许包含 NUL 字符。"


def test_a_nul_byte_in_a_query_value(hq_client):
    _error(hq_client.get("/api/v1/complaints/?store=S00%0001"), 400)


def test_a_nul_byte_in_a_pos_query_value(client, store):
    _, key = make_key(store)
    response = client.get("/api/v1/pos/transactions/?store=%00",
                          HTTP_AUTHORIZATION=f"Api-Key {key}")
    _error(response, 400)


def test_an_unknown_query_choice_is_refused_not_ignored(hq_client):
    body = _error(hq_client.get("/api/v1/stores/?is_active=maybe"), 400)
    assert "is_active" in body["fields"]


def test_the_http_method_trace_is_not_an_action(hq_client):
    response = hq_client.generic("TRACE", "/api/v1/scoring/store-scores/")
    _error(response, 405)


def test_nested_validation_errors_are_named_by_their_path(hq_client):
    response = hq_client.post("/api/v1/mystery-shopper/templates/", {
        "name_zh": "评分表", "sections": [{"title_zh": "一", "items": [{"code": "a"}]}]},
        content_type="application/json")
    body = _error(response, 400)
    assert "sections[0].items[0].text_zh" in body["fields"]


def _api_views(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            view = getattr(pattern.callback, "cls", None)
            if view is not None and pattern.name != "api-root":
                yield route, view


def test_every_api_view_refuses_hostile_input():
    views = dict(_api_views(get_resolver().url_patterns))
    assert len(views) > 40
    unguarded = sorted(route for route, view in views.items()
                       if not issubclass(view, RejectHostileInput))
    assert unguarded == []


def test_the_schema_announces_the_value_filters_bound(hq_client):
    # django-filter answers 400 beyond ±1e50; a schema without the bound let generated clients
    # (and the fuzz test) send such numbers.
    schema = hq_client.get("/api/schema/?format=json").json()
    parameters = schema["paths"]["/api/v1/scoring/store-scores/"]["get"]["parameters"]
    bounds = {p["name"]: p["schema"] for p in parameters}
    assert (bounds["min_value"]["minimum"], bounds["min_value"]["maximum"]) == (0, 100)
