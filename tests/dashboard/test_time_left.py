"""The store dashboard's complaint time left is the complaints module's SLA clock: the same
figure as on the complaint list and page, with pauses, opening hours, reopen cycles and HQ's
warning fraction (``complaints.selectors.sla_clocks``)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import services
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
    assert _everywhere(client, calm) == {("good", "on_time", "On time: 22:00 left")}
    assert _everywhere(client, close) == {("warn", "warning", "Warning: 3:45 left")}
    assert _everywhere(client, late) == {("bad", "overdue", "Overdue by 2:30")}


def test_hqs_warning_fraction_decides_when_the_clock_warns(login, clock, store, store_manager):
    earlier = make_complaint(store, received_at=NOON - timedelta(hours=13))
    client = login(store_manager)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert _everywhere(client, earlier) == {("good", "on_time", "On time: 11:00 left")}
    ComplaintPolicy.objects.filter(pk=1).update(warn_fraction=0.5)
    clock.at = NOON - timedelta(hours=13)
    later = make_complaint(store, received_at=NOON - timedelta(hours=13))
    clock.at = NOON
    assert _everywhere(client, later) == {("warn", "warning", "Warning: 11:00 left")}
    # A running clock keeps the deadlines it was given (the SLA sweep alerts on them): the
    # new fraction applies to it from its next change (grading, a pause, a reopen).
    assert _everywhere(client, earlier) == {("good", "on_time", "On time: 11:00 left")}


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
        ("warn", "warning", "Warning: 4:00 left (clock paused)")}
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    assert _everywhere(client, complaint) == {
        ("warn", "warning", "即将超时：剩余 4:00（计时已暂停）")}


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
    assert _everywhere(client, complaint) == {("good", "on_time", "On time: 21:00 left")}


def test_the_business_hours_clock_counts_opening_hours_only(login, clock, store, store_manager):
    ComplaintPolicy.objects.filter(pk=1).update(business_hours_clock=True)
    StoreHours.objects.create(store=store, opens_at=time(8), closes_at=time(22))
    complaint = make_complaint(store, received_at=NOON - timedelta(hours=16))  # 20:00
    client = login(store_manager)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    # 2 h that evening and 4 h this morning spent: 18 working hours left (on the wall clock
    # the complaint is 16 h old, and its deadline is tomorrow at 16:00).
    assert _everywhere(client, complaint) == {("good", "on_time", "On time: 18:00 left")}
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
        login, clock, store, store_manager, hq, django_assert_max_num_queries):
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
