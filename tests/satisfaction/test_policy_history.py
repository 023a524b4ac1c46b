"""Policy history (issue 12, part 4): every HQ change of a policy keeps who, when, the old and
the new value; the admin shows it (History) and so do the setup pages ("Change history")."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.forms.models import model_to_dict
from django.utils import translation

from complaints.models import ComplaintPolicy, GradePolicy, StoreHours
from complaints.selectors import complaint_policy_changes
from mystery_shopper import services as visit_services
from mystery_shopper.models import StoreVisitFrequency
from mystery_shopper.selectors import scorecard_changes, visit_frequency_changes
from satisfaction.history import BASELINE_REASON, Change, FieldChange, changes
from satisfaction.models import AppealWindow, AppealWindowKind, Role
from satisfaction.quarters import Quarter
from satisfaction.services import appeal_window_set
from scoring.selectors import scheme_changes
from scoring.services import scheme_create_version
from surveys.models import Indicator
from surveys.services import indicator_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
QUARTER = Quarter.parse("2026Q3")


def _grade_form(policy: GradePolicy, **changes) -> dict:
    """The setup page's form of the grade ``policy`` (its current version), with ``changes``."""
    values = {"definition_zh": policy.definition_zh, "definition_en": policy.definition_en,
              "resolution_hours": policy.resolution_hours,
              "first_response_hours": policy.first_response_hours or "",
              "escalation_interval_hours": policy.escalation_interval_hours,
              "requires_8d": "on" if policy.requires_8d else "",
              "recurrence_days": ", ".join(str(day) for day in policy.recurrence_days),
              **changes}
    return {"form": policy.grade, **{f"grade-{policy.grade}-{name}": value
                                     for name, value in values.items() if value != ""}}


def _latest(history) -> Change:
    with translation.override("en"):
        return changes(history, limit=1)[0]


# --- Who, when, old and new, through each service --------------------------------------------


def test_an_indicator_change_outside_a_request_names_the_services_user(hq):
    indicator = Indicator.objects.get(code="warm_service")
    old_name = indicator.name_en
    indicator_update(indicator=indicator, user=hq, name_en="Friendly staff", order=99)
    record = indicator.history.latest()
    assert (record.history_user, record.history_type) == (hq, "~")
    change = _latest(Indicator.history.filter(id=indicator.pk))
    assert (change.user, change.action, change.subject) == ("hq", "Changed", "Friendly staff")
    assert change.fields == (FieldChange("Name (English)", old_name, "Friendly staff"),
                             FieldChange("Order", str(record.prev_record.order), "99"))
    assert isinstance(change.at, datetime)
    assert change.at.tzinfo is not None


def test_the_first_change_after_the_migration_still_shows_what_it_changed_from(hq):
    """The migration recorded the seeded windows, so changing one shows 7 → 10, not just 10."""
    baseline = AppealWindow.history.get(kind=AppealWindowKind.COMPLAINT)
    assert (baseline.history_change_reason, baseline.history_user) == (BASELINE_REASON, None)
    appeal_window_set(kind=AppealWindowKind.COMPLAINT, days=10, user=hq)
    change = _latest(AppealWindow.history.filter(kind=AppealWindowKind.COMPLAINT))
    # who changed it is the history's user: updated_by / updated_at are not diffed again
    assert (change.user, change.fields) == ("hq", (FieldChange("Days to appeal", "7", "10"),))
    with translation.override("zh-hans"):
        first = changes(AppealWindow.history.filter(kind=AppealWindowKind.COMPLAINT))[-1]
    assert (first.action, first.reason) == ("记录", "开始记录变更时的取值")
    assert first.fields == (FieldChange("申诉事项", None, "投诉定级"),
                            FieldChange("申诉期限（天）", None, "7"))


def test_a_new_scheme_version_is_the_history_with_its_author_note_and_changed_values(hq):
    scheme_create_version(user=hq, note="A 级投诉加重", grade_a_points=4,
                          indicator_weights={"warm_service": 2, "price": 1})
    with translation.override("en"):
        change = scheme_changes()[0]
    assert (change.user, change.subject, change.action, change.reason) == (
        "hq", "v2", "New version", "A 级投诉加重")
    fields = {f.field: (f.old, f.new) for f in change.fields}
    assert fields["Deduction per grade A complaint"] == ("3", "4")
    assert fields["Indicator weights · warm_service"][1] == "2"
    assert not any(name.startswith("Sample survey points") for name in fields)


