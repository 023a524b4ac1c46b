"""The issue's "done when": filed on the web form, status checked, graded, handled with an 8D
report, closed; escalation exactly once per level; the recurrence check comes due."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from complaints import services
from complaints.models import (
    Complaint,
    ComplaintEvent,
    EightDReport,
    GradePolicy,
    RecurrenceCheck,
    SlaAlert,
    Status,
)
from satisfaction.errors import ApplicationError
from satisfaction.models import Notification
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db

EIGHT_D = {name: f"{name} 内容" for name in EightDReport.SECTIONS}


def test_customer_files_on_the_web_form_and_checks_the_status(client, store, hq):
    response = client.post(f"/complain/{store.code}", {
        "customer_name": "刘女士", "customer_phone": "139 0000 5678",
        "category": "product_quality", "description": "买的药过期了"})
    assert response.status_code == 200
    complaint = Complaint.objects.get()
    assert complaint.ticket_no in response.content.decode()
    assert complaint.channel == "web"
    assert complaint.source == "public"
    assert complaint.status == Status.NEW
    assert complaint.due_at is not None
    # HQ hears about it in the app.
    assert Notification.objects.filter(user=hq, kind="complaint_new").count() == 1

    wrong = client.post("/ticket/", {"ticket_no": complaint.ticket_no, "phone_last4": "0000"})
    assert wrong.status_code == 404
    right = client.post("/ticket/", {"ticket_no": complaint.ticket_no.lower(),
                                     "phone_last4": "5678"})
    assert right.status_code == 200
    body = right.content.decode()
    assert 'data-testid="ticket-status"' in body
    assert "买的药过期了" not in body  # the status page shows the process, not the file


def test_status_check_is_rate_limited_per_client_and_ticket(client, store):
    complaint = make_complaint(store)
    for _ in range(5):
        assert client.post("/ticket/", {"ticket_no": complaint.ticket_no,
                                         "phone_last4": "9999"}).status_code == 404
    blocked = client.post("/ticket/", {"ticket_no": complaint.ticket_no, "phone_last4": "1234"})
    assert blocked.status_code == 429


def test_public_form_requires_a_phone_and_rejects_unknown_stores(client, store):
    assert client.get("/complain/NOPE").status_code == 404
    response = client.post(f"/complain/{store.code}", {
        "customer_phone": "12", "category": "price", "description": "贵"})
    assert response.status_code == 400
    assert not Complaint.objects.exists()


def test_full_handling_closes_only_with_a_complete_8d_report(store, hq, store_manager):
    complaint = make_complaint(store)
    services.complaint_triage(complaint=complaint, user=hq, version=complaint.version,
                              grade="A", substantiated=True, responsibility="own_store",
                              owner=store_manager)
    assert complaint.status == Status.ASSIGNED
    services.complaint_start(complaint=complaint, user=store_manager, version=complaint.version)
    services.complaint_resolve(complaint=complaint, user=store_manager,
                               version=complaint.version, remedy="更换药品并道歉",
                               customer_satisfied=True)
    assert complaint.resolved_on_time is True
    with pytest.raises(ApplicationError) as missing:
        services.complaint_close(complaint=complaint, user=store_manager,
                                 version=complaint.version)
    assert missing.value.code == "eight_d_required"
    report = services.eight_d_save(complaint=complaint, user=store_manager, version=1,
                                   sections={**EIGHT_D, "d8_closure": ""})
    with pytest.raises(ApplicationError):
        services.complaint_close(complaint=complaint, user=store_manager,
                                 version=complaint.version)
    report = services.eight_d_save(complaint=complaint, user=store_manager,
                                   version=report.version, sections=EIGHT_D)
    with pytest.raises(ApplicationError) as no_summary:  # the report goes to the customer too
        services.complaint_close(complaint=complaint, user=store_manager,
                                 version=complaint.version)
    assert no_summary.value.code == "customer_summary_required"
    services.eight_d_save(complaint=complaint, user=store_manager, version=report.version,
                          sections=EIGHT_D, customer_summary="我们已为您更换药品并致歉。")
    services.complaint_close(complaint=complaint, user=store_manager, version=complaint.version)
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED
    report = EightDReport.objects.get(complaint=complaint)
    assert report.archived_at is not None
    with pytest.raises(ApplicationError) as archived:
        services.eight_d_save(complaint=complaint, user=store_manager, version=report.version,
                              sections=EIGHT_D)
    assert archived.value.code == "archived"
    actions = list(ComplaintEvent.objects.filter(complaint=complaint)
                   .values_list("action", flat=True))
    assert actions == ["created", "triaged", "start", "resolve", "eight_d", "eight_d", "eight_d",
                       "close", "report_sent", "report_sent"]
    triaged = ComplaintEvent.objects.get(complaint=complaint, action="triaged")
    assert triaged.actor == hq
    assert triaged.changes["grade"] == ["", "A"]


def test_grade_c_closes_without_8d_when_configured(store, hq, store_manager):
    complaint = make_complaint(store)
    services.complaint_triage(complaint=complaint, user=hq, version=1, grade="C",
                              substantiated=False, responsibility="own_store", owner=None)
    services.complaint_resolve(complaint=complaint, user=store_manager, version=2,
                               remedy="解释清楚", customer_satisfied=True)
    services.complaint_close(complaint=complaint, user=store_manager, version=3)
    assert complaint.status == Status.CLOSED


def test_closing_needs_hq_grading_first(store, store_manager):
    complaint = make_complaint(store)
    services.complaint_resolve(complaint=complaint, user=store_manager, version=1,
                               remedy="退款", customer_satisfied=False)
    with pytest.raises(ApplicationError) as error:
        services.complaint_close(complaint=complaint, user=store_manager, version=2)
    assert error.value.code == "not_graded"


def test_only_hq_grades(store, store_manager):
    complaint = make_complaint(store)
    with pytest.raises(ApplicationError) as error:
        services.complaint_triage(complaint=complaint, user=store_manager, version=1, grade="C",
                                  substantiated=True, responsibility="own_store", owner=None)
    assert error.value.status == 403


def test_a_stale_version_is_a_conflict_not_a_silent_overwrite(store, hq, store_manager):
    complaint = make_complaint(store)
    stale = Complaint.objects.get(pk=complaint.pk)
    services.complaint_triage(complaint=complaint, user=hq, version=1, grade="B",
                              substantiated=True, responsibility="own_store",
                              owner=store_manager)
    with pytest.raises(ApplicationError) as error:
        services.complaint_resolve(complaint=stale, user=store_manager, version=stale.version,
                                   remedy="x", customer_satisfied=True)
    assert error.value.status == 409
    assert Complaint.objects.get(pk=complaint.pk).status == Status.ASSIGNED


def test_reopening_marks_a_second_complaint_and_restarts_the_clock(store, hq, store_manager):
    complaint = make_complaint(store)
    services.complaint_triage(complaint=complaint, user=hq, version=1, grade="C",
                              substantiated=True, responsibility="own_store", owner=None)
    services.complaint_resolve(complaint=complaint, user=store_manager, version=2,
                               remedy="道歉", customer_satisfied=False)
    assert complaint.due_at is None
    with pytest.raises(ApplicationError):
        services.complaint_reopen(complaint=complaint, user=store_manager, version=3, note="")
    services.complaint_reopen(complaint=complaint, user=store_manager, version=3,
                              note="顾客再次来电")
    complaint.refresh_from_db()
    assert complaint.is_second
    assert complaint.status == Status.REOPENED
    assert complaint.cycle == 2
    assert complaint.due_at is not None
    assert complaint.resolved_at is None


def test_a_new_complaint_from_the_same_customer_about_the_same_issue_is_a_second_one(store):
    first = make_complaint(store, category="price")
    again = make_complaint(store, category="price")
    other_issue = make_complaint(store, category="environment")
    assert again.is_second
    assert again.previous == first
    assert not other_issue.is_second


def test_waiting_for_the_customer_pauses_and_keeps_the_time_spent(store, hq, store_manager):
    received = timezone.now() - timedelta(hours=10)
    complaint = make_complaint(store, received_at=received)
    services.complaint_triage(complaint=complaint, user=hq, version=1, grade="B",
                              substantiated=True, responsibility="own_store",
                              owner=store_manager)
    services.complaint_start(complaint=complaint, user=store_manager, version=2)
    services.complaint_wait_for_customer(complaint=complaint, user=store_manager, version=3)
    complaint.refresh_from_db()
    assert complaint.due_at is None
    assert complaint.next_alert_at is None
    assert complaint.sla_spent_seconds == pytest.approx(10 * 3600, abs=5)
    later = timezone.now() + timedelta(hours=30)
    with mock.patch("django.utils.timezone.now", return_value=later):
        services.complaint_resume(complaint=complaint, user=store_manager, version=4)
    complaint.refresh_from_db()
    # 24 h budget, 10 h spent before the pause: due 14 h after resuming.
    assert abs(complaint.due_at - (later + timedelta(hours=14))) < timedelta(seconds=5)


def test_a_grade_change_recomputes_the_deadline_from_the_time_spent(store, hq):
    GradePolicy.objects.filter(grade="A", version=1).update(resolution_hours=12)
    received = timezone.now() - timedelta(hours=4)
    complaint = make_complaint(store, received_at=received)
    assert complaint.due_at == received + timedelta(hours=24)
    services.complaint_triage(complaint=complaint, user=hq, version=1, grade="A",
                              substantiated=True, responsibility="own_store", owner=None)
    complaint.refresh_from_db()
    assert abs(complaint.due_at - (received + timedelta(hours=12))) < timedelta(seconds=5)


def test_the_overdue_complaint_escalates_exactly_once_per_level(
        store, hq, region_manager, store_manager):
    received = timezone.now() - timedelta(hours=1)
    complaint = make_complaint(store, received_at=received)
    services.complaint_triage(complaint=complaint, user=hq, version=1, grade="B",
                              substantiated=True, responsibility="own_store",
                              owner=store_manager)
    complaint.refresh_from_db()
    due = complaint.due_at
    assert services.sla_sweep(now=received + timedelta(hours=17)).recorded == 0
    assert services.sla_sweep(now=received + timedelta(hours=18, minutes=1)).recorded == 1
    assert Notification.objects.filter(user=store_manager, kind="complaint_warn").count() == 1
    # A sweep that was down catches up: deadline and level 2 both passed.
    result = services.sla_sweep(now=due + timedelta(hours=4, minutes=1))
    assert result.recorded == 2
    assert Notification.objects.filter(kind="complaint_escalate", user=store_manager).count() == 1
    assert Notification.objects.filter(kind="complaint_escalate", user=region_manager).count() == 1
    # Running again, or forcing a rescan (a retried task), sends nothing twice.
    assert services.sla_sweep(now=due + timedelta(hours=4, minutes=2)).recorded == 0
    Complaint.objects.filter(pk=complaint.pk).update(next_alert_at=received)
    assert services.sla_sweep(now=due + timedelta(hours=4, minutes=3)).recorded == 0
    services.sla_sweep(now=due + timedelta(hours=9))
    assert Notification.objects.filter(kind="complaint_escalate", user=hq).count() == 1
    assert list(SlaAlert.objects.order_by("due_at").values_list("kind", "level")) == [
        ("warn", 0), ("escalate", 1), ("escalate", 2), ("escalate", 3)]
    complaint.refresh_from_db()
    assert complaint.escalation_level == 3
    assert complaint.next_alert_at is None
    assert SlaAlert.objects.filter(sent_at__isnull=True).count() == 0


def test_a_resolved_complaint_raises_no_alerts(store, store_manager):
    received = timezone.now() - timedelta(hours=1)
    complaint = make_complaint(store, received_at=received)
    services.complaint_resolve(complaint=complaint, user=store_manager, version=1,
                               remedy="当场解决", customer_satisfied=True)
    assert services.sla_sweep(now=received + timedelta(days=3)).recorded == 0


def test_the_first_response_deadline_alerts_the_owner(store, hq, store_manager):
    GradePolicy.objects.filter(grade="A", version=1).update(first_response_hours=2)
    received = timezone.now() - timedelta(minutes=10)
    complaint = make_complaint(store, received_at=received)
    services.complaint_triage(complaint=complaint, user=hq, version=1, grade="A",
                              substantiated=True, responsibility="own_store",
                              owner=store_manager)
    services.sla_sweep(now=received + timedelta(hours=2, minutes=1))
    assert Notification.objects.filter(user=store_manager,
                                       kind="complaint_first_response").count() == 1


def test_the_recurrence_check_comes_due_and_links_a_new_complaint(store, hq, store_manager):
    complaint = make_complaint(store, category="product_quality")
    services.complaint_triage(complaint=complaint, user=hq, version=1, grade="C",
                              substantiated=True, responsibility="own_store",
                              owner=store_manager)
    services.complaint_resolve(complaint=complaint, user=store_manager, version=2,
                               remedy="换货", customer_satisfied=True)
    services.complaint_close(complaint=complaint, user=store_manager, version=3)
    check = RecurrenceCheck.objects.get(complaint=complaint, interval_days=30)
    assert check.due_at - complaint.closed_at == timedelta(days=30)
    assert services.sla_sweep(now=check.due_at - timedelta(minutes=1)).recurrence_checks == 0
    assert services.sla_sweep(now=check.due_at + timedelta(minutes=1)).recurrence_checks == 1
    assert services.sla_sweep(now=check.due_at + timedelta(minutes=2)).recurrence_checks == 0
    assert Notification.objects.filter(user=store_manager,
                                       kind="complaint_recurrence").count() == 1
    services.recurrence_confirm(complaint=complaint, user=store_manager, recurred=False)
    check.refresh_from_db()
    assert check.confirmed_at is not None
    assert check.recurred is False
    follow_up = make_complaint(store, category="product_quality", customer_phone="13900001111")
    assert follow_up.recurrence_of == complaint
    # The later checks are marked recurred; the answered one is contradicted (red).
    check.refresh_from_db()
    assert (check.recurred, check.recurrence) == (False, follow_up)
    assert set(RecurrenceCheck.objects.filter(complaint=complaint).exclude(pk=check.pk)
               .values_list("recurred", flat=True)) == {True}
    with pytest.raises(ApplicationError):
        services.recurrence_confirm(complaint=complaint, user=store_manager, recurred=True,
                                    note="again")


def test_the_beat_task_delivers_and_a_lost_delivery_is_retried_once(store, store_manager):
    from complaints import tasks

    received = timezone.now() - timedelta(hours=19)
    complaint = make_complaint(store, received_at=received)
    assert tasks.sla_sweep()["recorded"] == 1
    alert = SlaAlert.objects.get(complaint=complaint)
    assert alert.sent_at is not None
    assert Notification.objects.filter(user=store_manager, kind="complaint_warn").count() == 1
    # A delivery that never completed (worker lost) is found and sent by a later run, once.
    SlaAlert.objects.filter(pk=alert.pk).update(sent_at=None,
                                                recorded_at=timezone.now() - timedelta(hours=1))
    tasks.sla_sweep()
    tasks.sla_sweep()
    assert Notification.objects.filter(user=store_manager, kind="complaint_warn").count() == 2
    assert services.sla_alerts_deliver(alert_ids=[alert.pk]) == 0
