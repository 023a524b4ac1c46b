"""HQ's scorecard editor (/setup/scorecards/): item by item, every save a new version, the old
version untouched and still used by its visits; bad input is a form error; scenarios."""

from __future__ import annotations

import copy

import pytest

from mystery_shopper import services
from mystery_shopper.models import Scenario, ScorecardItem, ScorecardTemplate, VisitStatus
from satisfaction.quarters import Quarter
from tests.mystery_shopper.factories import VisitFactory, default_template

pytestmark = pytest.mark.django_db

EDIT = "/setup/scorecards/default/edit/"
DETAIL = "/setup/scorecards/default/"


def editor_post(data: dict, *, current: dict, base_version: int, note: str = "") -> dict:
    """The editor's POST for ``data`` (``template_as_data``'s shape): the sections and items
    of ``current`` first, at their indices, then new ones; ``"DELETE": True`` removes a row,
    ``"ORDER"`` moves it."""
    post = {"base_version": base_version, "name_zh": data["name_zh"],
            "name_en": data["name_en"], "red_line_score": data["red_line_score"], "note": note,
            "sections-TOTAL_FORMS": len(data["sections"]),
            "sections-INITIAL_FORMS": len(current["sections"]),
            "sections-MIN_NUM_FORMS": 0, "sections-MAX_NUM_FORMS": 200}
    for s_index, section in enumerate(data["sections"]):
        prefix = f"sections-{s_index}"
        existing = (current["sections"][s_index]["items"]
                    if s_index < len(current["sections"]) else [])
        post |= {f"{prefix}-title_zh": section["title_zh"],
                 f"{prefix}-title_en": section["title_en"],
                 f"{prefix}-ORDER": section.get("ORDER", s_index + 1),
                 f"{prefix}-items-TOTAL_FORMS": len(section["items"]),
                 f"{prefix}-items-INITIAL_FORMS": len(existing),
                 f"{prefix}-items-MIN_NUM_FORMS": 0, f"{prefix}-items-MAX_NUM_FORMS": 200}
        if section.get("DELETE"):
            post[f"{prefix}-DELETE"] = "on"
        for i_index, item in enumerate(section["items"]):
            item_prefix = f"{prefix}-items-{i_index}"
            post |= {f"{item_prefix}-{name}": item[name]
                     for name in ("code", "text_zh", "text_en", "part", "kind", "max_points",
                                  "evidence")}
            post[f"{item_prefix}-ORDER"] = item.get("ORDER", i_index + 1)
            for flag in ("allows_na", "is_red_line", "DELETE"):
                if item.get(flag):
                    post[f"{item_prefix}-{flag}"] = "on"
    return post


def _items(template: ScorecardTemplate) -> list[ScorecardItem]:
    return list(ScorecardItem.objects.filter(section__template=template)
                .order_by("section__position", "position"))


def _snapshot(template: ScorecardTemplate) -> list[tuple]:
    return [(i.section.title_zh, i.code, i.text_zh, i.max_points, i.part, i.position)
            for i in _items(template)]


NEW_ITEM = {"code": "greets_customer", "text_zh": "顾客进店时主动问候", "text_en": "Greets",
            "part": "process", "kind": "yes_no", "max_points": "2", "evidence": "",
            "allows_na": False, "is_red_line": False}