def test_a_new_scorecard_version_lists_each_item_added_removed_and_changed(hq):
    template = visit_services.current_template()
    data = visit_services.template_as_data(template)
    items = [i for s in data["sections"] for i in s["items"]]
    changed, removed = items[0], items[1]
    old_points = changed["max_points"]
    changed["max_points"] = old_points + 1
    for section in data["sections"]:
        section["items"] = [i for i in section["items"] if i["code"] != removed["code"]]
    data["sections"][0]["items"].append({
        "code": "offers_water", "text_zh": "主动提供温水", "text_en": "Offers warm water",
        "kind": "yes_no", "max_points": 2, "part": "image"})
    visit_services.scorecard_template_from_json(base=template, text=_json(data), user=hq)
    with translation.override("en"):
        change = scorecard_changes(code=template.code)[0]
    assert (change.user, change.action) == ("hq", "New version")
    fields = {f.field: (f.old, f.new) for f in change.fields}
    assert fields[f"Item {changed['code']} · Maximum points"] == (
        _points(old_points), _points(old_points + 1))
    assert fields["Item offers_water"] == (None, "Offers warm water · 2 · Store image")
    assert fields[f"Item {removed['code']}"][1] == "—"
    assert len(fields) == 3


def test_hq_edits_of_complaint_policies_in_the_admin_record_the_user_and_values(hq, login,
                                                                             store):
    client = login(hq)
    policy = ComplaintPolicy.current()
    data = {k: ("" if v is None else v) for k, v in model_to_dict(policy).items()}
    data.update(warn_fraction="0.8", pause_while_waiting="on")
    response = client.post(f"/admin/complaints/complaintpolicy/{policy.pk}/change/", data)
    assert response.status_code == 302
    assert _latest(ComplaintPolicy.history.all()).fields == (
        FieldChange("Warn at this share of the time", "0.75", "0.8"),)
    # A grade policy version is never edited, in the admin either: HQ writes the next one on
    # the setup page, and the history reads it as HQ's change of the grade.
    grade = GradePolicy.objects.get(grade="A")
    response = client.post(f"/admin/complaints/gradepolicy/{grade.pk}/change/", {
        "grade": "A", "resolution_hours": "12", "first_response_hours": "2",
        "escalation_interval_hours": "4", "requires_8d": "on"})
    assert response.status_code == 403
    response = client.post("/setup/complaints/", _grade_form(grade, resolution_hours=12,
                                                             first_response_hours=2))
    assert response.status_code == 302
    with translation.override("en"):
        change = complaint_policy_changes(limit=1)[0]
    assert (change.user, change.subject, change.action) == ("hq", "Grade A v2", "Changed")
    assert change.fields == (
        FieldChange("Resolution deadline (hours)", "24", "12"),
        FieldChange("First-response deadline (hours)", "—", "2"))
    assert _latest(GradePolicy.history.all()).user == "hq"
    response = client.post("/admin/complaints/storehours/add/", {
        "store": store.pk, "opens_at": "09:00", "closes_at": "21:30"})
    assert response.status_code == 302
    created = _latest(StoreHours.history.all())
    assert (created.user, created.action) == ("hq", "Created")
    assert created.fields == (FieldChange("Opens at", None, "09:00"),
                              FieldChange("Closes at", None, "21:30"),
                              FieldChange("Open 24 hours", None, "no"))


# --- The admin's History ------------------------------------------------------------------------


