"""HQ's complaint setup pages: the complaint policy, the grade policies, store opening hours.

The rule they state: a grade policy change is the grade's next version and applies to
complaints graded from then on (a complaint keeps the version it was graded under); the chain
policy and opening hours apply from a complaint's next clock change."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from complaints import services
from complaints.forms import grade_choices
from complaints.models import ComplaintPolicy, GradePolicy, Responsibility, StoreHours
from complaints.selectors import grade_policies
from satisfaction.errors import ApplicationError
from tests.complaints.factories import make_complaint
from tests.factories import StoreFactory

POLICIES = "/setup/complaints/"
STORE_HOURS = "/setup/store-hours/"


def grade_post(grade: str, **changes) -> dict:
    """The grade's form as the page shows it (its current version), with ``changes``."""
    policy = grade_policies()[grade]
    values = {"definition_zh": policy.definition_zh, "definition_en": policy.definition_en,
              "examples_zh": policy.examples_zh, "examples_en": policy.examples_en,
              "recurrence_days": ", ".join(str(day) for day in policy.recurrence_days),
              "resolution_hours": policy.resolution_hours,
              "first_response_hours": policy.first_response_hours or "",
              "escalation_interval_hours": policy.escalation_interval_hours,
              "requires_8d": "on" if policy.requires_8d else ""}
    values.update(changes)
    data = {f"grade-{grade}-{name}": value for name, value in values.items()
            if value not in ("", None)}
    return {"form": grade, **data}


def policy_post(**changes) -> dict:
    policy = ComplaintPolicy.current()
    values = {"warn_fraction": policy.warn_fraction,
              "ungraded_resolution_hours": policy.ungraded_resolution_hours,
              "backdate_days": policy.backdate_days,
              "pause_while_waiting": "on" if policy.pause_while_waiting else "",
              "business_hours_clock": "on" if policy.business_hours_clock else ""}
    values.update(changes)
    return {"form": "policy", **{f"policy-{name}": value for name, value in values.items()
                                 if value != ""}}


def grade(complaint, user, letter: str):
    return services.complaint_triage(complaint=complaint, user=user, version=complaint.version,
                                     grade=letter, substantiated=True,
                                     responsibility=Responsibility.OWN_STORE, owner=None)


def test_the_migration_gave_each_grade_todays_definitions_in_both_languages(db):
    policy = GradePolicy.objects.get(grade="A")
    assert policy.definition_zh.startswith("涉及用药安全")
    assert policy.definition_en.startswith("Medication safety")


def test_a_complaint_graded_b_after_the_change_gets_the_new_deadline_an_earlier_one_keeps_its_own(
        login, hq, store):
    earlier = grade(make_complaint(store), hq, "B")
    earlier_due = earlier.due_at
    assert earlier_due - earlier.received_at == pytest.approx(timedelta(hours=24),
                                                              abs=timedelta(seconds=5))

    response = login(hq).post(POLICIES, grade_post("B", resolution_hours=48))

    assert response.status_code == 302
    assert grade_policies()["B"].resolution_hours == 48
    earlier.refresh_from_db()
    assert earlier.due_at == earlier_due  # not recalculated
    later = grade(make_complaint(store), hq, "B")
    assert later.due_at - later.received_at == pytest.approx(timedelta(hours=48),
                                                             abs=timedelta(seconds=5))


def test_an_open_complaint_keeps_its_versions_hours_when_its_clock_next_changes(
        login, hq, store_manager, store):
    complaint = grade(make_complaint(store), hq, "B")
    complaint = services.complaint_start(complaint=complaint, user=store_manager,
                                         version=complaint.version)
    complaint = services.complaint_wait_for_customer(complaint=complaint, user=store_manager,
                                                     version=complaint.version)
    login(hq).post(POLICIES, grade_post("B", resolution_hours=10))
    resumed = services.complaint_resume(complaint=complaint, user=store_manager,
                                        version=complaint.version)
    # Graded under B v1 (24 h): the new version (10 h) is for complaints graded from now on.
    assert resumed.due_at - timezone.now() == pytest.approx(timedelta(hours=24),
                                                            abs=timedelta(seconds=10))


