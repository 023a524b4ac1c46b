"""No one scores themselves (issue 12, part 6; seed 002: 商圈调查真实).

Questionnaires keyed in by a store's own staff wait for HQ; HQ and the trade-area survey team
(the permission ``surveys.enter_trade_area_survey``) enter them directly; a response naming the
person who keyed it in as the one who served never counts for that person.
"""

import pytest
from django.contrib.auth.models import Group, Permission

from satisfaction.models import Role, User
from scoring.models import EmployeeScore, StoreScore
from scoring.services import rollup_quarter
from surveys import rules, selectors
from surveys.models import FlagReason, Response, ResponseStatus
from surveys.services import (
    ResponseInput,
    paper_batch_create,
    response_create,
    response_review,
)
from tests.factories import EmployeeFactory, UserFactory
from tests.surveys.factories import CampaignFactory, all_rated

pytestmark = pytest.mark.django_db

STAFF, SELF = FlagReason.STAFF_ENTERED.value, FlagReason.SELF_SERVED.value


def key_in(*, user, store, campaign, employee_number="", count=1, rating=5):
    rows = [ResponseInput(ratings=all_rated(rating), employee_number=employee_number)
            for _ in range(count)]
    batch = paper_batch_create(store=store, campaign=campaign, rows=rows, entered_by=user)
    return list(batch.responses.order_by("pk"))


def trade_area_team(*users):
    team, _ = Group.objects.get_or_create(name="商圈调查组")
    team.permissions.add(Permission.objects.get(codename="enter_trade_area_survey",
                                                content_type__app_label="surveys"))
    for user in users:
        user.groups.add(team)
    return [User.objects.get(pk=u.pk) for u in users]  # fresh: no cached permissions


def store_counts(campaign, store) -> int:
    frame = selectors.survey_store_indicator_frame(quarter=campaign.quarter)
    rows = frame[(frame.store_id == store.pk) & (frame.indicator_code == "price")]
    return int(rows.n.sum())


def employee_counts(campaign, employee) -> int:
    frame = selectors.survey_employee_indicator_frame(quarter=campaign.quarter)
    rows = frame[(frame.employee_id == employee.pk) & (frame.indicator_code == "price")]
    return int(rows.n.sum())


def test_ten_top_marks_a_clerk_keys_in_for_himself_are_held_and_count_for_nobody(store, clerk):
    campaign = CampaignFactory()
    responses = key_in(user=clerk, store=store, campaign=campaign, count=10,
                       employee_number=clerk.employee.number)
    assert len(responses) == 10
    for response in responses:
        assert response.status == ResponseStatus.FLAGGED
        assert response.entered_by == clerk
        assert response.self_served
        assert response.flag_reasons.split(",") == [STAFF, SELF]
    assert store_counts(campaign, store) == 0
    assert employee_counts(campaign, clerk.employee) == 0


def test_a_store_managers_entries_naming_a_clerk_are_held_but_not_self_served(
        store, store_manager, clerk):
    campaign = CampaignFactory()
    [response] = key_in(user=store_manager, store=store, campaign=campaign,
                        employee_number=clerk.employee.number)
    assert (response.status, response.flag_reasons, response.self_served) == (
        ResponseStatus.FLAGGED, STAFF, False)
    assert response.entered_by == store_manager


def test_hq_enters_directly_and_its_entries_count_at_once_for_store_and_employee(
        store, hq, clerk):
    campaign = CampaignFactory()
    [response] = key_in(user=hq, store=store, campaign=campaign,
                        employee_number=clerk.employee.number)
    assert (response.status, response.flag_reasons) == (ResponseStatus.COUNTED, "")
    assert response.entered_by == hq
    assert store_counts(campaign, store) == 1
    assert employee_counts(campaign, clerk.employee) == 1