def test_hq_reads_a_grade_policys_new_version_in_the_admin_and_its_diff_on_the_setup_page(
        hq, login):
    grade = GradePolicy.objects.get(grade="B")
    client = login(hq)
    client.post("/setup/complaints/", _grade_form(grade, resolution_hours=36))
    version = GradePolicy.objects.get(grade="B", version=2)
    response = client.get(f"/admin/complaints/gradepolicy/{version.pk}/history/",
                          HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert ">hq</a>" in " ".join(response.content.decode().split())
    listing = client.get("/admin/complaints/gradepolicy/?grade=B", HTTP_ACCEPT_LANGUAGE="en")
    assert "B v2" in listing.content.decode()
    assert "B v1" in listing.content.decode()
    page = client.get("/setup/complaints/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Resolution deadline (hours): <del>24</del> → <ins>36</ins>" in " ".join(
        page.split())


def test_a_historical_version_in_the_admin_cannot_be_saved_back(hq, login):
    window = AppealWindow.objects.get(kind=AppealWindowKind.MYSTERY_SHOPPER)
    baseline = window.history.get()
    appeal_window_set(kind=window.kind, days=20, user=hq)
    client = login(hq)
    url = f"/admin/satisfaction/appealwindow/{window.pk}/history/{baseline.history_id}/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"kind": window.kind, "days": "7"}).status_code == 405
    window.refresh_from_db()
    assert window.days == 20


def test_staff_other_than_hq_cannot_open_the_admin_history(store_manager, hr, login, db):
    grade = GradePolicy.objects.get(grade="A")
    url = f"/admin/complaints/gradepolicy/{grade.pk}/history/"
    for user in (store_manager, hr):
        response = login(user).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    staff_manager = UserFactory(username="staffsm", role=Role.STORE_MANAGER, is_staff=True)
    assert login(staff_manager).get(url).status_code == 403


# --- The setup pages ----------------------------------------------------------------------------


def test_the_scheme_page_shows_the_change_in_english_and_chinese(hq, login,
                                                                django_assert_max_num_queries):
    scheme_create_version(user=hq, note="加重 A 级", grade_a_points=4)
    client = login(hq)
    with django_assert_max_num_queries(12):
        english = client.get("/setup/schemes/", HTTP_ACCEPT_LANGUAGE="en")
    page = english.content.decode()
    assert "Change history" in page
    assert "Deduction per grade A complaint: <del>3</del> → <ins>4</ins>" in page
    assert "加重 A 级" in page
    chinese = client.get("/setup/schemes/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "变更记录" in chinese
    assert "A 级投诉扣分: <del>3</del> → <ins>4</ins>" in chinese


def test_the_scheme_history_costs_one_query_and_shows_the_newest_twenty(hq,
                                                                       django_assert_num_queries):
    for points in range(2, 27):  # versions 2..26
        scheme_create_version(user=hq, grade_b_points=points % 10)
    with django_assert_num_queries(1):
        found = scheme_changes()
    assert [c.subject for c in found] == [f"v{v}" for v in range(26, 6, -1)]
    assert found[-1].action != "Created"  # v7 is still compared with v6


def test_the_plan_page_shows_who_set_a_stores_visits_and_from_what(hq, login, store,
                                                                  django_assert_max_num_queries):
    client = login(hq)
    for visits in ("3", "4"):
        response = client.post("/mystery-shopper/plan/", {
            "quarter": str(QUARTER), "action": "frequency", "stores": store.code,
            "visits": visits})
        assert response.status_code == 302
    with django_assert_max_num_queries(15):
        english = client.get(f"/mystery-shopper/plan/?quarter={QUARTER}",
                             HTTP_ACCEPT_LANGUAGE="en")
    shown = english.context["changes"]
    assert [(c.subject, c.user, c.action) for c in shown] == [
        ("S0001", "hq", "Changed"), ("S0001", "hq", "Created")]
    assert shown[0].fields == (FieldChange("Visits per quarter", "3", "4"),)
    assert "Visits per quarter: <del>3</del> → <ins>4</ins>" in english.content.decode()
    chinese = client.get(f"/mystery-shopper/plan/?quarter={QUARTER}",
                         HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "变更记录" in chinese
    assert "每季度暗访次数: <del>3</del> → <ins>4</ins>" in chinese
    other_quarter = client.get(f"/mystery-shopper/plan/?quarter={QUARTER.next()}")
    assert other_quarter.context["changes"] == []


def test_the_visit_frequency_history_takes_two_queries_for_the_newest_twenty(
        hq, store, sibling_store, django_assert_num_queries):
    for visits in range(25):
        visit_services.visit_frequency_set(store=store if visits % 2 else sibling_store,
                                           quarter=QUARTER, visits=visits)
    assert StoreVisitFrequency.history.count() == 25
    with django_assert_num_queries(2):
        found = visit_frequency_changes(quarter=QUARTER)
    assert len(found) == 20
    assert found[0].subject == "S0002"
    assert found[0].fields[0].old == "22"  # each row is compared with the same store's last
    assert found[0].fields[0].new == "24"


def test_the_scorecard_page_shows_its_version_changes(hq, login, django_assert_max_num_queries,
                                                      django_assert_num_queries):
    template = visit_services.current_template()
    data = visit_services.template_as_data(template)
    data["red_line_score"] = 10
    visit_services.scorecard_template_from_json(base=template, text=_json(data), user=hq)
    client = login(hq)
    with django_assert_max_num_queries(15):
        response = client.get("/setup/scorecards/default/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Score of a red-line failure (%): <del>0</del> → <ins>10</ins>" in (
        response.content.decode())
    with django_assert_num_queries(2):
        assert len(scorecard_changes(code=template.code)) == 2


def _json(data: dict) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


def _points(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def test_the_admin_shows_what_a_scheme_or_scorecard_version_changed(hq, login):
    scheme = scheme_create_version(user=hq, grade_c_points=2)
    template = visit_services.current_template()
    data = visit_services.template_as_data(template)
    data["name_en"] = "Scorecard 2027"
    new = visit_services.scorecard_template_from_json(base=template, text=_json(data), user=hq)
    client = login(hq)
    page = client.get(f"/admin/scoring/scheme/{scheme.pk}/change/",
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Deduction per grade C complaint: 1 → 2" in page
    page = client.get(f"/admin/mystery_shopper/scorecardtemplate/{new.pk}/change/",
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Name (English): {template.name_en} → Scorecard 2027" in page