def test_the_editor_adds_an_item_and_changes_points_as_a_new_version_and_old_visits_keep_theirs(
        login, hq, store):
    old = default_template()
    before = _snapshot(old)
    visit = VisitFactory(store=store, template=old, status=VisitStatus.APPROVED)
    current = services.template_as_data(old)
    data = copy.deepcopy(current)
    data["sections"][0]["items"][0]["max_points"] = 8  # signboard: 5 → 8
    data["sections"][1]["items"].append(NEW_ITEM)
    client = login(hq)
    assert client.get(EDIT).status_code == 200

    response = client.post(EDIT, editor_post(data, current=current, base_version=old.version,
                                             note="加入问候"))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == DETAIL
    new = default_template()
    assert new.version == old.version + 1
    assert (new.created_by, new.note) == (hq, "加入问候")
    items = {i.code: i for i in _items(new)}
    assert float(items["signboard"].max_points) == 8.0
    added = items["greets_customer"]
    assert (added.part, added.kind, float(added.max_points), added.allows_na) == (
        "process", "yes_no", 2.0, False)
    assert added.section.title_zh == current["sections"][1]["title_zh"]
    assert added.position == len(current["sections"][1]["items"])  # at the end of its section
    # The old version is untouched, no longer current, and its visit still uses it.
    old.refresh_from_db()
    assert not old.is_current
    assert _snapshot(old) == before
    visit.refresh_from_db()
    assert visit.template_id == old.pk
    # The page shows the new version, who saved it and why, and which version the quarter used.
    page = client.get(DETAIL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-version="{new.version}"' in page
    assert "加入问候" in page
    assert 'data-quarter="2026Q4"' in page
    assert f"v{old.version} (1)" in page
    assert "Item greets_customer" in page  # the change history names the added item


def test_items_are_removed_and_reordered_and_sections_added(login, hq):
    old = default_template()
    current = services.template_as_data(old)
    data = copy.deepcopy(current)
    first = data["sections"][0]["items"]
    first[0]["DELETE"] = True
    first[1]["ORDER"], first[2]["ORDER"] = 3, 2
    data["sections"].append({"title_zh": "收银", "title_en": "Checkout",
                             "items": [{**NEW_ITEM, "code": "receipt_given",
                                        "text_zh": "主动提供小票", "part": "purchase"}]})
    response = login(hq).post(EDIT, editor_post(data, current=current,
                                                base_version=old.version))
    assert response.status_code == 302, response.content.decode()[:3000]
    new = default_template()
    sections = list(new.sections.order_by("position"))
    assert sections[-1].title_zh == "收银"
    assert [i.code for i in sections[-1].items.all()] == ["receipt_given"]
    codes = [i.code for i in sections[0].items.order_by("position")]
    assert current["sections"][0]["items"][0]["code"] not in codes
    assert codes[:2] == [current["sections"][0]["items"][2]["code"],
                         current["sections"][0]["items"][1]["code"]]


def test_a_blank_new_item_row_is_ignored(login, hq):
    old = default_template()
    current = services.template_as_data(old)
    data = copy.deepcopy(current)
    data["name_en"] = "Scorecard 2027"
    data["sections"][0]["items"].append(
        {"code": "", "text_zh": "", "text_en": "", "part": "image", "kind": "yes_no",
         "max_points": "1", "evidence": "", "allows_na": True, "ORDER": 99})
    response = login(hq).post(EDIT, editor_post(data, current=current,
                                                base_version=old.version))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert len(_items(default_template())) == len(_items(old))


def test_bad_items_are_form_errors_at_the_item_and_nothing_is_saved(login, hq):
    old = default_template()
    current = services.template_as_data(old)
    data = copy.deepcopy(current)
    duplicate = data["sections"][0]["items"][0]["code"]
    data["sections"][1]["items"].append({**NEW_ITEM, "code": duplicate})
    data["sections"][2]["items"][0]["text_zh"] = ""
    data["sections"][2]["items"][1]["max_points"] = "-3"
    client = login(hq)

    response = client.post(EDIT, editor_post(data, current=current, base_version=old.version),
                           HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="form-errors"' in page
    assert "This field is required." in page
    assert "Ensure this value is greater than or equal to 0." in page
    # the form-level errors come first; the service then names the repeated code at its item
    data["sections"][2]["items"][0]["text_zh"] = "店员着装整洁"
    data["sections"][2]["items"][1]["max_points"] = "3"
    response = client.post(EDIT, editor_post(data, current=current, base_version=old.version),
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert (f"Item codes must be unique in a scorecard: {duplicate} is used twice."
            in response.content.decode())
    assert ScorecardTemplate.objects.filter(code="default").count() == 1


def test_a_new_section_without_items_and_a_card_worth_nothing_are_refused(login, hq):
    old = default_template()
    current = services.template_as_data(old)
    data = copy.deepcopy(current)
    data["sections"].append({"title_zh": "空", "title_en": "", "items": []})
    client = login(hq)
    response = client.post(EDIT, editor_post(data, current=current, base_version=old.version),
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "A section needs at least one item." in response.content.decode()

    data = copy.deepcopy(current)
    for section in data["sections"]:
        for item in section["items"]:
            if item["part"] != "image":
                item["max_points"] = 0
    response = client.post(EDIT, editor_post(data, current=current, base_version=old.version),
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert ("The purchase evaluation and the process together must be worth more than 0 "
            "points.") in response.content.decode()
    assert ScorecardTemplate.objects.filter(code="default").count() == 1


def test_a_forged_management_form_is_a_form_error_not_a_crash(login, hq):
    old = default_template()
    current = services.template_as_data(old)
    post = editor_post(current, current=current, base_version=old.version)
    del post["sections-TOTAL_FORMS"]
    response = login(hq).post(EDIT, post)
    assert response.status_code == 400
    assert ScorecardTemplate.objects.filter(code="default").count() == 1


def test_an_editor_opened_before_another_save_does_not_overwrite_it(login, hq):
    old = default_template()
    current = services.template_as_data(old)
    data = copy.deepcopy(current)
    data["red_line_score"] = 10
    services.scorecard_template_create_version(user=hq, **current | {"name_en": "Other"})
    response = login(hq).post(EDIT, editor_post(data, current=current,
                                                base_version=old.version),
                              HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "was saved while you were editing" in response.content.decode()
    assert default_template().version == old.version + 1
    assert float(default_template().red_line_score) == 0


def test_saving_unchanged_makes_no_new_version(login, hq):
    old = default_template()
    current = services.template_as_data(old)
    response = login(hq).post(EDIT, editor_post(current, current=current,
                                                base_version=old.version))
    assert response.status_code == 302
    assert default_template().pk == old.pk


def test_the_old_scorecard_address_leads_to_the_setup_and_only_hq_may_edit(
        login, hq, store_manager, shopper):
    response = login(hq).get("/mystery-shopper/scorecards/")
    assert response.status_code == 302
    assert response["Location"] == "/setup/scorecards/"
    for user in (store_manager, shopper):
        client = login(user)
        for url in ("/mystery-shopper/scorecards/", "/setup/scorecards/", DETAIL, EDIT,
                    "/setup/scorecards/default/json/", "/setup/scenarios/"):
            assert client.get(url).status_code == 403, url
    assert login(hq).get("/setup/scorecards/unknown/edit/").status_code == 404


def test_the_scorecard_pages_run_a_fixed_number_of_queries(
        login, hq, store, django_assert_max_num_queries):
    for quarter in (Quarter(2026, 3), Quarter(2026, 4)):
        for _n in range(3):
            VisitFactory(store=store, quarter=quarter)
    client = login(hq)
    with django_assert_max_num_queries(16):
        assert client.get("/setup/scorecards/").status_code == 200
    with django_assert_max_num_queries(16):
        page = client.get(DETAIL)
    assert 'data-quarter="2026Q3"' in page.content.decode()
    with django_assert_max_num_queries(16):
        assert client.get(EDIT).status_code == 200


def test_the_json_page_still_saves_a_new_version(login, hq):
    import json

    old = default_template()
    data = services.template_as_data(old)
    data["red_line_score"] = 15
    client = login(hq)
    assert client.get("/setup/scorecards/default/json/").status_code == 200
    response = client.post("/setup/scorecards/default/json/",
                           {"definition": json.dumps(data, ensure_ascii=False), "note": "红线"})
    assert response.status_code == 302
    assert float(default_template().red_line_score) == 15
    assert default_template().note == "红线"
    broken = client.post("/setup/scorecards/default/json/", {"definition": "{not json"})
    assert broken.status_code == 400
    assert 'class="errorlist"' in broken.content.decode()


# --- Scenarios ---


def _scenario_post(rows: list[dict], initial: int) -> dict:
    post = {"scenarios-TOTAL_FORMS": len(rows), "scenarios-INITIAL_FORMS": initial,
            "scenarios-MIN_NUM_FORMS": 0, "scenarios-MAX_NUM_FORMS": 500}
    for index, row in enumerate(rows):
        for name, value in row.items():
            if name == "is_active":
                if value:
                    post[f"scenarios-{index}-is_active"] = "on"
            elif value is not None:
                post[f"scenarios-{index}-{name}"] = value
    return post


def test_hq_edits_and_adds_scenarios_with_history(login, hq):
    Scenario.objects.all().delete()
    cold = Scenario.objects.create(code="cold", title_zh="感冒", script_zh="咳嗽两天")
    client = login(hq)
    assert client.get("/setup/scenarios/").status_code == 200
    rows = [{"id": cold.pk, "code": "cold", "title_zh": "感冒咳嗽", "title_en": "Cold",
             "script_zh": "咳嗽三天，有痰", "script_en": "", "is_active": False},
            {"id": None, "code": "allergy", "title_zh": "过敏", "title_en": "",
             "script_zh": "花粉过敏", "script_en": "", "is_active": True}]
    response = client.post("/setup/scenarios/", _scenario_post(rows, initial=1))
    assert response.status_code == 302, response.content.decode()[:2000]
    cold.refresh_from_db()
    assert (cold.title_zh, cold.script_zh, cold.is_active) == ("感冒咳嗽", "咳嗽三天，有痰", False)
    assert Scenario.objects.get(code="allergy").title_zh == "过敏"
    assert cold.history.first().history_user == hq
    page = client.get("/setup/scenarios/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<del>咳嗽两天</del> → <ins>咳嗽三天，有痰</ins>" in page


def test_a_repeated_scenario_code_is_a_form_error(login, hq):
    Scenario.objects.all().delete()
    cold = Scenario.objects.create(code="cold", title_zh="感冒")
    rows = [{"id": cold.pk, "code": "cold", "title_zh": "感冒", "title_en": "",
             "script_zh": "", "script_en": "", "is_active": True},
            {"id": None, "code": "cold", "title_zh": "又一个", "title_en": "",
             "script_zh": "", "script_en": "", "is_active": True}]
    response = login(hq).post("/setup/scenarios/", _scenario_post(rows, initial=1),
                              HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Please correct the duplicate data for code" in response.content.decode()
    assert Scenario.objects.count() == 1


def test_the_scenario_service_refuses_a_code_taken_by_another_scenario(hq):
    from django.utils import translation

    from satisfaction.errors import ApplicationError

    Scenario.objects.all().delete()
    Scenario.objects.create(code="cold", title_zh="感冒")
    with pytest.raises(ApplicationError) as exc, translation.override("en"):
        services.scenarios_save(scenarios=[{"code": "cold", "title_zh": "又一个"},
                                           {"code": "bad code", "title_zh": ""}], user=hq)
    assert exc.value.fields["scenarios[0]"] == [
        "Scenario codes must be unique: cold is used twice."]
    assert len(exc.value.fields["scenarios[1]"]) == 2
    assert Scenario.objects.count() == 1