def test_a_regional_manager_in_the_trade_area_team_enters_directly(
        store, region_manager, clerk, login):
    campaign = CampaignFactory()
    # Without the permission a regional manager does not key in questionnaires at all.
    assert login(region_manager).get("/surveys/paper/").status_code == 403
    assert rules.entry_held_for_review(region_manager, store)
    [surveyor] = trade_area_team(region_manager)
    assert rules.can_collect_responses(surveyor)
    assert not rules.entry_held_for_review(surveyor, store)
    page = login(surveyor).post("/surveys/paper/", {
        "store": store.code, "campaign": campaign.pk,
        **{f"r0_{code}": "4" for code in all_rated(4)}, "r0_employee": clerk.employee.number})
    assert page.status_code == 302
    response = Response.objects.get()
    assert (response.status, response.entered_by) == (ResponseStatus.COUNTED, surveyor)
    assert employee_counts(campaign, clerk.employee) == 1


def test_the_team_permission_does_not_let_a_clerk_count_his_own_store(store, clerk):
    campaign = CampaignFactory()
    [clerk] = trade_area_team(clerk)
    assert rules.is_trade_area_surveyor(clerk)
    assert rules.entry_held_for_review(clerk, store)
    [response] = key_in(user=clerk, store=store, campaign=campaign)
    assert (response.status, response.flag_reasons) == (ResponseStatus.FLAGGED, STAFF)
    # Naming oneself is held whoever keys it in, HQ too: self-served is about the person.
    pharmacist = EmployeeFactory(store=store, number="E00009")
    hq_with_record = UserFactory(role=Role.HQ_ADMIN, employee=pharmacist)
    [own] = key_in(user=hq_with_record, store=store, campaign=campaign,
                   employee_number=pharmacist.number)
    assert (own.status, own.flag_reasons, own.self_served) == (ResponseStatus.FLAGGED, SELF,
                                                               True)


