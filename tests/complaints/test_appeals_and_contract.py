"""Appeals and the selectors scoring reads (deductions follow the appeal decision)."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from complaints import selectors, services
from complaints.models import Appeal, AppealStatus
from satisfaction.errors import ApplicationError
from satisfaction.quarters import Quarter, chain_zone
from tests.complaints.factories import make_complaint
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

Q = Quarter(2026, 3)


def _graded(store, hq, *, grade="B", substantiated=True, received=None, **extra):
    complaint = make_complaint(store, received_at=received, **extra)
    services.complaint_triage(complaint=complaint, user=hq, version=complaint.version,
                              grade=grade, substantiated=substantiated,
                              responsibility="own_store", owner=None)
    return complaint


def _in_q(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 8, day, hour, tzinfo=chain_zone())


def test_deduction_frame_has_graded_substantiated_complaints_of_the_quarter(store, hq):
    employee = EmployeeFactory(store=store)
    a = _graded(store, hq, grade="A", received=_in_q(3), employee=employee)
    _graded(store, hq, grade="C", substantiated=False, received=_in_q(4))
    make_complaint(store, received_at=_in_q(5))  # not graded
    _graded(store, hq, grade="B", received=datetime(2026, 10, 1, 0, 30, tzinfo=chain_zone()))
    c = _graded(store, hq, grade="C", received=datetime(2026, 9, 30, 23, 30,
                                                        tzinfo=chain_zone()))
    frame = selectors.deduction_frame(quarter=Q)
    assert list(frame.columns) == ["complaint_id", "store_id", "employee_id", "grade"]
    assert frame["complaint_id"].tolist() == [a.pk, c.pk]
    assert frame["grade"].tolist() == ["A", "C"]
    assert frame["employee_id"].isna().tolist() == [False, True]
    assert [x.pk for x in selectors.complaint_trace(quarter=Q, store_id=store.pk)] == [a.pk, c.pk]
    assert [x.pk for x in selectors.complaint_trace(quarter=Q, store_id=store.pk,
                                                   employee_id=employee.pk)] == [a.pk]


def test_empty_quarter_gives_an_empty_frame_with_the_columns(db):
    frame = selectors.deduction_frame(quarter=Q)
    assert frame.empty
    assert list(frame.columns) == ["complaint_id", "store_id", "employee_id",
                                                   "grade"]


def test_an_accepted_appeal_removes_the_deduction(store, hq, store_manager):
    complaint = _graded(store, hq, received=_in_q(10))
    with mock.patch("django.utils.timezone.now", return_value=complaint.graded_at):
        services.appeal_file(complaint=complaint, user=store_manager, kind="substantiation",
                             requested_substantiated=False, reason="监控显示店员已按规定解释")
    assert selectors.open_appeals_exist(quarter=Q)
    assert len(selectors.deduction_frame(quarter=Q)) == 1
    appeal = Appeal.objects.get()
    services.appeal_decide(appeal=appeal, user=hq, accept=True, reason="证据充分")
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.ACCEPTED
    assert appeal.decision_reason == "证据充分"
    assert not selectors.open_appeals_exist(quarter=Q)
    assert selectors.deduction_frame(quarter=Q).empty
    with pytest.raises(ApplicationError) as twice:
        services.appeal_decide(appeal=appeal, user=hq, accept=False, reason="x")
    assert twice.value.status == 409


def test_an_accepted_grade_appeal_changes_the_grade(store, hq, store_manager):
    complaint = _graded(store, hq, grade="A")
    services.appeal_file(complaint=complaint, user=store_manager, kind="grade",
                         requested_grade="C", reason="未涉及用药安全")
    services.appeal_decide(appeal=Appeal.objects.get(), user=hq, accept=True, reason="同意")
    complaint.refresh_from_db()
    assert complaint.grade == "C"


def test_a_rejected_appeal_keeps_the_grade(store, hq, store_manager):
    complaint = _graded(store, hq, grade="A")
    services.appeal_file(complaint=complaint, user=store_manager, kind="grade",
                         requested_grade="B", reason="理由")
    services.appeal_decide(appeal=Appeal.objects.get(), user=hq, accept=False,
                           reason="涉及用药安全")
    complaint.refresh_from_db()
    assert complaint.grade == "A"


def test_appeals_close_after_the_window(store, hq, store_manager):
    complaint = _graded(store, hq)
    later = timezone.now() + timedelta(days=7, minutes=1)
    with mock.patch("django.utils.timezone.now", return_value=later), \
            pytest.raises(ApplicationError) as error:
        services.appeal_file(complaint=complaint, user=store_manager, kind="grade",
                             requested_grade="C", reason="晚了")
    assert error.value.code == "appeal_window_closed"


def test_one_open_appeal_at_a_time_and_only_hq_decides(store, hq, store_manager):
    complaint = _graded(store, hq)
    services.appeal_file(complaint=complaint, user=store_manager, kind="grade",
                         requested_grade="C", reason="一")
    with pytest.raises(ApplicationError):
        services.appeal_file(complaint=complaint, user=store_manager, kind="grade",
                             requested_grade="C", reason="二")
    with pytest.raises(ApplicationError) as error:
        services.appeal_decide(appeal=Appeal.objects.get(), user=store_manager, accept=True,
                               reason="自己批")
    assert error.value.status == 403
