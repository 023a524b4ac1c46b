"""Recurrence that watches itself: checks at the grade's intervals, a recurrence linked by
batch in another store or by store and category, a "not recurred" answer contradicted by the
data, each check alerting once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from complaints import selectors, services
from complaints.models import (
    Category,
    ComplaintEvent,
    ComplaintProduct,
    EightDReport,
    GradePolicy,
    RecurrenceCheck,
    SlaAlert,
    Status,
)
from complaints.services import ProductInput
from satisfaction.errors import ApplicationError
from satisfaction.models import Notification
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db

EIGHT_D = {name: f"{name} 内容" for name in EightDReport.SECTIONS}


def closed(store, hq, owner, *, grade: str = "B", **extra):
    """A complaint graded, resolved (with its 8D report when the grade needs one) and closed."""
    complaint = make_complaint(store, **extra)
    services.complaint_triage(complaint=complaint, user=hq, version=complaint.version,
                              grade=grade, substantiated=True, responsibility="own_store",
                              owner=owner)
    services.complaint_resolve(complaint=complaint, user=owner, version=complaint.version,
                               remedy="换货并致歉", customer_satisfied=True)
    if services.eight_d_required(complaint):
        services.eight_d_save(complaint=complaint, user=owner, version=1, sections=EIGHT_D,
                              customer_summary="已为您更换商品，并加强了效期检查。")
    services.complaint_close(complaint=complaint, user=owner, version=complaint.version)
    return complaint


def batch(batch_no: str, manufacturer: str = "华北制药") -> ProductInput:
    return ProductInput(medicine_name="阿莫西林胶囊", specification="0.25g×24粒",
                        manufacturer=manufacturer, batch_no=batch_no, supplier="国药控股")


def checks_of(complaint) -> list[RecurrenceCheck]:
    return list(RecurrenceCheck.objects.filter(complaint=complaint).order_by("interval_days"))


def test_closing_schedules_a_check_at_each_of_the_grades_intervals(store, hq, store_manager):
    complaint = closed(store, hq, store_manager)
    checks = checks_of(complaint)
    assert [c.interval_days for c in checks] == [30, 60, 90]
    assert [c.due_at - complaint.closed_at for c in checks] == [
        timedelta(days=30), timedelta(days=60), timedelta(days=90)]
    assert {c.cycle for c in checks} == {1}
    assert all(c.confirmed_at is None and c.recurrence is None for c in checks)


def test_the_intervals_are_the_policy_version_the_complaint_was_graded_under(
        store, hq, store_manager):
    GradePolicy.objects.filter(grade="C").update(recurrence_days=[14, 7, 14])
    complaint = closed(store, hq, store_manager, grade="C")
    assert [c.interval_days for c in checks_of(complaint)] == [7, 14]


def test_a_recurrence_linked_by_batch_in_another_store_marks_the_checks_and_reopens_the_8d(
        store, other_store, hq, store_manager, other_store_manager, login):
    original = closed(store, hq, store_manager, category=Category.PRODUCT_QUALITY,
                      product=batch("LOT 2026-07"))
    before = Notification.objects.filter(kind="complaint_recurrence").count()
    recurrence = make_complaint(other_store, category=Category.PRODUCT_QUALITY,
                                description="同一批次胶囊受潮结块", customer_phone="13700000000",
                                product=batch("lot2026-07"))

    assert recurrence.recurrence_of == original
    checks = checks_of(original)
    assert [(c.recurred, c.recurrence_id, c.confirmed_by_id) for c in checks] == [
        (True, recurrence.pk, None)] * 3
    assert all(c.confirmed_at is not None and recurrence.ticket_no in c.note for c in checks)
    # The 8D report is open again at D4-D7, for the new complaint; the original stays closed.
    report = EightDReport.objects.get(complaint=original)
    assert report.archived_at is None
    assert report.reopened_at is not None
    assert report.reopened_for == recurrence
    original.refresh_from_db()
    assert (original.status, original.grade, original.substantiated) == (Status.CLOSED, "B",
                                                                         True)
    # The owner and HQ are told, once each.
    told = Notification.objects.filter(kind="complaint_recurrence")
    assert told.count() - before == 2
    assert told.filter(user=store_manager).count() == 1
    assert told.filter(user=hq).count() == 1
    assert ComplaintEvent.objects.filter(complaint=original, action="recurred").count() == 1
    assert ComplaintEvent.objects.get(complaint=recurrence, action="recurrence_linked") \
        .changes == {"recurrence_of": [None, original.ticket_no]}

    # Only D4-D7 can be revised; saved complete, the report is archived again.
    page = login(store_manager).get(f"/complaints/{original.pk}/8d/",
                                    HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="eight-d-reopened"' in page
    assert re.search(r'<textarea name="d1_team"[^>]* disabled', page)
    assert not re.search(r'<textarea name="d4_root_cause"[^>]* disabled', page)
    revised = services.eight_d_save(
        complaint=original, user=store_manager, version=report.version,
        sections={**EIGHT_D, "d1_team": "改掉的团队", "d4_root_cause": "供应商仓储受潮"})
    assert revised.d1_team == EIGHT_D["d1_team"]
    assert revised.d4_root_cause == "供应商仓储受潮"
    assert revised.archived_at is not None
    with pytest.raises(ApplicationError):
        services.eight_d_save(complaint=original, user=store_manager,
                              version=revised.version, sections=EIGHT_D)

    # It counts in the recurrence rate of the original's store (closed in the period).
    now = timezone.now()
    figures = selectors.complaint_figures(user=hq, start=now - timedelta(days=1),
                                          end=now + timedelta(days=1), level="store")
    rows = {row.key: row for row in figures.rows}
    assert (rows[store.code].closed_in_period, rows[store.code].recurred) == (1, 1)
    assert rows[store.code].recurrence_rate == 100.0
    assert rows[other_store.code].recurrence_rate is None


def test_a_batch_of_another_manufacturer_or_a_complaint_after_the_window_is_not_linked(
        store, other_store, hq, store_manager):
    original = closed(store, hq, store_manager, category=Category.PRODUCT_QUALITY,
                      product=batch("B77", manufacturer="华北制药"))
    other_maker = make_complaint(other_store, category=Category.PRODUCT_QUALITY,
                                 product=batch("B77", manufacturer="石药集团"))
    assert other_maker.recurrence_of is None
    # 91 days after closing the window (its last check, at 90 days) has ended.
    shift = timedelta(days=91)
    type(original).objects.filter(pk=original.pk).update(closed_at=original.closed_at - shift)
    for check in checks_of(original):
        RecurrenceCheck.objects.filter(pk=check.pk).update(due_at=check.due_at - shift)
    late = make_complaint(store, category=Category.PRODUCT_QUALITY,
                          product=batch("B77", manufacturer=""))
    assert late.recurrence_of is None
    assert all(c.confirmed_at is None for c in checks_of(original))


def test_a_check_answered_not_recurred_before_a_recurrence_in_its_window_turns_red(
        store, hq, store_manager, login):
    original = closed(store, hq, store_manager, grade="C",
                      category=Category.SERVICE_ATTITUDE)
    # The owner answers the 30-day check early; then the problem recurs inside its window.
    services.recurrence_confirm(complaint=original, user=store_manager, recurred=False)
    recurrence = make_complaint(store, category=Category.SERVICE_ATTITUDE,
                                customer_phone="13600000000")
    assert recurrence.recurrence_of == original
    first, *later = checks_of(original)
    assert (first.recurred, first.recurrence_id, first.confirmed_by_id) == (
        False, recurrence.pk, store_manager.pk)
    assert [(c.recurred, c.recurrence_id) for c in later] == [(True, recurrence.pk)] * 2
    page = login(store_manager).get(f"/complaints/{original.pk}/",
                                    HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count('data-state="red"') == 1
    assert page.count('data-state="recurred"') == 2
    assert recurrence.ticket_no in page


def test_a_check_answered_not_recurred_despite_a_linked_complaint_is_recorded_red(
        store, hq, store_manager, login):
    original = closed(store, hq, store_manager, grade="C", category=Category.PRICE)
    # A recurrence linked the way intake used to link one: the checks were left open.
    linked = make_complaint(store, category=Category.OTHER, customer_phone="13500000000")
    type(linked).objects.filter(pk=linked.pk).update(recurrence_of=original)

    check = services.recurrence_confirm(complaint=original, user=store_manager,
                                        recurred=False, note="店长确认未再发生")
    assert (check.interval_days, check.recurred, check.recurrence_id) == (30, False, linked.pk)
    event = ComplaintEvent.objects.get(complaint=original, action="recurrence_checked")
    assert event.changes["contradicted_by"] == [None, linked.ticket_no]
    page = login(store_manager).get(f"/complaints/{original.pk}/",
                                    HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count('data-state="red"') == 1
    assert f"{linked.ticket_no}</a> was linked as a recurrence" in page
    assert page.count('data-state="open"') == 2

    # The API answers a given interval, else the earliest open one.
    client = login(store_manager)
    response = client.post(f"/api/v1/complaints/{original.pk}/recurrence-check/",
                           {"recurred": False, "interval_days": 90},
                           content_type="application/json")
    assert response.status_code == 200
    assert RecurrenceCheck.objects.get(complaint=original, interval_days=90).recurrence == linked
    response = client.post(f"/api/v1/complaints/{original.pk}/recurrence-check/",
                           {"recurred": True, "note": "又有顾客投诉价签"},
                           content_type="application/json")
    assert response.status_code == 200
    sixty = RecurrenceCheck.objects.get(complaint=original, interval_days=60)
    assert (sixty.recurred, sixty.recurrence_id) == (True, None)
    again = client.post(f"/api/v1/complaints/{original.pk}/recurrence-check/",
                        {"recurred": False, "interval_days": 60},
                        content_type="application/json")
    assert again.status_code == 409
    missing = client.post(f"/api/v1/complaints/{original.pk}/recurrence-check/",
                          {"recurred": False, "interval_days": 45},
                          content_type="application/json")
    assert missing.status_code == 400


def test_each_check_alerts_once_from_the_sweep(store, hq, store_manager):
    complaint = closed(store, hq, store_manager, grade="C")
    closed_at = complaint.closed_at
    minute = timedelta(minutes=1)
    assert services.sla_sweep(now=closed_at + timedelta(days=30) - minute).recurrence_checks == 0
    for days in (30, 60, 90):
        due = closed_at + timedelta(days=days)
        assert services.sla_sweep(now=due + minute).recurrence_checks == 1
        assert services.sla_sweep(now=due + 2 * minute).recurrence_checks == 0
    alerts = SlaAlert.objects.filter(complaint=complaint, kind="recurrence")
    assert sorted(alerts.values_list("cycle", "level")) == [(1, 30), (1, 60), (1, 90)]
    assert Notification.objects.filter(user=store_manager,
                                       kind="complaint_recurrence").count() == 3


def test_reopening_deletes_the_unanswered_checks_and_closing_again_schedules_new_ones(
        store, hq, store_manager):
    complaint = closed(store, hq, store_manager, grade="C")
    services.recurrence_confirm(complaint=complaint, user=store_manager, recurred=False)
    services.complaint_reopen(complaint=complaint, user=store_manager,
                              version=complaint.version, note="顾客再次来电")
    assert [(c.cycle, c.interval_days) for c in checks_of(complaint)] == [(1, 30)]
    services.complaint_resolve(complaint=complaint, user=store_manager,
                               version=complaint.version, remedy="退款",
                               customer_satisfied=True)
    services.complaint_close(complaint=complaint, user=store_manager, version=complaint.version)
    assert sorted((c.cycle, c.interval_days) for c in checks_of(complaint)) == [
        (1, 30), (2, 30), (2, 60), (2, 90)]


def test_recurrence_link_runs_on_a_product_saved_after_the_complaint(
        store, other_store, hq, store_manager):
    original = closed(store, hq, store_manager, grade="C", category=Category.PRODUCT_QUALITY,
                      product=batch("X1"))
    later = make_complaint(other_store, category=Category.PRODUCT_QUALITY)
    assert later.recurrence_of is None
    ComplaintProduct.objects.create(complaint=later, medicine_name="阿莫西林胶囊",
                                    manufacturer="华北制药", batch_no="X1")
    assert services.recurrence_link(complaint=later) == original
    assert later.recurrence_of == original
    # Linking twice does nothing more.
    assert services.recurrence_link(complaint=later) is None
    assert ComplaintEvent.objects.filter(complaint=original, action="recurred").count() == 1


def test_the_page_answers_the_check_it_showed_not_the_next_one(store, hq, store_manager,
                                                               login):
    original = closed(store, hq, store_manager, grade="C", category=Category.PRICE)
    url = f"/complaints/{original.pk}/"
    form = {"form": "recurrence", "recurred": "no", "note": ""}
    # The page offers the 30-day check, and says so in its form.
    assert 'name="interval_days" value="30"' in login(store_manager).get(url).content.decode()

    first = login(hq).post(url, {**form, "interval_days": "30"})
    assert first.status_code == 302
    # A second handler still on the old page answers the 30-day check too: refused, and the
    # 60-day check stays open.
    second = login(store_manager).post(url, {**form, "interval_days": "30"})
    assert second.status_code == 400
    assert [c.confirmed_at is not None for c in checks_of(original)] == [True, False, False]