def test_staff_entered_phone_answers_through_the_api_are_held_too(store, clerk, login):
    campaign = CampaignFactory()
    created = login(clerk).post("/api/v1/surveys/responses/", {
        "campaign": campaign.pk, "store": store.code, "ratings": all_rated(5),
        "channel": "phone", "employee_number": clerk.employee.number},
        content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert (body["status"], body["flag_reasons"], body["self_served"]) == (
        "flagged", f"{STAFF},{SELF}", True)
    assert Response.objects.get().entered_by == clerk


def test_the_paper_page_tells_staff_their_questionnaires_wait_for_hq(store, clerk, login):
    campaign = CampaignFactory()
    client = login(clerk)
    result = client.post("/surveys/paper/", {
        "store": store.code, "campaign": campaign.pk,
        **{f"r{row}_{code}": "5" for row in range(2) for code in all_rated(5)}}, follow=True,
        HTTP_ACCEPT_LANGUAGE="en")
    shown = [str(m) for m in result.context["messages"]]
    assert any("2 of them wait for HQ review" in m for m in shown), shown
    assert Response.objects.filter(status=ResponseStatus.FLAGGED, entered_by=clerk).count() == 2


def test_hq_sees_the_flags_and_who_keyed_them_in_on_the_review_page(
        store, clerk, hq, login, django_assert_max_num_queries):
    campaign = CampaignFactory()
    key_in(user=clerk, store=store, campaign=campaign, count=12,
           employee_number=clerk.employee.number)
    client = login(hq)
    with django_assert_max_num_queries(10):
        page = client.get("/surveys/review/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert len(page.context["page"]) == 12
    assert html.count('data-testid="reasons"') == 12
    badge = '<span class="badge warn">{}</span>'.format
    assert html.count(badge("由本店员工自行录入")) == 12
    assert html.count(badge("服务人员填的是录入人本人")) == 12
    assert html.count("clerk1") == 12  # who keyed it in (the clerk has no full name)
    english = client.get("/surveys/review/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Entered by the store&#x27;s own staff" in english
    only_self = client.get("/surveys/review/?reason=self_served")
    assert len(only_self.context["page"]) == 12
    assert len(client.get("/surveys/review/?reason=speeder").context["page"]) == 0


def test_a_cleared_self_served_response_counts_for_the_store_never_for_the_one_who_entered_it(
        store, clerk, hq, login):
    campaign = CampaignFactory()
    colleague = EmployeeFactory(store=store, number="E00003")
    own = key_in(user=clerk, store=store, campaign=campaign, count=3,
                 employee_number=clerk.employee.number)
    for_colleague = key_in(user=clerk, store=store, campaign=campaign, count=2,
                           employee_number=colleague.number)
    rejected = key_in(user=clerk, store=store, campaign=campaign, count=1)
    client = login(hq)
    assert client.post("/surveys/review/responses/", {
        "response": [r.pk for r in own + for_colleague], "action": "clear"}).status_code == 302
    assert client.post("/surveys/review/responses/", {
        "response": [r.pk for r in rejected], "action": "reject"}).status_code == 302
    assert Response.objects.get(pk=own[0].pk).reviewed_by == hq
    assert store_counts(campaign, store) == 5
    assert employee_counts(campaign, colleague) == 2
    assert employee_counts(campaign, clerk.employee) == 0
    trace = selectors.survey_trace(quarter=campaign.quarter, store_id=store.pk,
                                   employee_id=clerk.employee.pk)
    assert not trace.exists()
    assert selectors.survey_trace(quarter=campaign.quarter, store_id=store.pk).count() == 5


def test_the_rollup_counts_a_cleared_self_served_response_for_the_store_only(store, clerk, hq):
    campaign = CampaignFactory()
    own = key_in(user=clerk, store=store, campaign=campaign, count=4, rating=5,
                 employee_number=clerk.employee.number)
    response_review(user=hq, response_ids=[r.pk for r in own], clear=True)
    rollup_quarter(quarter=campaign.quarter, user=hq)
    store_value = StoreScore.objects.get(store=store)
    assert store_value.n_responses == 4
    assert store_value.survey_pct == pytest.approx(100.0)
    clerk_value = EmployeeScore.objects.get(employee=clerk.employee)
    # His survey parts fall back to the store's figures (flagged), never to his own entries.
    assert clerk_value.n_responses == 0
    assert "warm_service_from_store" in clerk_value.flags


def test_who_is_held_follows_the_store_and_the_role(store, other_store, clerk, hq, hr,
                                                     region_manager):
    assert not rules.entry_held_for_review(hq, store)
    assert rules.entry_held_for_review(clerk, store)
    assert rules.is_store_staff(clerk, store)
    assert not rules.is_store_staff(clerk, other_store)
    assert rules.is_store_staff(region_manager, store)
    assert not rules.is_store_staff(region_manager, other_store)
    assert not rules.is_store_staff(hr, store)
    assert not rules.can_collect_responses(hr)
    [team_hr] = trade_area_team(hr)
    assert rules.can_collect_responses(team_hr)
    assert not rules.entry_held_for_review(team_hr, other_store)
    # A mystery shopper works with no store data: the permission makes him no surveyor.
    [team_shopper] = trade_area_team(UserFactory(role=Role.MYSTERY_SHOPPER))
    assert team_shopper.has_perm("surveys.enter_trade_area_survey")
    assert not rules.is_trade_area_surveyor(team_shopper)
    assert not rules.can_collect_responses(team_shopper)


def test_hq_holds_the_team_permission_through_its_role_and_others_get_it_in_the_admin(
        hq, clerk):
    permission = "surveys.enter_trade_area_survey"
    assert hq.has_perm(permission)
    assert not clerk.has_perm(permission)
    [member] = trade_area_team(clerk)
    assert member.has_perm(permission)


def test_response_create_records_who_entered_it(store, clerk):
    campaign = CampaignFactory()
    response = response_create(store=store, campaign=campaign, channel="paper",
                               data=ResponseInput(ratings=all_rated(3)), entered_by=clerk)
    assert response.entered_by == clerk
    public = response_create(store=store, campaign=campaign, channel="qr",
                             data=ResponseInput(ratings=all_rated(3)))
    assert (public.entered_by, public.status) == (None, ResponseStatus.COUNTED)
