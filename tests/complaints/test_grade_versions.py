"""Grades HQ can define (issue 17, part 6): each change of a grade's policy is the grade's next
version, and a complaint keeps the version it was graded under: its deadline, first response,
escalation interval, 8D requirement and recurrence checks never follow a later change."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from complaints import selectors, services
from complaints.forms import grade_choices
from complaints.models import Appeal, Complaint, GradePolicy, Responsibility, SlaAlert
from satisfaction.errors import ApplicationError
from tests.complaints.factories import make_complaint
from tests.concurrency import run_concurrently

POLICIES = "/setup/complaints/"


def update(user, grade: str, **changes) -> GradePolicy:
    """HQ saves ``grade`` with its current values and ``changes``."""
    current = selectors.grade_policies()[grade]
    values = {name: getattr(current, name) for name in (
        "definition_zh", "definition_en", "examples_zh", "examples_en", "resolution_hours",
        "first_response_hours", "escalation_interval_hours", "requires_8d", "recurrence_days")}
    values.update(changes)
    return services.grade_policy_update(user=user, grade=grade, **values)


def graded(store, hq, letter: str, **complaint) -> Complaint:
    made = make_complaint(store, **complaint)
    return services.complaint_triage(complaint=made, user=hq, version=made.version, grade=letter,
                                     substantiated=True, responsibility=Responsibility.OWN_STORE,
                                     owner=None)


def hours_to_due(complaint: Complaint) -> float:
    return (complaint.due_at - complaint.received_at) / timedelta(hours=1)


# --- A complaint keeps its version --------------------------------------------------------------


def test_changing_as_hours_leaves_a_complaint_graded_a_as_it_was_and_the_next_gets_the_new(
        store, hq, store_manager):
    earlier = graded(store, hq, "A")
    assert (str(earlier.grade_policy), round(hours_to_due(earlier))) == ("A v1", 24)
    assert services.eight_d_required(earlier)

    version = update(hq, "A", resolution_hours=12, requires_8d=False)

    assert (version.version, version.created_by) == (2, hq)
    assert GradePolicy.objects.get(grade="A", version=1).resolution_hours == 24  # never edited
    earlier = Complaint.objects.get(pk=earlier.pk)
    # Its clock changes (start, wait, resume): still on its own 24 h, still needs an 8D report.
    earlier = services.complaint_start(complaint=earlier, user=store_manager,
                                       version=earlier.version)
    earlier = services.complaint_wait_for_customer(complaint=earlier, user=store_manager,
                                                   version=earlier.version)
    earlier = services.complaint_resume(complaint=earlier, user=store_manager,
                                        version=earlier.version)
    assert earlier.due_at - timezone.now() == pytest.approx(timedelta(hours=24),
                                                            abs=timedelta(seconds=30))
    assert services.eight_d_required(earlier)
    clock = selectors.sla_clocks(complaints=[earlier])[earlier.pk]
    assert clock.left_seconds == pytest.approx(24 * 3600, abs=30)

    later = graded(store, hq, "A")
    assert (str(later.grade_policy), round(hours_to_due(later))) == ("A v2", 12)
    assert not services.eight_d_required(later)
    assert selectors.policy_of(later).resolution_hours == 12


def test_a_regrading_to_another_grade_picks_that_grades_current_version(store, hq):
    update(hq, "C", resolution_hours=72)
    complaint = graded(store, hq, "A")
    regraded = services.complaint_triage(
        complaint=complaint, user=hq, version=complaint.version, grade="C", substantiated=True,
        responsibility=Responsibility.OWN_STORE, owner=None)
    assert (str(regraded.grade_policy), round(hours_to_due(regraded))) == ("C v2", 72)


def test_an_appeal_that_changes_the_grade_picks_the_current_version_of_the_new_grade(
        store, hq, store_manager):
    complaint = graded(store, hq, "A")
    update(hq, "C", resolution_hours=48, escalation_interval_hours=8)
    services.appeal_file(complaint=complaint, user=store_manager, kind="grade",
                         requested_grade="C", reason="未涉及用药安全")
    services.appeal_decide(appeal=Appeal.objects.get(), user=hq, accept=True, reason="同意")
    complaint = Complaint.objects.get(pk=complaint.pk)
    assert (complaint.grade, str(complaint.grade_policy)) == ("C", "C v2")
    # Its clock was still running: it now runs on C v2's 48 hours.
    assert round(hours_to_due(complaint)) == 48


def test_an_ungraded_complaint_runs_on_the_ungraded_policy(store, hq):
    complaint = make_complaint(store)
    rules = selectors.policy_of(complaint)
    assert (rules.resolution_hours, rules.first_response_hours, rules.requires_8d) == (
        24, None, False)
    assert complaint.grade_policy is None


def test_a_grade_without_a_row_is_graded_under_its_defaults_written_as_version_1(store, hq):
    GradePolicy.objects.filter(grade="B").delete()
    assert selectors.grade_policies()["B"].pk is None
    complaint = graded(store, hq, "B")
    assert (str(complaint.grade_policy), complaint.grade_policy.resolution_hours,
            complaint.grade_policy.requires_8d) == ("B v1", 24, True)


def test_the_current_versions_cost_one_query(hq, django_assert_num_queries):
    update(hq, "A", resolution_hours=12)
    update(hq, "A", resolution_hours=10)
    with django_assert_num_queries(1):
        current = selectors.grade_policies()
    assert [(g, p.version, p.resolution_hours) for g, p in sorted(current.items())] == [
        ("A", 3, 10), ("B", 1, 24), ("C", 1, 24)]


# --- Saving a version ---------------------------------------------------------------------------


def test_saving_without_a_change_writes_no_version(hq):
    update(hq, "B")
    assert GradePolicy.objects.filter(grade="B").count() == 1
    assert GradePolicy.history.filter(grade="B").count() == 1  # the baseline only


def test_examples_and_recurrence_days_are_saved_with_the_version_and_shown_when_grading(hq):
    version = update(hq, "A", examples_zh="发错药；药品过期", examples_en="Wrong drug; expired",
                     recurrence_days=[7, 30, 90])
    assert (version.version, version.recurrence_days) == (2, [7, 30, 90])
    with translation.override("en"):
        assert "Examples: Wrong drug; expired" in dict(grade_choices())["A"]
    with translation.override("zh-hans"):
        assert "发错药；药品过期" in dict(grade_choices())["A"]


@pytest.mark.parametrize("days", [[], [0], [366], [30, 30], [60, 30], [1, 2, 3, 4, 5, 6],
                                  [1.5], [True]])
def test_recurrence_days_must_be_1_to_5_distinct_ascending_days_up_to_a_year(hq, days):
    with pytest.raises(ApplicationError) as error:
        update(hq, "B", recurrence_days=days)
    assert list(error.value.fields) == ["recurrence_days"]
    assert GradePolicy.objects.filter(grade="B").count() == 1


def test_the_page_takes_the_days_as_typed_and_refuses_words(login, hq):
    client = login(hq)
    current = selectors.grade_policies()["C"]
    form = {"form": "C", "grade-C-definition_zh": current.definition_zh,
            "grade-C-definition_en": current.definition_en, "grade-C-resolution_hours": 24,
            "grade-C-escalation_interval_hours": 4}
    bad = client.post(POLICIES, {**form, "grade-C-recurrence_days": "30, sixty"},
                      HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400
    errors = next(g["form"] for g in bad.context["grades"] if g["grade"] == "C").errors
    assert "Enter whole days separated by commas" in str(errors["recurrence_days"])
    unsorted = client.post(POLICIES, {**form, "grade-C-recurrence_days": "90, 30"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert unsorted.status_code == 400
    good = client.post(POLICIES, {**form, "grade-C-recurrence_days": "14，45 90"})
    assert good.status_code == 302
    assert selectors.grade_policies()["C"].recurrence_days == [14, 45, 90]
    assert 'value="14, 45, 90"' in client.get(POLICIES).content.decode()


def test_only_hq_writes_a_version(store_manager):
    with pytest.raises(ApplicationError) as error:
        update(store_manager, "A", resolution_hours=1)
    assert error.value.status == 403


def test_two_updates_write_versions_2_and_3(hq):
    assert [update(hq, "B", resolution_hours=hours).version for hours in (36, 48)] == [2, 3]


def test_a_version_number_clash_is_a_conflict_error_not_a_500(login, hq):
    with mock.patch.object(GradePolicy, "save", side_effect=IntegrityError("duplicate")), \
            pytest.raises(ApplicationError) as error:
        update(hq, "B", resolution_hours=36)
    assert (error.value.code, error.value.status) == ("conflict", 409)
    current = selectors.grade_policies()["B"]
    with mock.patch.object(GradePolicy, "save", side_effect=IntegrityError("duplicate")):
        response = login(hq).post(POLICIES, {
            "form": "B", "grade-B-definition_zh": current.definition_zh,
            "grade-B-definition_en": current.definition_en, "grade-B-resolution_hours": 36,
            "grade-B-escalation_interval_hours": 4, "grade-B-requires_8d": "on",
            "grade-B-recurrence_days": "30, 60, 90"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Someone else saved grade B" in response.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_hq_users_saving_at_once_write_versions_2_and_3(hq):
    outcomes = run_concurrently(lambda: update(hq, "B", resolution_hours=36),
                                lambda: update(hq, "B", resolution_hours=48))
    assert sorted(o.get().version for o in outcomes) == [2, 3]
    assert sorted(GradePolicy.objects.filter(grade="B").values_list("version", flat=True)) == [
        1, 2, 3]


# --- The SLA sweep --------------------------------------------------------------------------


def test_the_sweep_escalates_each_complaint_at_its_own_versions_interval(store, hq):
    received = timezone.now() - timedelta(hours=1)
    old = graded(store, hq, "B", received_at=received)  # B v1: every 4 h
    update(hq, "B", escalation_interval_hours=1)
    new = graded(store, hq, "B", received_at=received)  # B v2: every hour
    due = old.due_at
    assert new.due_at == pytest.approx(due, abs=timedelta(seconds=5))
    with CaptureQueriesContext(connection) as queries:
        services.sla_sweep(now=due + timedelta(hours=2, minutes=1), deliver=False)
    levels = {pk: max(SlaAlert.objects.filter(complaint_id=pk, kind="escalate")
                      .values_list("level", flat=True)) for pk in (old.pk, new.pk)}
    assert levels == {old.pk: 1, new.pk: 3}
    assert Complaint.objects.get(pk=old.pk).escalation_level == 1
    policy_reads = [q for q in queries.captured_queries
                    if 'FROM "complaints_gradepolicy"' in q["sql"]]
    assert len(policy_reads) == 1  # the current versions and the rows' versions, at once


# --- The setup page and the complaint page ------------------------------------------------------


def test_the_version_list_counts_the_complaints_graded_under_each_version(
        login, hq, store, django_assert_max_num_queries):
    graded(store, hq, "B")
    graded(store, hq, "B")
    update(hq, "B", resolution_hours=36)
    graded(store, hq, "B")
    assert [(v.version, v.graded, v.created_by) for v in
            selectors.grade_policy_versions(grade="B")] == [(2, 1, hq), (1, 2, None)]
    client = login(hq)
    with django_assert_max_num_queries(16):
        page = client.get(POLICIES, HTTP_ACCEPT_LANGUAGE="en")
    assert page.context["grades"][1]["versions"][0].graded == 1
    html = " ".join(page.content.decode().split())
    assert "<tr><td>v2</td><td>" in html
    assert '<td>hq</td><td class="num">1</td>' in html
    assert '<td>–</td><td class="num">2</td>' in html


def test_the_complaint_page_shows_the_version_it_was_graded_under(login, hq, store):
    update(hq, "A", resolution_hours=12)
    update(hq, "A", resolution_hours=10)
    complaint = graded(store, hq, "A")
    html = login(hq).get(f"/complaints/{complaint.pk}/").content.decode()
    assert 'data-testid="grade-version"' in html
    assert ">A v3</dd>" in html


def test_the_history_reads_a_new_version_as_the_grades_change_with_the_days(hq):
    update(hq, "C", recurrence_days=[7, 30])
    with translation.override("en"):
        change = selectors.complaint_policy_changes()[0]
    assert (change.user, change.subject, change.action) == ("hq", "Grade C v2", "Changed")
    assert [(f.field, f.old, f.new) for f in change.fields] == [
        ("Recurrence checks (days after closing)", "30, 60, 90", "7, 30")]
