"""The monthly report (issue 18, part 5): the first working day, the send (once per month and
recipient, set-based, through the outbox), the printable page's scope, content and queries."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from complaints.models import ComplaintSpike, SpikeScope, Status
from dashboard import report_selectors, reports, services, tasks
from dashboard.models import ActionStatus, ImprovementAction, MonthlyReportSent, ReportScope
from dashboard.reports import Month
from satisfaction.errors import ApplicationError
from satisfaction.models import Delivery, Notification, Role
from satisfaction.quarters import Quarter, chain_zone
from scoring.models import RollupStatus
from tests.dashboard.factories import (
    make_campaign,
    make_complaint,
    make_rollup,
    make_store_score,
)
from tests.factories import UserFactory

MAY = Month(2026, 5)
AFTER_MAY = datetime(2026, 6, 1, 9, 0, tzinfo=chain_zone())


def _at(day: int, hour: int = 10, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=chain_zone())


# --- The calendar (no database) -------------------------------------------------------------------


@pytest.mark.parametrize(("month", "first"), [
    (Month(2027, 5), date(2027, 5, 3)),   # Saturday the 1st → Monday the 3rd
    (Month(2026, 11), date(2026, 11, 2)),  # Sunday the 1st → Monday the 2nd
    (Month(2026, 12), date(2026, 12, 1)),  # a Tuesday
    (Month(2026, 8), date(2026, 8, 3)),   # Saturday again
])
def test_the_first_working_day_is_the_first_monday_to_friday(month, first):
    assert reports.first_working_day(month) == first


@pytest.mark.parametrize(("today", "due"), [
    (date(2027, 5, 1), None),              # Saturday: not yet
    (date(2027, 5, 2), None),              # Sunday: not yet
    (date(2027, 5, 3), Month(2027, 4)),    # the first working day
    (date(2027, 5, 19), Month(2027, 4)),   # later in the month: a catch-up run
    (date(2027, 1, 1), Month(2026, 12)),   # a Friday, across the year
])
def test_the_previous_month_is_due_from_the_first_working_day(today, due):
    assert reports.report_month_due(today) == due


def test_a_month_reads_and_prints_as_year_dash_month_and_refuses_anything_else():
    assert str(Month.parse("2026-11")) == "2026-11"
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2027, 1).previous() == Month(2026, 12)
    assert Month(2026, 2).last_day == date(2026, 2, 28)
    for bad in ("2026-13", "2026-00", "2026-1", "26-11", "1999-05", "x"):
        with pytest.raises(reports.InvalidMonthError):
            Month.parse(bad)


def test_the_summary_says_the_value_its_change_and_the_months_figures():
    line = reports.SummaryLine(label="S0001 上海人民路店", quarter="2026Q2", provisional=True,
                               value=74.04, previous_quarter="2026Q1", previous_value=70.0,
                               complaints=4, on_time_rate=66.7, closed_loop_rate=25.0,
                               overdue_complaints=1, overdue_actions=2, actions_due=3)
    title, body = reports.summary_text(month=MAY, title_scope=line.label, lines=[line])
    assert "2026-05" in title
    assert "S0001" in title
    assert "74.0" in body
    assert "+4.0" in body
    assert "2026Q1" in body
    assert "66.7%" in body
    assert "25.0%" in body
    assert len(body.splitlines()) == 3


# --- A small chain ------------------------------------------------------------------------------


@pytest.fixture
def chain(store, sibling_store, other_store, store_manager_employee):
    """Q1 published, Q2 provisional; May's complaints: four at S0001 (one on time and
    resolved, one on time and closed satisfied, one late and closed unsatisfied, one new), one at
    S0002, one at S0011; one in June. An overdue complaint, actions overdue and due in June, a
    spike at S0001 in May."""
    q1 = make_rollup(Quarter(2026, 1), RollupStatus.PUBLISHED)
    q2 = make_rollup(Quarter(2026, 2), RollupStatus.PROVISIONAL)
    for shown, before, after in ((store, 70.0, 74.0), (sibling_store, 60.0, 55.0),
                                 (other_store, 80.0, 81.0)):
        make_store_score(q1, shown, before)
        make_store_score(q2, shown, after)
    make_complaint(store, received_at=_at(3), status=Status.RESOLVED, resolved_on_time=True)
    make_complaint(store, received_at=_at(4), status=Status.CLOSED, resolved_on_time=True,
                   customer_satisfied=True, closed_at=_at(6))
    make_complaint(store, received_at=_at(5), status=Status.CLOSED, resolved_on_time=False,
                   customer_satisfied=False, closed_at=_at(9))
    make_complaint(store, received_at=_at(20), status=Status.NEW)
    make_complaint(sibling_store, received_at=_at(21), status=Status.NEW)
    make_complaint(other_store, received_at=_at(22), status=Status.NEW)
    make_complaint(store, received_at=_at(2, month=6), status=Status.NEW)
    overdue = make_complaint(store, received_at=timezone.now() - timedelta(days=3),
                             status=Status.IN_PROGRESS,
                             due_at=timezone.now() - timedelta(days=2))
    ImprovementAction.objects.create(store=store, quarter=Quarter(2026, 2), title="价签复核",
                                     indicator_code="price", owner=store_manager_employee,
                                     deadline=date(2026, 5, 20))
    ImprovementAction.objects.create(store=store, quarter=Quarter(2026, 2), title="疗程回访",
                                     indicator_code="efficacy", owner=store_manager_employee,
                                     deadline=date(2026, 6, 15))
    ImprovementAction.objects.create(store=store, quarter=Quarter(2026, 2), title="已完成",
                                     indicator_code="efficacy", owner=store_manager_employee,
                                     deadline=date(2026, 5, 10), status=ActionStatus.DONE)
    ComplaintSpike.objects.create(scope=SpikeScope.STORE, store=store, category="price",
                                  started_on=date(2026, 5, 12), last_seen_on=date(2026, 5, 14),
                                  ended_on=date(2026, 5, 15), count=4, peak_count=4,
                                  baseline_per_week=0.2, threshold=3)
    return {"overdue": overdue}


def _report(user, **scope):
    return report_selectors.monthly_report(
        user=user, scope=report_selectors.report_scope(user=user, **scope), month=MAY,
        now=AFTER_MAY)


def test_a_store_managers_report_is_their_stores_one_pager_with_its_numbers(chain,
                                                                            store_manager):
    report = _report(store_manager)
    assert report.scope.kind == ReportScope.STORE
    assert report.scope.store.code == "S0001"
    q2 = next(row for row in report.trend if row.quarter == Quarter(2026, 2))
    q1 = next(row for row in report.trend if row.quarter == Quarter(2026, 1))
    assert (q1.value, q2.value, q2.provisional, q1.provisional) == (70.0, 74.0, True, False)
    assert q2.region == pytest.approx(64.5)  # (74 + 55) / 2
    assert q2.chain == pytest.approx(70.0)   # (74 + 55 + 81) / 3
    assert [row.value for row in report.trend[:2]] == [None, None]  # 2025Q3, 2025Q4
    assert report.up == []
    assert report.down == []
    assert report.complaints.total == 4
    assert report.complaints.on_time_rate == 66.7   # 2 of the 3 resolved
    assert report.complaints.closed_loop_rate == 25.0  # 1 closed satisfied of 4
    assert [s.store_id for s in report.spikes] == [chain["overdue"].store_id]
    assert report.overdue_complaint_count == 1
    assert report.overdue_complaints[0].clock is not None
    assert [a.title for a in report.overdue_actions] == ["价签复核"]
    assert [a.title for a in report.actions_due] == ["疗程回访"]


def test_a_region_report_has_the_region_value_its_movers_and_complaints(chain, region_manager):
    report = _report(region_manager)
    assert report.scope.kind == ReportScope.REGION
    assert report.scope.region.code == "EAST"
    q2 = next(row for row in report.trend if row.quarter == Quarter(2026, 2))
    assert q2.value == pytest.approx(64.5)
    assert [(s.store.code, s.delta) for s in report.up] == [("S0001", 4.0)]
    assert [(s.store.code, s.delta) for s in report.down] == [("S0002", -5.0)]
    assert report.complaints.total == 5
    assert report.complaints.closed_loop_rate == 20.0


def test_hqs_report_covers_the_chain_and_may_pick_a_region(chain, hq):
    report = _report(hq)
    assert report.scope.kind == ReportScope.CHAIN
    assert report.complaints.total == 6
    assert {r.key: r.total for r in report.complaint_rows} == {"EAST": 5, "SOUTH": 1}
    assert [s.store.code for s in report.up] == ["S0001", "S0011"]
    south = _report(hq, region_code="SOUTH")
    assert south.complaints.total == 1
    assert south.spikes == []


def _answered_campaign(stores, per_store: int):
    """A Q2 campaign asking overall satisfaction, with ``per_store`` counted responses per
    store: overall follows price (a known driver), the other indicators vary."""
    from surveys.models import Answer, Indicator, Response

    rng = random.Random(18)
    campaign = make_campaign(Quarter(2026, 2), ask_expectation=False)
    campaign.ask_overall = True
    campaign.save(update_fields=["ask_overall"])
    indicators = list(Indicator.objects.filter(is_active=True))
    responses = Response.objects.bulk_create([
        Response(campaign=campaign, store=store, channel="paper",
                 overall=rng.randint(1, 5)) for store in stores for _i in range(per_store)])
    Answer.objects.bulk_create([
        Answer(response=response, indicator=indicator,
               rating=response.overall if indicator.code == "price"
               else rng.randint(1, 5))
        for response in responses for indicator in indicators])
    return campaign


def test_the_report_shows_the_drivers_of_its_scope_and_none_from_a_handful(
        chain, store, sibling_store, region_manager, store_manager):
    campaign = _answered_campaign([store, sibling_store], per_store=60)
    region = _report(region_manager)
    assert region.drivers_campaign == campaign
    assert region.drivers.enough
    assert region.drivers.n == 120
    price = next(row for row in region.driver_rows if row.item.code == "price")
    others = [row.item.importance for row in region.driver_rows if row.item.code != "price"]
    assert price.item.importance > max(others)
    assert price.kano
    one_store = _report(store_manager)  # 60 answers: below the analysis' minimum
    assert not one_store.drivers.enough
    assert one_store.driver_rows == []
    assert one_store.drivers.advice  # it says why


def test_the_page_prints_the_drivers_table_or_why_there_is_none(chain, store, sibling_store,
                                                                login, region_manager,
                                                                store_manager):
    _answered_campaign([store, sibling_store], per_store=60)
    page = login(region_manager).get(f"/reports/monthly/{MAY}/").content.decode()
    assert 'data-testid="drivers-table"' in page
    page = login(store_manager).get(f"/reports/monthly/{MAY}/").content.decode()
    assert 'data-testid="drivers-table"' not in page
    assert 'data-testid="drivers-advice"' in page


# --- Sending ------------------------------------------------------------------------------------


def _sent_counts() -> tuple[int, int, int]:
    return (MonthlyReportSent.objects.count(),
            Notification.objects.filter(kind=services.REPORT_KIND).count(),
            Delivery.objects.filter(kind=services.REPORT_KIND).count())


def test_two_runs_send_each_report_once(chain, emails, hq, region_manager, store_manager,
                                        other_store_manager, clerk, hr):
    first = services.monthly_reports_send(month=MAY, now=AFTER_MAY)
    assert first == 4  # HQ, EAST's manager, S0001's and S0011's managers; not clerk or HR
    # Four in-app notifications; e-mails to the three with an address.
    assert _sent_counts() == (4, 4, 3)
    assert services.monthly_reports_send(month=MAY, now=AFTER_MAY + timedelta(days=1)) == 0
    assert _sent_counts() == (4, 4, 3)
    scopes = dict(MonthlyReportSent.objects.values_list("recipient__username", "scope"))
    assert scopes == {"hq": "chain", "region1": "region", "store1": "store",
                      "store11": "store"}
    note = Notification.objects.get(user=store_manager, kind=services.REPORT_KIND)
    assert note.url == "/reports/monthly/2026-05/"
    assert "S0001" in note.title
    assert "2026-05" in note.title
    assert "74.0" in note.body
    assert "25.0%" in note.body
    mail = Delivery.objects.get(user=region_manager, kind=services.REPORT_KIND)
    assert mail.address == "region1@example.com"
    assert "64.5" in mail.body


def test_a_manager_appointed_later_gets_the_month_on_the_next_run(chain, store_manager):
    assert services.monthly_reports_send(month=MAY, now=AFTER_MAY) == 1
    UserFactory(username="region9", role=Role.REGIONAL_MANAGER,
                regions=[store_manager.stores.get().region])
    assert services.monthly_reports_send(month=MAY, now=AFTER_MAY) == 1
    assert _sent_counts()[:2] == (2, 2)


def test_a_month_not_over_is_not_sent(chain, store_manager):
    with pytest.raises(ApplicationError):
        services.monthly_reports_send(month=MAY, now=_at(31, 23))
    assert _sent_counts() == (0, 0, 0)


def test_the_daily_task_sends_only_from_the_first_working_day(chain, store_manager,
                                                               monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: AFTER_MAY)  # Monday 1 June, 09:00
    assert tasks.send_monthly_reports.apply().get() == 1
    assert MonthlyReportSent.objects.get().month == date(2026, 5, 1)
    monkeypatch.setattr(timezone, "now", lambda: AFTER_MAY + timedelta(days=1))
    assert tasks.send_monthly_reports.apply().get() == 0  # the next morning's run
    saturday = datetime(2026, 8, 1, 7, tzinfo=chain_zone())
    monkeypatch.setattr(timezone, "now", lambda: saturday)  # July is not due yet
    assert tasks.send_monthly_reports.apply().get() == 0
    monkeypatch.setattr(timezone, "now", lambda: saturday + timedelta(days=2))  # Monday
    assert tasks.send_monthly_reports.apply().get() == 1
    assert MonthlyReportSent.objects.filter(month=date(2026, 7, 1)).count() == 1


def test_the_send_reads_a_fixed_number_of_queries_whatever_the_recipients(
        chain, store, other_store, django_assert_max_num_queries):
    for index in range(30):
        UserFactory(username=f"sm{index}", role=Role.STORE_MANAGER,
                    stores=[store if index % 2 else other_store], email=f"sm{index}@x.cn")
    # Three reads of the recipients, the records' INSERT, about a dozen grouped reads of the
    # figures, the notifications' and the outbox's INSERTs: the same for 30 or 15,000.
    with django_assert_max_num_queries(26):
        assert services.monthly_reports_send(month=MAY, now=AFTER_MAY) == 30
    assert Delivery.objects.filter(kind=services.REPORT_KIND).count() == 30


# --- The page -----------------------------------------------------------------------------------


def test_each_manager_reads_their_own_report(chain, login, hq, region_manager, store_manager):
    for user, scope in ((hq, "全连锁"), (region_manager, "华东区"), (store_manager, "S0001")):
        response = login(user).get(f"/reports/monthly/{MAY}/")
        assert response.status_code == 200
        assert scope in response.content.decode() or user is hq
    page = login(store_manager).get(f"/reports/monthly/{MAY}/").content.decode()
    assert "S0001 上海人民路店" in page
    assert 'data-testid="complaint-count">4<' in page


def test_another_regions_or_stores_report_is_a_404(chain, login, region_manager, store_manager,
                                                    other_store_manager):
    assert login(region_manager).get(f"/reports/monthly/{MAY}/?region=SOUTH").status_code == 404
    assert login(region_manager).get(f"/reports/monthly/{MAY}/?store=S0011").status_code == 404
    assert login(other_store_manager).get(
        f"/reports/monthly/{MAY}/?store=S0001").status_code == 404
    assert login(store_manager).get(f"/reports/monthly/{MAY}/?region=EAST").status_code == 404
    assert login(region_manager).get(f"/reports/monthly/{MAY}/?store=S0002").status_code == 200


def test_a_clerk_and_hr_get_no_report_and_a_bad_month_is_a_404(chain, login, clerk, hr,
                                                                store_manager):
    assert login(clerk).get(f"/reports/monthly/{MAY}/").status_code == 403
    assert login(hr).get(f"/reports/monthly/{MAY}/").status_code == 403
    for bad in ("2026-13", "May", "2999-01"):
        assert login(store_manager).get(f"/reports/monthly/{bad}/").status_code == 404


def test_the_list_of_months_marks_the_one_sent(chain, login, store_manager):
    last_month = Month.containing(timezone.localdate()).previous()
    services.monthly_reports_send(month=last_month, now=timezone.now())
    page = login(store_manager).get("/reports/monthly/").content.decode()
    assert f"/reports/monthly/{last_month}/" in page
    assert timezone.localtime().strftime("%Y-%m-%d") in page  # sent just now


@pytest.mark.parametrize("who", ["hq", "region_manager", "store_manager"])
def test_the_page_reads_a_bounded_number_of_queries(who, chain, request, login, sibling_store,
                                                     django_assert_max_num_queries):
    user = request.getfixturevalue(who)
    _answered_campaign([request.getfixturevalue("store"), sibling_store], per_store=60)
    client = login(user)
    client.get(f"/reports/monthly/{MAY}/")  # the revision figures are cached per revision
    with django_assert_max_num_queries(30):
        assert client.get(f"/reports/monthly/{MAY}/").status_code == 200


def test_the_demo_sends_last_months_reports_to_the_demo_logins(db, login):
    from dashboard import demo
    from satisfaction.demo import build_chain

    today = timezone.localdate()
    chain = build_chain(seed=1, password="pw-for-tests-2026", today=today)
    line = demo.seed(chain=chain)
    last_month = Month.containing(today).previous()
    assert line.endswith(f"7 monthly reports of {last_month} sent")  # hq, region1-3, store1-3
    sent = set(MonthlyReportSent.objects.values_list("recipient__username", flat=True))
    assert sent == {"hq", "region1", "region2", "region3", "store1", "store2", "store3"}
    page = login(chain.users["store1"]).get(f"/reports/monthly/{last_month}/")
    assert page.status_code == 200
    assert chain.stores[0].code in page.content.decode()
