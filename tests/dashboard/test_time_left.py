"""The store dashboard's complaint time left is the complaints module's SLA clock: the same
figure and the same words ("还剩 5 小时" / "已超时 6 小时", ``complaints.sla.time_left``) as on
the complaint list and page, with pauses, opening hours, reopen cycles and HQ's warning
fraction (``complaints.selectors.sla_clocks``)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from complaints import services, sla
from complaints.models import ComplaintPolicy, StoreHours
from satisfaction.quarters import chain_zone
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db

NOON = datetime.combine(timezone.localdate(), time(12), tzinfo=chain_zone())
SPAN = re.compile(r'<span class="badge (\w+)" data-testid="time-left" data-state="(\w+)">'
                  r"([^<]*)</span>")


class Clock:
    """``timezone.now`` frozen at ``at`` (the services, the selectors and the pages read it)."""

    def __init__(self, monkeypatch, at: datetime) -> None:
        self.at = at
        monkeypatch.setattr(timezone, "now", lambda: self.at)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch, NOON)


def _shown(html: str, ticket: str) -> tuple[str, str, str]:
    """(badge, state, text) of the time-left badge that follows ``ticket`` on a page."""
    return SPAN.search(html, html.index(ticket)).groups()


def _everywhere(client, complaint) -> set[tuple[str, str, str]]:
    """The complaint's time left as the store page, the complaint list and its page show it."""
    pages = [client.get(reverse("dashboard:store", args=[complaint.store.code])),
             client.get("/complaints/?status=open"),
             client.get(f"/complaints/{complaint.pk}/")]
    return {_shown(page.content.decode(), complaint.ticket_no) for page in pages}


def _triage(complaint, hq, grade="C"):
    return services.complaint_triage(complaint=complaint, user=hq, version=complaint.version,
                                     grade=grade, substantiated=True,
                                     responsibility="own_store", owner=None)


def test_a_running_clock_shows_the_same_state_on_the_dashboard_and_the_complaint_pages(
        login, clock, store, store_manager, hq):
    # Ungraded: 24 h to resolve, warning from 75 % of it (18 h).
    calm = make_complaint(store, received_at=NOON - timedelta(hours=2))
    close = make_complaint(store, received_at=NOON - timedelta(hours=20, minutes=15))
    late = make_complaint(store, received_at=NOON - timedelta(hours=26, minutes=30))
    client = login(store_manager)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert _everywhere(client, calm) == {("good", "on_time", "22 h left")}
    assert _everywhere(client, close) == {("warn", "warning", "Due soon: 3 h 45 min left")}
    assert _everywhere(client, late) == {("bad", "overdue", "2 h 30 min overdue")}


def test_hqs_warning_fraction_decides_when_the_clock_warns(login, clock, store, store_manager):
    earlier = make_complaint(store, received_at=NOON - timedelta(hours=13))
    client = login(store_manager)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert _everywhere(client, earlier) == {("good", "on_time", "11 h left")}
    ComplaintPolicy.objects.filter(pk=1).update(warn_fraction=0.5)
    clock.at = NOON - timedelta(hours=13)
    later = make_complaint(store, received_at=NOON - timedelta(hours=13))
    clock.at = NOON
    assert _everywhere(client, later) == {("warn", "warning", "Due soon: 11 h left")}
    # A running clock keeps the deadlines it was given (the SLA sweep alerts on them): the
    # new fraction applies to it from its next change (grading, a pause, a reopen).
    assert _everywhere(client, earlier) == {("good", "on_time", "11 h left")}


def test_a_paused_complaint_keeps_its_time_left_while_waiting_for_the_customer(
        login, clock, store, store_manager, hq):
    complaint = make_complaint(store, received_at=NOON - timedelta(hours=20))
    complaint = _triage(complaint, hq)
    complaint = services.complaint_start(complaint=complaint, user=store_manager,
                                         version=complaint.version)
    services.complaint_wait_for_customer(complaint=complaint, user=store_manager,
                                         version=complaint.version)
    clock.at = NOON + timedelta(hours=10)  # the customer takes ten hours to answer
    client = login(store_manager)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    # 20 of 24 hours spent before the pause: 4 h left, and past the 75 % warning.
    assert _everywhere(client, complaint) == {
        ("warn", "warning", "Due soon: 4 h left (clock paused)")}
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    assert _everywhere(client, complaint) == {
        ("warn", "warning", "即将超时：还剩 4 小时（计时已暂停）")}


