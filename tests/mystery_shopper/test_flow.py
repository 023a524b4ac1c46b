"""Planning, the shopper's report, review, the store's view, appeals and the scoring frames."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from mystery_shopper import selectors, services
from mystery_shopper.models import (
    Appeal,
    AppealStatus,
    RedLineAlert,
    ScorecardItem,
    ScorecardTemplate,
    Visit,
    VisitEvent,
    VisitStatus,
)
from satisfaction.errors import ApplicationError
from satisfaction.models import AppealWindowKind, Notification
from satisfaction.quarters import Quarter
from satisfaction.services import appeal_window_set
from tests.factories import EmployeeFactory, StoreFactory
from tests.mystery_shopper.factories import (
    ShopperFactory,
    VisitFactory,
    default_template,
    jpeg_upload,
    wav_upload,
)

Q4 = Quarter(2026, 4)


def _items(template=None) -> list[ScorecardItem]:
    return list(ScorecardItem.objects.filter(section__template=template or default_template())
                .order_by("section__position", "position"))


def _complete(visit: Visit, *, red_line_fail: bool = False, badge: str = "E00001") -> Visit:
    """Answer every item (yes / full points, except the last purchase item: 5 of 10)."""
    answers = {}
    for item in _items(visit.template):
        value = item.max_points if item.kind == "points" else 1
        if item.code == "combination_rational":
            value = 5
        if item.code == "pharmacist_on_duty" and red_line_fail:
            value = 0
        answers[item.pk] = {"value": value}
    services.visit_draft_save(visit=visit, shopper=visit.shopper, answers=answers,
                              checked_in_at=timezone.now(), served_by_badge=badge)
    for item in _items(visit.template):
        if item.evidence == "photo":
            services.visit_evidence_add(visit=visit, shopper=visit.shopper,
                                        upload=jpeg_upload(), item=item)
        elif item.evidence == "audio":
            services.visit_evidence_add(visit=visit, shopper=visit.shopper,
                                        upload=wav_upload(), item=item)
    return visit


@pytest.fixture
def visit(store, store_manager_employee):
    shopper = ShopperFactory(username="shopperX", cities=["上海"])
    return VisitFactory(store=store, shopper=shopper)


@pytest.fixture
def approved(visit, hq):
    _complete(visit)
    services.visit_submit(visit=visit, shopper=visit.shopper)
    return services.visit_approve(visit=visit, reviewer=hq)


# --- Scorecards ---


def test_a_default_scorecard_exists_in_every_new_database(db):
    template = default_template()
    codes = {i.code for i in _items(template)}
    assert {"signboard", "uniform", "asks_present_history", "asks_past_history",
            "marketing_awareness", "asks_allergies", "pharmacist_on_duty"} <= codes
    assert {i.part for i in _items(template)} == {"image", "purchase", "process"}


def test_editing_a_template_makes_a_new_version_and_visits_keep_theirs(visit, hq):
    old = visit.template
    data = services.template_as_data(old)
    data["sections"][0]["items"][0]["max_points"] = 8
    new = services.scorecard_template_create_version(user=hq, **data)
    assert new.version == old.version + 1
    assert new.is_current
    old.refresh_from_db()
    assert not old.is_current
    visit.refresh_from_db()
    assert visit.template_id == old.pk
    assert ScorecardTemplate.objects.filter(code="default").count() == 2


# --- Planning ---


def test_hq_plans_a_quarter_by_city_without_repeats_and_idempotently(region, hq):
    shanghai = [StoreFactory(region=region, city="上海") for _ in range(4)]
    StoreFactory(region=region, city="杭州")
    a = ShopperFactory(cities=["上海"])
    b = ShopperFactory(cities=["上海", "杭州"])
    services.visit_frequency_set(store=shanghai[0], quarter=Q4, visits=3)
    result = services.visit_plan_generate(quarter=Q4, user=hq)
    # 3 + 2 * 3 Shanghai visits + 2 Hangzhou visits (one shopper there: the second stays open)
    assert result.created == 11
    assert result.unassigned == 1
    visits = Visit.objects.filter(quarter=Q4)
    for store in shanghai:
        order = list(visits.filter(store=store).order_by("due_on").values_list("shopper_id",
                                                                                flat=True))
        assert all(x != y for x, y in itertools.pairwise(order))
        assert set(order) <= {a.pk, b.pk}
    assert all(Q4.contains(v.due_on) for v in visits)
    assert services.visit_plan_generate(quarter=Q4, user=hq).created == 0
    assert VisitEvent.objects.filter(action="planned").count() == 11


def test_hq_can_reassign_only_within_the_rules_and_cancel(store, hq):
    a = ShopperFactory(cities=["上海"])
    b = ShopperFactory(cities=["上海"])
    far = ShopperFactory(cities=["北京"])
    first = VisitFactory(store=store, shopper=a)
    second = VisitFactory(store=store, shopper=b, due_on=first.due_on + timedelta(days=30))
    with pytest.raises(ApplicationError):
        services.visit_reassign(visit=second, shopper=far, user=hq)
    with pytest.raises(ApplicationError):
        services.visit_reassign(visit=second, shopper=a, user=hq)
    services.visit_cancel(visit=first, user=hq)
    services.visit_reassign(visit=second, shopper=a, user=hq)
    second.refresh_from_db()
    assert second.shopper_id == a.pk


# --- The shopper's report ---


def test_a_shopper_sees_only_their_own_visits(login, visit, store):
    other = VisitFactory(store=store)
    client = login(visit.shopper)
    page = client.get("/mystery-shopper/")
    assert page.status_code == 200
    assert f"visit-{visit.pk}" in page.text
    assert f"visit-{other.pk}" not in page.text
    assert client.get(f"/mystery-shopper/visits/{other.pk}/report/").status_code == 404
    assert client.get(f"/api/v1/mystery-shopper/visits/{other.pk}/").status_code == 404


def test_drafts_save_on_the_server_and_resume_on_another_device(login, visit):
    item = _items()[0]
    phone = login(visit.shopper)
    response = phone.post(f"/mystery-shopper/visits/{visit.pk}/report/?step=1",
                          {"step": 1, f"item_{item.pk}": "1"}, HTTP_X_AUTOSAVE="1")
    assert response.status_code == 200
    tablet = login(visit.shopper)
    page = tablet.get(f"/mystery-shopper/visits/{visit.pk}/report/?step=1")
    assert f'name="item_{item.pk}" value="1" checked' in page.text
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DRAFT


def test_submitting_shows_errors_at_each_item_then_locks_the_report(login, visit):
    client = login(visit.shopper)
    response = client.post(f"/mystery-shopper/visits/{visit.pk}/report/?step=5",
                           {"step": 5, "go": "submit", "notes": "ok"})
    assert response.status_code == 400
    assert response.text.count('data-testid="item-error"') == len(_items())
    _complete(visit)
    response = client.post(f"/mystery-shopper/visits/{visit.pk}/report/?step=5",
                           {"step": 5, "go": "submit", "notes": "ok"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == VisitStatus.SUBMITTED
    with pytest.raises(ApplicationError) as exc:
        services.visit_draft_save(visit=visit, shopper=visit.shopper, notes="late")
    assert exc.value.code == "locked"


def test_required_evidence_is_checked_at_submit(visit):
    _complete(visit)
    visit.evidence.all().delete()
    with pytest.raises(ApplicationError) as exc:
        services.visit_submit(visit=visit, shopper=visit.shopper)
    signboard = ScorecardItem.objects.get(section__template=visit.template, code="signboard")
    assert list(exc.value.fields) == [f"item_{signboard.pk}",
                                      f"item_{_items()[6].pk}"]


def test_evidence_is_checked_by_content_and_size(visit, settings):
    fake = SimpleUploadedFile("photo.jpg", b"not really a jpeg at all", "image/jpeg")
    with pytest.raises(ApplicationError) as exc:
        services.visit_evidence_add(visit=visit, shopper=visit.shopper, upload=fake)
    assert exc.value.code == "bad_file_type"
    settings.UPLOAD_MAX_BYTES = 100
    with pytest.raises(ApplicationError):
        services.visit_evidence_add(visit=visit, shopper=visit.shopper, upload=jpeg_upload())


def test_the_employee_who_served_is_matched_by_badge_number(visit, store_manager_employee):
    _complete(visit, badge="e00001")
    visit.refresh_from_db()
    assert visit.employee_id == store_manager_employee.pk


# --- Review and scores ---


def test_approval_stores_the_hand_computed_score_and_records_who(approved, hq):
    # image 5+5+2.5*4 = 20, purchase 10+10+10+10+5 = 45 of 50, process 5*4+10 = 30, red lines 0
    assert approved.points_possible == 100
    assert approved.score_pct == pytest.approx(95.0)
    assert (approved.purchase_points, approved.purchase_max) == (45, 50)
    assert (approved.process_points, approved.process_max) == (30, 30)
    assert (approved.image_points, approved.image_max) == (20, 20)
    event = approved.events.get(action="approved")
    assert event.actor == hq
    assert event.from_status == VisitStatus.SUBMITTED


def test_hq_sends_back_with_a_comment_and_the_shopper_can_fix(visit, hq):
    _complete(visit)
    services.visit_submit(visit=visit, shopper=visit.shopper)
    with pytest.raises(ApplicationError):
        services.visit_return(visit=visit, reviewer=hq, comment="")
    services.visit_return(visit=visit, reviewer=hq, comment="照片模糊")
    services.visit_draft_save(visit=visit, shopper=visit.shopper, notes="fixed")
    services.visit_submit(visit=visit, shopper=visit.shopper)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.SUBMITTED
    assert list(visit.events.values_list("action", flat=True)) == [
        "started", "submitted", "returned", "submitted"]


def test_a_red_line_visit_scores_zero_and_alerts_hq_once(visit, hq):
    _complete(visit, red_line_fail=True)
    services.visit_submit(visit=visit, shopper=visit.shopper)
    services.visit_approve(visit=visit, reviewer=hq)
    visit.refresh_from_db()
    assert visit.red_line
    assert visit.score_pct == 0
    assert Notification.objects.filter(user=hq, kind="mystery_red_line").count() == 1
    services._alert_red_line(visit)
    assert Notification.objects.filter(user=hq, kind="mystery_red_line").count() == 1
    assert RedLineAlert.objects.count() == 1


def test_only_approved_visits_are_in_the_scoring_frame(approved, store, hq):
    submitted = VisitFactory(store=store, shopper=approved.shopper)
    _complete(submitted)
    services.visit_submit(visit=submitted, shopper=submitted.shopper)
    frame = selectors.approved_visit_frame(quarter=Quarter.containing(approved.visited_on))
    assert list(frame["visit_id"]) == [approved.pk]
    assert list(frame.columns) == selectors.FRAME_COLUMNS
    assert frame.loc[0, "score_pct"] == pytest.approx(95.0)
    assert frame.loc[0, "employee_id"] == approved.employee_id
    empty = selectors.approved_visit_frame(quarter=Quarter(2020, 1))
    assert empty.empty
    assert list(empty.columns) == selectors.FRAME_COLUMNS
    assert list(selectors.visit_trace(quarter=Quarter.containing(approved.visited_on),
                                      store_id=store.pk)) == [approved]


# --- The store ---


def test_store_manager_sees_the_report_with_evidence_but_never_the_shopper(
        login, approved, store_manager):
    client = login(store_manager)
    listing = client.get("/mystery-shopper/store/")
    page = client.get(f"/mystery-shopper/store/{approved.pk}/")
    api = client.get(f"/api/v1/mystery-shopper/visits/{approved.pk}/")
    assert page.status_code == 200
    assert api.status_code == 200
    for body in (listing.text, page.text, api.content.decode()):
        assert "shopperX" not in body
    evidence = approved.evidence.first()
    file_response = client.get(f"/mystery-shopper/evidence/{evidence.public_id}/")
    assert file_response.status_code == 200
    assert "shopper" not in file_response["Content-Disposition"]
    assert b"".join(file_response.streaming_content)[:2] == b"\xff\xd8"


def test_another_stores_manager_gets_404_for_the_report_and_its_evidence(
        login, approved, other_store_manager):
    client = login(other_store_manager)
    evidence = approved.evidence.first()
    assert client.get(f"/mystery-shopper/store/{approved.pk}/").status_code == 404
    assert client.get(f"/mystery-shopper/evidence/{evidence.public_id}/").status_code == 404
    assert client.get(f"/api/v1/mystery-shopper/visits/{approved.pk}/").status_code == 404


def test_the_api_lists_the_files_each_one_may_fetch(login, approved, store_manager, hq):
    """The API lists the files ``evidence_get_for`` serves: the shopper their report's, not
    the store's appeal files; the store's manager and HQ both."""
    services.appeal_raise(visit=approved, user=store_manager, reason="不同意",
                          uploads=[jpeg_upload()])
    appeal_file = approved.evidence.get(appeal__isnull=False)
    report_files = {str(e.public_id) for e in approved.evidence.filter(appeal__isnull=True)}
    for user, expected in ((approved.shopper, report_files),
                           (store_manager, report_files | {str(appeal_file.public_id)}),
                           (hq, report_files | {str(appeal_file.public_id)})):
        client = login(user)
        listed = client.get(f"/api/v1/mystery-shopper/visits/{approved.pk}/").json()["evidence"]
        assert {e["id"] for e in listed} == expected, user.username
        for public_id in report_files | {str(appeal_file.public_id)}:
            assert client.get(f"/mystery-shopper/evidence/{public_id}/").status_code == (
                200 if public_id in expected else 404)


def test_store_users_see_nothing_before_approval(login, visit, store_manager):
    _complete(visit)
    evidence = visit.evidence.first()
    client = login(store_manager)
    assert client.get(f"/mystery-shopper/store/{visit.pk}/").status_code == 404
    assert client.get(f"/mystery-shopper/evidence/{evidence.public_id}/").status_code == 404


def test_store_manager_acknowledges_and_records_coaching(login, approved, store_manager):
    client = login(store_manager)
    response = client.post(f"/mystery-shopper/store/{approved.pk}/",
                           {"action": "acknowledge", "coaching": "复习四步咨询"})
    assert response.status_code == 302
    approved.refresh_from_db()
    assert approved.acknowledged_by == store_manager
    assert approved.coaching == "复习四步咨询"


def test_the_store_list_page_runs_a_fixed_number_of_queries(
        login, approved, store, store_manager, django_assert_max_num_queries):
    for _ in range(5):
        extra = VisitFactory(store=store, shopper=approved.shopper, status=VisitStatus.APPROVED,
                             visited_on=approved.visited_on, score_pct=80)
        extra.employee = EmployeeFactory(store=store)
        extra.save()
    client = login(store_manager)
    with django_assert_max_num_queries(12):
        response = client.get("/mystery-shopper/store/")
    assert response.text.count("/mystery-shopper/store/") >= 6


# --- Appeals ---


def test_an_appeal_changes_the_score_and_blocks_the_quarter_until_decided(
        approved, store_manager, hq):
    quarter = Quarter.containing(approved.visited_on)
    appeal = services.appeal_raise(visit=approved, user=store_manager, reason="录音证明已询问",
                                   uploads=[wav_upload()])
    assert selectors.open_appeals_exist(quarter=quarter)
    rational = ScorecardItem.objects.get(section__template=approved.template,
                                         code="combination_rational")
    services.appeal_decide(appeal=appeal, user=hq, note="改为满分",
                           corrections={rational.pk: {"value": 10}})
    appeal.refresh_from_db()
    approved.refresh_from_db()
    assert appeal.status == AppealStatus.CHANGED
    assert (appeal.score_before, appeal.score_after) == (95.0, 100.0)
    assert approved.score_pct == pytest.approx(100.0)
    assert not selectors.open_appeals_exist(quarter=quarter)


def test_an_upheld_appeal_keeps_the_score(approved, store_manager, hq):
    appeal = services.appeal_raise(visit=approved, user=store_manager, reason="不同意")
    services.appeal_decide(appeal=appeal, user=hq, note="维持")
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.UPHELD
    assert appeal.score_after == 95.0


def test_appeals_close_after_the_window(approved, store_manager, hq):
    appeal_window_set(kind=AppealWindowKind.MYSTERY_SHOPPER, days=7, user=hq)
    Visit.objects.filter(pk=approved.pk).update(
        approved_at=timezone.now() - timedelta(days=8))
    approved.refresh_from_db()
    with pytest.raises(ApplicationError) as exc:
        services.appeal_raise(visit=approved, user=store_manager, reason="late")
    assert exc.value.code == "appeal_window_closed"
    assert not Appeal.objects.exists()


# --- API ---


def test_the_api_runs_the_whole_report(login, visit, hq):
    client = login(visit.shopper)
    base = f"/api/v1/mystery-shopper/visits/{visit.pk}"
    answers = [{"item": i.pk, "value": 1 if i.kind == "yes_no" else 5} for i in _items()]
    response = client.patch(f"{base}/draft/", {
        "answers": answers, "checked_in_at": timezone.now().isoformat(),
        "served_by_badge": "E00001"}, content_type="application/json")
    assert response.status_code == 200, response.content
    incomplete = client.post(f"{base}/submit/")
    assert incomplete.status_code == 400
    assert incomplete.json()["code"] == "incomplete"
    for item in _items():
        if item.evidence:
            upload = jpeg_upload() if item.evidence == "photo" else wav_upload()
            assert client.post(f"{base}/evidence/", {"file": upload, "item": item.pk}
                               ).status_code == 201
    bad = client.post(f"{base}/evidence/", {"file": SimpleUploadedFile("a.jpg", b"text")})
    assert bad.status_code == 400
    assert "evidence" in bad.json()["fields"]
    assert client.post(f"{base}/submit/").status_code == 200
    assert client.post(f"{base}/approve/").status_code == 403
    hq_client = login(hq)
    approved = hq_client.post(f"{base}/approve/", {}, content_type="application/json")
    assert approved.status_code == 200
    assert approved.json()["shopper"] == visit.shopper.username
    templates = client.get("/api/v1/mystery-shopper/templates/")
    assert templates.status_code == 200
    assert templates.json()["count"] == 1


# --- Pages ---


def test_only_hq_reaches_planning_review_and_appeals(login, store_manager, visit):
    client = login(store_manager)
    for url in ("/mystery-shopper/plan/", "/mystery-shopper/review/",
                f"/mystery-shopper/review/{visit.pk}/", "/mystery-shopper/appeals/"):
        response = client.get(url)
        assert response.status_code == 403
    assert login(visit.shopper).get("/mystery-shopper/store/").status_code == 403


def test_hq_pages_plan_review_and_decide_an_appeal(login, hq, store, store_manager, visit):
    client = login(hq)
    services.visit_frequency_set(store=store, quarter=Q4, visits=1)
    response = client.post("/mystery-shopper/plan/", {"quarter": "2026Q4", "action": "generate"})
    assert response.status_code == 302
    assert Visit.objects.filter(quarter=Q4, store=store).count() == 1  # the fixture's visit
    _complete(visit)
    services.visit_submit(visit=visit, shopper=visit.shopper)
    page = client.get(f"/mystery-shopper/review/{visit.pk}/")
    assert "shopperX" in page.text
    assert client.post(f"/mystery-shopper/review/{visit.pk}/",
                       {"action": "approve"}).status_code == 302
    appeal = services.appeal_raise(visit=visit, user=store_manager, reason="不同意")
    assert client.get(f"/mystery-shopper/appeals/{appeal.pk}/").status_code == 200
    response = client.post(f"/mystery-shopper/appeals/{appeal.pk}/", {"note": "维持原判"})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.UPHELD
    assert appeal.decided_by == hq
    assert visit.events.filter(action="appeal_upheld", actor=hq).exists()


def test_hq_edits_the_scorecard_as_a_new_version_and_bad_input_is_a_form_error(login, hq):
    """The JSON editor is the setup's "advanced" page now; its old address leads there."""
    import json

    client = login(hq)
    assert client.get("/mystery-shopper/scorecards/")["Location"] == "/setup/scorecards/"
    page = client.get("/setup/scorecards/default/json/")
    assert page.status_code == 200
    data = services.template_as_data(default_template())
    data["sections"][0]["items"][0]["text_zh"] = "招牌明亮、干净、无破损"
    response = client.post("/setup/scorecards/default/json/",
                           {"definition": json.dumps(data, ensure_ascii=False)})
    assert response.status_code == 302
    assert default_template().version == 2
    assert _items()[0].text_zh == "招牌明亮、干净、无破损"
    broken = client.post("/setup/scorecards/default/json/", {"definition": "{not json"})
    assert broken.status_code == 400
    assert 'class="errorlist"' in broken.text
    assert default_template().version == 2


def test_a_scorecard_item_with_an_unknown_part_is_rejected(hq):
    data = services.template_as_data(default_template())
    data["sections"][0]["items"][0]["part"] = "mood"
    with pytest.raises(ApplicationError) as exc:
        services.scorecard_template_create_version(user=hq, **data)
    assert "sections[0].items[0]" in exc.value.fields
    assert default_template().version == 1


def test_the_visit_list_api_runs_a_fixed_number_of_queries(
        login, hq, store, django_assert_max_num_queries):
    shopper = ShopperFactory(cities=["上海"])
    for day in range(8):
        VisitFactory(store=store, shopper=shopper, due_on=Q4.first_day + timedelta(days=day))
    client = login(hq)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/mystery-shopper/visits/")
    assert response.json()["count"] == 8
    assert response.json()["results"][0]["shopper"] == shopper.username