def test_the_page_shows_the_change_with_the_user_in_the_history(login, hq):
    client = login(hq)
    client.post(POLICIES, grade_post("B", resolution_hours=36))
    response = client.get(POLICIES, HTTP_ACCEPT_LANGUAGE="en")
    change = response.context["changes"][0]
    assert (change.user, change.subject, change.action) == ("hq", "Grade B v2", "Changed")
    assert [(f.old, f.new) for f in change.fields] == [("24", "36")]
    html = response.content.decode()
    assert 'value="36"' in html
    assert "Change history" in html


@pytest.mark.parametrize(("form", "data", "field"), [
    ("B", {"resolution_hours": 0}, "grade-B-resolution_hours"),
    ("B", {"escalation_interval_hours": 0}, "grade-B-escalation_interval_hours"),
    ("B", {"first_response_hours": 30}, "grade-B-first_response_hours"),
    ("B", {"definition_en": "   "}, "grade-B-definition_en"),
    ("policy", {"warn_fraction": 1.5}, "policy-warn_fraction"),
    ("policy", {"warn_fraction": 0}, "policy-warn_fraction"),
    ("policy", {"ungraded_resolution_hours": 0}, "policy-ungraded_resolution_hours"),
])
def test_invalid_values_are_form_errors_and_nothing_is_saved(login, hq, form, data, field):
    before = (list(GradePolicy.objects.values()), list(ComplaintPolicy.objects.values()),
              GradePolicy.history.count(), ComplaintPolicy.history.count())
    post = grade_post(form, **data) if form != "policy" else policy_post(**data)
    response = login(hq).post(POLICIES, post, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    form_obj = (response.context["policy_form"] if form == "policy" else
                next(g["form"] for g in response.context["grades"] if g["grade"] == form))
    assert form_obj.errors[field.split("-", 2)[-1] if form != "policy"
                           else field.removeprefix("policy-")]
    assert (list(GradePolicy.objects.values()), list(ComplaintPolicy.objects.values()),
            GradePolicy.history.count(), ComplaintPolicy.history.count()) == before


def test_hq_changes_the_chain_policy_and_the_warning_moves_for_new_complaints(login, hq, store):
    response = login(hq).post(POLICIES, policy_post(warn_fraction=0.5))
    assert response.status_code == 302
    assert ComplaintPolicy.current().warn_fraction == 0.5
    complaint = make_complaint(store)
    assert complaint.warn_at - complaint.received_at == pytest.approx(
        timedelta(hours=12), abs=timedelta(seconds=5))


def test_a_new_grade_definition_is_what_the_grading_form_shows(login, hq):
    login(hq).post(POLICIES, grade_post("C", definition_en="Small things only.",
                                        definition_zh="小事。"))
    from django.utils import translation
    with translation.override("en"):
        assert "Small things only." in dict(grade_choices())["C"]
    with translation.override("zh-hans"):
        assert "小事。" in dict(grade_choices())["C"]


def test_the_page_shows_the_scoring_schemes_points_read_only_with_a_link(login, hq):
    html = login(hq).get(POLICIES, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="points-A">3 · <a href="/setup/schemes/">' in html
    assert "versioned per quarter" in html
    assert "points" not in "".join(
        name for g in [GradePolicy] for name in [f.name for f in g._meta.fields])


def test_the_page_says_the_change_does_not_recalculate_complaints_already_received(login, hq):
    html = login(hq).get(POLICIES, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Complaints already received are not recalculated." in html
    html = login(hq).get(POLICIES).content.decode()
    assert "已收到的投诉不会重新计算" in html


@pytest.mark.parametrize("persona", ["region_manager", "store_manager", "hr", "clerk"])
def test_only_hq_may_open_the_setup_pages(login, request, persona):
    client = login(request.getfixturevalue(persona))
    assert client.get(POLICIES).status_code == 403
    assert client.get(STORE_HOURS).status_code == 403
    assert client.post(POLICIES, {"form": "B"}).status_code == 403


def test_the_services_refuse_anyone_but_hq(store_manager, store):
    with pytest.raises(ApplicationError) as error:
        services.grade_policy_update(user=store_manager, grade="B", definition_zh="x",
                                     definition_en="x", resolution_hours=1,
                                     first_response_hours=None, escalation_interval_hours=1,
                                     requires_8d=False)
    assert error.value.status == 403
    with pytest.raises(ApplicationError):
        services.store_hours_set(user=store_manager, store=store, opens_at=time(8),
                                 closes_at=time(20), open_24h=False)


# --- Store opening hours ---------------------------------------------------------------------


def test_hq_sets_one_stores_hours_and_the_history_names_them(login, hq, store):
    client = login(hq)
    response = client.post(STORE_HOURS, {"stores": store.code, "opens_at": "09:00",
                                          "closes_at": "21:30"})
    assert response.status_code == 302
    hours = StoreHours.objects.get(store=store)
    assert (hours.opens_at, hours.closes_at, hours.open_24h) == (time(9), time(21, 30), False)
    page = client.get(STORE_HOURS, {"q": store.code}, HTTP_ACCEPT_LANGUAGE="en")
    assert "09:00–21:30" in page.content.decode()
    change = page.context["changes"][0]
    assert (change.user, change.subject) == ("hq", store.code)


def test_a_store_that_closes_before_it_opens_is_a_form_error(login, hq, store):
    response = login(hq).post(STORE_HOURS, {"stores": store.code, "opens_at": "21:00",
                                            "closes_at": "09:00"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.context["form"].errors["closes_at"]
    assert not StoreHours.objects.exists()


def test_a_24_hour_store_needs_no_times(login, hq, store):
    response = login(hq).post(STORE_HOURS, {"stores": store.code, "open_24h": "on"})
    assert response.status_code == 302
    assert StoreHours.objects.get(store=store).open_24h


def test_hq_sets_a_whole_regions_hours_at_once_and_other_regions_are_untouched(
        login, hq, store, sibling_store, other_store):
    StoreFactory.create_batch(3, region=store.region)
    response = login(hq).post(STORE_HOURS, {"region": store.region_id, "opens_at": "08:30",
                                            "closes_at": "20:00"})
    assert response.status_code == 302
    assert StoreHours.objects.filter(store__region=store.region, opens_at=time(8, 30)).count() \
        == 5
    assert not StoreHours.objects.filter(store=other_store).exists()
    assert StoreHours.history.filter(history_user=hq).count() == 5
    # Setting it again changes nothing and records nothing.
    login(hq).post(STORE_HOURS, {"region": store.region_id, "opens_at": "08:30",
                                 "closes_at": "20:00"})
    assert StoreHours.history.count() == 5


def test_a_list_with_an_unknown_store_code_saves_nothing(login, hq, store, sibling_store):
    response = login(hq).post(STORE_HOURS, {"stores": f"{store.code}, {sibling_store.code} NOPE",
                                            "opens_at": "08:00", "closes_at": "20:00"},
                              HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "NOPE" in str(response.context["form"].errors["stores"])
    assert not StoreHours.objects.exists()


def test_the_store_list_is_searchable_by_code_and_region(login, hq, store, sibling_store,
                                                         other_store,
                                                         django_assert_max_num_queries):
    client = login(hq)
    with django_assert_max_num_queries(12):
        page = client.get(STORE_HOURS, {"q": "S001"})
    assert [s.code for s in page.context["page"]] == [other_store.code]
    page = client.get(STORE_HOURS, {"region": store.region_id})
    assert [s.code for s in page.context["page"]] == [store.code, sibling_store.code]


def test_the_edit_link_fills_the_form_with_the_stores_hours(login, hq, store):
    StoreHours.objects.create(store=store, opens_at=time(7), closes_at=time(23))
    page = login(hq).get(STORE_HOURS, {"edit": store.code})
    assert page.context["form"].initial == {"stores": store.code, "opens_at": time(7),
                                            "closes_at": time(23), "open_24h": False}


def test_new_hours_apply_from_a_complaints_next_clock_change(login, hq, store):
    ComplaintPolicy.objects.filter(pk=1).update(business_hours_clock=True)
    complaint = make_complaint(store)
    due = complaint.due_at
    login(hq).post(STORE_HOURS, {"stores": store.code, "opens_at": "09:00",
                                 "closes_at": "10:00"})
    complaint.refresh_from_db()
    assert complaint.due_at == due
    graded = grade(complaint, hq, "C")
    # 24 working hours of one hour a day: about three weeks away now.
    assert graded.due_at - timezone.now() > timedelta(days=20)
