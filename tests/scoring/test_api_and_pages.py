"""Scores through the API and the pages: scoped, filtered, paginated, traced."""

from __future__ import annotations

import pytest

from scoring import loader
from scoring.models import Rollup, RollupStatus
from tests.factories import EmployeeFactory
from tests.scoring.conftest import PAST


def test_hq_lists_store_scores_of_a_quarter(rolled_up, hq, login, django_assert_max_num_queries):
    client = login(hq)
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/scoring/store-scores/?quarter=2026Q2")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    first = body["results"][0]
    assert (first["store"], first["value"], first["rank_chain"]) == ("S0001", 66.5, 1)
    assert first["status"] == "provisional"
    assert "small_sample" in first["flags"]


def test_the_api_filters_by_region(rolled_up, hq, login):
    body = login(hq).get("/api/v1/scoring/store-scores/?quarter=2026Q2&region=SOUTH").json()
    assert [r["store"] for r in body["results"]] == ["S0011"]


def test_a_store_manager_sees_only_their_store(rolled_up, store_manager, login):
    client = login(store_manager)
    body = client.get("/api/v1/scoring/store-scores/?quarter=2026Q2").json()
    assert [r["store"] for r in body["results"]] == ["S0001"]
    assert client.get("/api/v1/scoring/store-scores/S0011/?quarter=2026Q2").status_code == 404
    assert client.get("/api/v1/scoring/store-scores/S0001/?quarter=2026Q2").status_code == 200


def test_a_store_manager_sees_their_staff_but_not_other_stores_staff(
        rolled_up, store_manager, other_store, login):
    EmployeeFactory(number="E20001", store=other_store)
    body = login(store_manager).get(
        "/api/v1/scoring/employee-scores/?quarter=2026Q2").json()
    assert sorted(r["employee"] for r in body["results"]) == ["E00001", "E10001", "E10002"]
    manager = next(r for r in body["results"] if r["employee"] == "E00001")
    assert manager["value"] == pytest.approx(67.75)
    assert "staff_mean" in manager["flags"]


def test_a_clerk_sees_only_their_own_value(rolled_up, store, staff, login):
    from satisfaction.models import Role
    from tests.factories import UserFactory

    user = UserFactory(username="clerk9", role=Role.CLERK, stores=[store],
                       employee=staff["clerk"])
    client = login(user)
    body = client.get("/api/v1/scoring/employee-scores/?quarter=2026Q2").json()
    assert [r["employee"] for r in body["results"]] == ["E10001"]
    assert client.get("/api/v1/scoring/employee-scores/E10002/?quarter=2026Q2"
                      ).status_code == 404
    assert client.get("/scoring/employees/E10002/?quarter=2026Q2").status_code == 404
    response = client.get("/scoring/me/", follow=True)
    assert response.status_code == 200
    assert "68.00" in response.content.decode()


def test_a_quarter_without_values_is_a_404(rolled_up, hq, login):
    assert login(hq).get("/api/v1/scoring/store-scores/?quarter=2025Q1").status_code == 404
    response = login(hq).get("/api/v1/scoring/store-scores/?quarter=nonsense")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_the_api_serves_the_published_revision_beside_a_newer_provisional_one(
        rolled_up, hq, login):
    from scoring.services import quarter_publish, rollup_quarter

    quarter_publish(quarter=PAST, user=hq)
    rollup_quarter(quarter=PAST, user=hq, reason="re-graded")
    client = login(hq)
    body = client.get("/api/v1/scoring/store-scores/?quarter=2026Q2").json()
    assert {r["revision"] for r in body["results"]} == {1}
    assert {r["status"] for r in body["results"]} == {"published"}
    body = client.get("/api/v1/scoring/store-scores/?quarter=2026Q2&revision=2").json()
    assert {r["revision"] for r in body["results"]} == {2}


@pytest.mark.parametrize("revision", ["²", "abc", "1234567", "-1"])
def test_a_revision_that_is_not_a_whole_number_is_a_clear_400(rolled_up, hq, login, revision):
    client = login(hq)
    response = client.get("/api/v1/scoring/store-scores/", {"quarter": "2026Q2",
                                                            "revision": revision})
    assert response.status_code == 400
    assert "revision" in response.json()["fields"]
    for page in ("/stores/", "/scoring/stores/S0001/"):
        response = client.get(page, {"quarter": "2026Q2", "revision": revision})
        assert response.status_code == 400, page