def test_a_reopened_complaint_runs_a_fresh_cycle(login, clock, store, store_manager, hq):
    received = NOON - timedelta(hours=30)
    clock.at = received
    complaint = _triage(make_complaint(store, received_at=received), hq)
    clock.at = received + timedelta(hours=5)
    complaint = services.complaint_resolve(complaint=complaint, user=store_manager,
                                           version=complaint.version, remedy="退款",
                                           customer_satisfied=False)
    clock.at = NOON - timedelta(hours=3)
    services.complaint_reopen(complaint=complaint, user=store_manager,
                              version=complaint.version, note="顾客再次来电")
    clock.at = NOON
    client = login(store_manager)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    # Received 30 h ago, but the second cycle started 3 h ago: 21 of its 24 h left.
    assert _everywhere(client, complaint) == {("good", "on_time", "21 h left")}


def test_the_business_hours_clock_counts_opening_hours_only(login, clock, store, store_manager):
    ComplaintPolicy.objects.filter(pk=1).update(business_hours_clock=True)
    StoreHours.objects.create(store=store, opens_at=time(8), closes_at=time(22))
    complaint = make_complaint(store, received_at=NOON - timedelta(hours=16))  # 20:00
    client = login(store_manager)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    # 2 h that evening and 4 h this morning spent: 18 working hours left (on the wall clock
    # the complaint is 16 h old, and its deadline is tomorrow at 16:00).
    assert _everywhere(client, complaint) == {("good", "on_time", "18 h left")}
    complaint.refresh_from_db()
    assert complaint.due_at == NOON + timedelta(hours=28)


def test_closed_and_resolved_complaints_have_no_clock_on_their_page(login, clock, store,
                                                                     store_manager, hq):
    complaint = _triage(make_complaint(store, received_at=NOON - timedelta(hours=2)), hq)
    services.complaint_resolve(complaint=complaint, user=store_manager,
                               version=complaint.version, remedy="退款",
                               customer_satisfied=True)
    page = login(store_manager).get(f"/complaints/{complaint.pk}/").content.decode()
    assert 'data-testid="time-left"' not in page


def test_the_store_page_reads_the_clocks_in_a_fixed_number_of_queries(
        login, clock, store, store_manager, hq, django_assert_max_num_queries,
        uncached_store_body):
    ComplaintPolicy.objects.filter(pk=1).update(business_hours_clock=True)
    StoreHours.objects.create(store=store, opens_at=time(8), closes_at=time(22))
    client = login(store_manager)
    url = reverse("dashboard:store", args=[store.code])
    make_complaint(store, received_at=NOON - timedelta(hours=1))
    client.get(url)  # warm the cached figures
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for hours in range(2, 14):
        complaint = make_complaint(store, received_at=NOON - timedelta(hours=hours))
        if hours % 3 == 0:
            _triage(complaint, hq, grade="B")
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert len(response.context["complaints"]) == 13
    assert all(c.clock is not None for c in response.context["complaints"])


def test_every_page_says_the_time_left_in_hours_in_both_languages(login, clock, store,
                                                                  store_manager):
    # Ungraded: 24 h to resolve. Received 30 h ago: 6 h overdue; 19 h ago: 5 h left.
    late = make_complaint(store, received_at=NOON - timedelta(hours=30))
    soon = make_complaint(store, received_at=NOON - timedelta(hours=19))
    client = login(store_manager)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    assert _everywhere(client, late) == {("bad", "overdue", "已超时 6 小时")}
    assert _everywhere(client, soon) == {("warn", "warning", "即将超时：还剩 5 小时")}
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert _everywhere(client, late) == {("bad", "overdue", "6 h overdue")}
    assert _everywhere(client, soon) == {("warn", "warning", "Due soon: 5 h left")}


def _state(left_hours: float, state: str = sla.ON_TIME) -> sla.ClockState:
    return sla.ClockState(state, left_hours * 3600, paused=False)


@pytest.mark.parametrize(("state", "english", "chinese", "signed"), [
    (_state(5), "5 h left", "还剩 5 小时", timedelta(hours=5)),
    (_state(3.75, sla.WARNING), "3 h 45 min left", "还剩 3 小时 45 分钟",
     timedelta(hours=3, minutes=45)),
    (_state(0.5), "30 min left", "还剩 30 分钟", timedelta(minutes=30)),
    (_state(-6, sla.OVERDUE), "6 h overdue", "已超时 6 小时", timedelta(hours=-6)),
    (_state(-26.5, sla.OVERDUE), "26 h 30 min overdue", "已超时 26 小时 30 分钟",
     timedelta(hours=-26.5)),
    # A clock that has just run out never reads "0 minutes overdue".
    (_state(0, sla.OVERDUE), "1 min overdue", "已超时 1 分钟", timedelta(0)),
])
def test_the_time_left_is_a_signed_duration_and_a_phrase(state, english, chinese, signed):
    with translation.override("en"):
        assert sla.time_left(state).phrase == english
    with translation.override("zh-hans"):
        left = sla.time_left(state)
    assert left.phrase == chinese
    assert left.left == signed
    assert left.overdue is (state.state == sla.OVERDUE)
