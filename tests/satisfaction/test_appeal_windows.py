"""The appeal windows of complaints and mystery-shopper reports: HQ-editable data in one place
(``satisfaction.AppealWindow``), read by both apps."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone, translation

from complaints import services as complaint_services
from complaints.models import Complaint
from mystery_shopper import services as visit_services
from mystery_shopper.models import Visit
from satisfaction.errors import ApplicationError
from satisfaction.models import AppealWindow, AppealWindowKind
from satisfaction.quarters import chain_zone
from satisfaction.selectors import appeal_window_days
from satisfaction.services import appeal_window_set
from tests.complaints.factories import make_complaint

GRADED = datetime(2026, 11, 2, 9, tzinfo=chain_zone())


@pytest.mark.django_db
def test_both_windows_start_at_seven_days(hq):
    assert dict(AppealWindow.objects.values_list("kind", "days")) == {
        "complaint": 7, "mystery_shopper": 7}
    assert complaint_services.appeal_deadline(Complaint(graded_at=GRADED)) == (
        GRADED + timedelta(days=7))
    assert visit_services.appeal_deadline(Visit(approved_at=GRADED)) == (
        GRADED + timedelta(days=7))


@pytest.mark.django_db
def test_each_app_reads_its_own_window(hq):
    appeal_window_set(kind=AppealWindowKind.COMPLAINT, days=10, user=hq)
    appeal_window_set(kind=AppealWindowKind.MYSTERY_SHOPPER, days=3, user=hq)
    assert complaint_services.appeal_deadline(Complaint(graded_at=GRADED)) == (
        GRADED + timedelta(days=10))
    assert visit_services.appeal_deadline(Visit(approved_at=GRADED)) == (
        GRADED + timedelta(days=3))
    assert complaint_services.appeal_deadline(Complaint(graded_at=None)) is None
    window = AppealWindow.objects.get(kind="complaint")
    assert window.updated_by == hq


@pytest.mark.django_db
def test_a_longer_complaint_window_lets_a_late_appeal_in(store, hq, store_manager):
    complaint = make_complaint(store)
    complaint = complaint_services.complaint_triage(
        complaint=complaint, user=hq, version=complaint.version, grade="B", substantiated=True,
        responsibility="own_store", owner=None)
    Complaint.objects.filter(pk=complaint.pk).update(
        graded_at=timezone.now() - timedelta(days=8))
    complaint.refresh_from_db()
    with pytest.raises(ApplicationError) as closed:
        complaint_services.appeal_file(complaint=complaint, user=store_manager, kind="grade",
                                       requested_grade="C", reason="监控显示已解释")
    assert closed.value.code == "appeal_window_closed"
    appeal_window_set(kind=AppealWindowKind.COMPLAINT, days=9, user=hq)
    appeal = complaint_services.appeal_file(complaint=complaint, user=store_manager,
                                            kind="grade", requested_grade="C",
                                            reason="监控显示已解释")
    assert appeal.pk is not None


@pytest.mark.django_db
def test_only_hq_sets_a_window_of_one_to_365_days(hq, store_manager):
    with pytest.raises(ApplicationError) as forbidden:
        appeal_window_set(kind=AppealWindowKind.COMPLAINT, days=10, user=store_manager)
    assert forbidden.value.status == 403
    for days, language, message in ((0, "en", "Between 1 and 365 days."),
                                    (366, "zh-hans", "须在 1 到 365 天之间。")):
        with translation.override(language), pytest.raises(ApplicationError) as invalid:
            appeal_window_set(kind=AppealWindowKind.COMPLAINT, days=days, user=hq)
        assert invalid.value.fields == {"days": [message]}
    with pytest.raises(ApplicationError) as unknown:
        appeal_window_set(kind="survey", days=5, user=hq)
    assert "kind" in unknown.value.fields
    assert appeal_window_days(kind=AppealWindowKind.COMPLAINT) == 7


@pytest.mark.django_db
def test_a_missing_row_reads_as_the_default_seven_days():
    AppealWindow.objects.all().delete()
    assert appeal_window_days(kind=AppealWindowKind.MYSTERY_SHOPPER) == 7


@pytest.mark.django_db
def test_hq_edits_the_windows_in_the_admin_through_the_service(login, hq):
    client = login(hq)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    window = AppealWindow.objects.get(kind="mystery_shopper")
    url = f"/admin/satisfaction/appealwindow/{window.pk}/change/"
    assert client.get(url).status_code == 200
    refused = client.post(url, {"days": 0})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["days"] == ["Between 1 and 365 days."]
    assert client.post(url, {"days": 14}).status_code == 302
    window.refresh_from_db()
    assert (window.days, window.updated_by) == (14, hq)
    changelist = client.post("/admin/satisfaction/appealwindow/", {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": window.pk,
        "form-0-days": 5, "_save": "Save"})
    assert changelist.status_code == 302
    window.refresh_from_db()
    assert window.days == 5
    assert client.post(f"/admin/satisfaction/appealwindow/{window.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert AppealWindow.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_migration_carries_the_complaint_policys_window_over(migrator):
    old = migrator.apply_initial_migration([("complaints", "0002_default_policy"),
                                            ("satisfaction", "0006_appeal_windows")])
    old.apps.get_model("complaints", "ComplaintPolicy").objects.filter(pk=1).update(
        appeal_window_days=10)
    new = migrator.apply_tested_migration(
        ("complaints", "0003_appeal_window_moved_backdate_days"))
    windows = new.apps.get_model("satisfaction", "AppealWindow").objects
    assert dict(windows.values_list("kind", "days")) == {"complaint": 10, "mystery_shopper": 7}
    assert new.apps.get_model("complaints", "ComplaintPolicy").objects.get(pk=1).backdate_days == 7
    migrator.reset()