def test_hq_rolls_up_and_publishes_through_the_api(frames_from_apps, hq, login):
    client = login(hq)
    response = client.post("/api/v1/scoring/rollups/", {"quarter": "2026Q2"},
                           content_type="application/json")
    assert response.status_code == 201
    assert response.json()["revision"] == 1
    response = client.post("/api/v1/scoring/rollups/publish/", {"quarter": "2026Q2"},
                           content_type="application/json")
    assert response.status_code == 200
    assert Rollup.objects.get().status == RollupStatus.PUBLISHED
    response = client.post("/api/v1/scoring/rollups/", {"quarter": "2026Q2"},
                           content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "quarter_locked"
    assert "reason" in response.json()["fields"]


def test_a_store_manager_cannot_roll_up_through_the_api(frames_from_apps, store_manager,
                                                         login):
    response = login(store_manager).post("/api/v1/scoring/rollups/", {"quarter": "2026Q2"},
                                         content_type="application/json")
    assert response.status_code == 403


def test_the_store_list_page_shows_values_with_few_queries(
        rolled_up, region_manager, login, django_assert_max_num_queries):
    client = login(region_manager)
    with django_assert_max_num_queries(18):  # the store list's budget (tests/dashboard)
        response = client.get("/stores/?quarter=2026Q2")
    assert response.status_code == 200
    html = response.content.decode()
    assert "S0001" in html
    assert "S0002" in html
    assert "S0011" not in html
    assert "66.5" in html


def test_the_store_page_is_a_404_for_another_managers_store(rolled_up, other_store_manager,
                                                             login):
    client = login(other_store_manager)
    assert client.get("/scoring/stores/S0001/?quarter=2026Q2").status_code == 404
    assert client.get("/scoring/stores/S0011/?quarter=2026Q2").status_code == 200


def test_the_store_page_traces_the_value_to_what_the_revision_counted(
        rolled_up, store_manager, staff, login):
    """The worked example's frames count visits 1 and 2 and complaints 1, 2 and 3 (no rows of
    those ids exist here: the trace says so), and no single responses."""
    client = login(store_manager)
    response = client.get("/scoring/stores/S0001/?quarter=2026Q2")
    assert response.status_code == 200
    counts = {part["kind"]: part["count"] for part in response.context["trace"]}
    assert counts == {"responses": 0, "visits": 2, "complaints": 3}
    visits = next(p for p in response.context["trace"] if p["kind"] == "visits")
    assert [(r["id"], r["employee"], r["figure"]) for r in visits["rows"]] == [
        (1, "E10001", 70.0), (2, "", 90.0)]
    assert "E10001" in response.content.decode()
    body = client.get("/api/v1/scoring/employee-scores/E10001/trace/?quarter=2026Q2").json()
    assert (body["visits"]["count"], body["complaints"]["count"]) == (1, 1)
    assert body["complaints"]["rows"][0]["figure"] == 2.0  # the clerk's grade B


def test_hq_pages_render_and_others_are_kept_out(rolled_up, hq, store_manager, login):
    client = login(hq)
    for url in ("/scoring/quarters/", "/setup/schemes/", "/scoring/hr/"):
        assert client.get(url).status_code == 200, url
    other = login(store_manager)
    for url in ("/scoring/quarters/", "/setup/schemes/", "/scoring/hr/"):
        assert other.get(url).status_code == 403, url


def test_hq_saves_a_new_scheme_version_on_the_page(hq, login):
    from scoring.models import Scheme

    client = login(hq)
    form = client.get("/setup/schemes/").context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data.update(note="k = 5", bonus_k="5", small_sample_adjustment="")
    data["indicator_weights"] = "warm_service: 2\nprice: 1"
    response = client.post("/setup/schemes/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    current = Scheme.objects.get(is_current=True)
    assert (current.version, current.bonus_k) == (2, 5.0)
    assert current.indicator_weights == {"warm_service": 2.0, "price": 1.0}
    data["survey_points"] = "70"
    response = client.post("/setup/schemes/", data)
    assert response.status_code == 400
    assert Scheme.objects.count() == 2


def test_hq_publishing_on_the_page_reports_an_open_appeal(rolled_up, hq, login, monkeypatch):
    monkeypatch.setattr(loader, "open_appeals_exist",
                        lambda **kwargs: {"mystery_shopper": True, "complaints": False})
    response = login(hq).post("/scoring/quarters/2026Q2/publish/")
    assert response.status_code == 409
    assert "神秘顾客暗访" in response.context["blockers"][0]  # the page is Chinese
    assert Rollup.objects.get().status == RollupStatus.PROVISIONAL


def test_a_shopper_sees_no_scores(rolled_up, shopper, login):
    client = login(shopper)
    assert client.get("/stores/").status_code == 403
    assert client.get("/api/v1/scoring/store-scores/?quarter=2026Q2").status_code == 403


def test_the_pages_read_in_chinese_and_english(rolled_up, hq, login):
    client = login(hq)
    html = client.get("/scoring/stores/S0001/?quarter=2026Q2",
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "评估值的计算明细" in html
    assert "95% 置信区间" in html
    assert "样本量低于最低要求" in html
    client.post("/i18n/setlang/", {"language": "en"})
    html = client.get("/scoring/stores/S0001/?quarter=2026Q2").content.decode()
    assert "Store satisfaction values" not in html
    assert "95% confidence interval" in html
    assert "fewer responses than the minimum sample" in html
