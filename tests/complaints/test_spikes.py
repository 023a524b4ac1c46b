"""Early warning end to end: the daily spike sweep, its alerts through the outbox, and the
spikes on the complaint figures page and API."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from functools import partial

import pytest
from django.utils import timezone

from complaints import tasks
from complaints.models import Category, ComplaintSpike, SpikeScope
from complaints.services import SPIKE_KIND, complaint_spike_sweep
from satisfaction.models import Delivery, DeliveryChannel, Notification, Role
from satisfaction.quarters import chain_zone
from tests.complaints.factories import make_complaint
from tests.concurrency import run_concurrently
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

PHONES = itertools.count(13900000000)


def chain_today() -> date:
    return timezone.localtime(timezone.now(), chain_zone()).date()


def wave(store, count: int, day: date, category: str = Category.PRICE) -> None:
    """``count`` complaints at ``store`` on ``day`` (chain time), each from another customer."""
    moment = datetime.combine(day, time(11), tzinfo=chain_zone())
    for i in range(count):
        make_complaint(store, category=category, received_at=moment + timedelta(minutes=i),
                       customer_phone=str(next(PHONES)))


def spike_notes():
    return Notification.objects.filter(kind=SPIKE_KIND)


@pytest.fixture
def people(hq, region_manager, store_manager, emails, settings):
    settings.NOTIFICATION_WEBHOOK_URL = "https://robot.example.com/hook"
    return {"hq": hq, "region_manager": region_manager, "store_manager": store_manager}


def test_a_spike_is_detected_once_and_not_alerted_again_the_next_day(people, store):
    today = chain_today()
    wave(store, 3, today - timedelta(days=2))
    first = complaint_spike_sweep(today=today)
    assert (first.window_complaints, first.store_spikes, first.region_spikes) == (3, 1, 0)
    assert (first.started, first.alerted) == (1, 1)
    spike = ComplaintSpike.objects.get()
    assert (spike.scope, spike.store, spike.region, spike.category) == (
        SpikeScope.STORE, store, None, Category.PRICE)
    assert (spike.count, spike.peak_count, spike.baseline_per_week, spike.threshold) == (
        3, 3, 0.0, 3)
    assert (spike.started_on, spike.last_seen_on, spike.ended_on) == (today, today, None)
    assert spike.alerted_at is not None
    # The region's manager and HQ, in the app and by e-mail (the outbox); not the store.
    assert sorted(spike_notes().values_list("user__username", flat=True)) == ["hq", "region1"]
    assert sorted(Delivery.objects.filter(kind=SPIKE_KIND).values_list("channel", "address")) \
        == [(DeliveryChannel.EMAIL, "hq@example.com"),
            (DeliveryChannel.EMAIL, "region1@example.com")]  # a store's spike: no webhook
    note = spike_notes().first()
    assert "S0001" in note.title
    assert note.url == "/complaints/figures/"

    again = complaint_spike_sweep(today=today)
    assert (again.started, again.continuing, again.alerted) == (0, 1, 0)
    wave(store, 1, today - timedelta(days=1))
    next_day = complaint_spike_sweep(today=today + timedelta(days=1))
    assert (next_day.started, next_day.continuing, next_day.alerted) == (0, 1, 0)
    spike.refresh_from_db()
    assert (spike.count, spike.peak_count, spike.last_seen_on) == (4, 4, today + timedelta(1))
    assert ComplaintSpike.objects.count() == 1
    assert spike_notes().count() == 2
    assert Delivery.objects.filter(kind=SPIKE_KIND).count() == 2


def test_a_spike_ends_and_a_later_one_is_a_new_spike_that_alerts_again(people, store):
    today = chain_today()
    wave(store, 3, today - timedelta(days=40))
    assert complaint_spike_sweep(today=today - timedelta(days=37)).alerted == 1
    ended = complaint_spike_sweep(today=today - timedelta(days=30))
    assert (ended.ended, ended.alerted) == (1, 0)
    old = ComplaintSpike.objects.get()
    assert old.ended_on == today - timedelta(days=30)
    # The old wave is in the baseline now (3 in 8 weeks: alert at 4); a new wave of 4.
    wave(store, 4, today - timedelta(days=3))
    new = complaint_spike_sweep(today=today)
    assert (new.started, new.alerted) == (1, 1)
    latest = ComplaintSpike.objects.exclude(pk=old.pk).get()
    assert (latest.count, latest.baseline_per_week, latest.threshold) == (4, 0.375, 4)
    assert latest.ended_on is None
    assert latest.started_on == today
    assert spike_notes().filter(user__username="region1").count() == 2


def test_a_region_spike_from_stores_each_below_their_own_threshold_goes_to_the_webhook(
        people, store, sibling_store, other_store):
    today = chain_today()
    third = StoreFactory(code="S0003", region=store.region)
    wave(store, 2, today - timedelta(days=2), Category.SERVICE_ATTITUDE)
    wave(sibling_store, 2, today - timedelta(days=3), Category.SERVICE_ATTITUDE)
    wave(third, 1, today - timedelta(days=4), Category.SERVICE_ATTITUDE)
    wave(other_store, 2, today - timedelta(days=2), Category.SERVICE_ATTITUDE)
    other_manager = UserFactory(username="region2", role=Role.REGIONAL_MANAGER,
                                regions=[other_store.region])
    result = complaint_spike_sweep(today=today)
    assert (result.store_spikes, result.region_spikes, result.alerted) == (0, 1, 1)
    spike = ComplaintSpike.objects.get()
    assert (spike.scope, spike.region, spike.store, spike.count) == (
        SpikeScope.REGION, store.region, None, 5)
    assert sorted(spike_notes().values_list("user__username", flat=True)) == ["hq", "region1"]
    assert not spike_notes().filter(user=other_manager).exists()
    webhook = Delivery.objects.get(kind=SPIKE_KIND, channel=DeliveryChannel.WEBHOOK)
    assert webhook.address == "https://robot.example.com/hook"
    assert store.region.name in webhook.title


def test_one_stores_wave_is_its_own_spike_and_not_its_regions_too(people, store, sibling_store):
    today = chain_today()
    wave(store, 4, today - timedelta(days=2))
    wave(sibling_store, 1, today - timedelta(days=2))
    result = complaint_spike_sweep(today=today)
    assert (result.store_spikes, result.region_spikes, result.alerted) == (1, 0, 1)


def test_a_steady_baseline_is_no_spike(people, store):
    today = chain_today()
    for week in range(2, 9):  # 3 price complaints a week, for weeks
        wave(store, 3, today - timedelta(days=7 * week + 1))
    wave(store, 4, today - timedelta(days=2))
    result = complaint_spike_sweep(today=today)
    assert (result.baseline_complaints, result.store_spikes, result.region_spikes) == (
        21, 0, 0)


def test_the_sweep_takes_a_fixed_number_of_queries(people, store, sibling_store,
                                                   django_assert_max_num_queries):
    today = chain_today()
    wave(store, 3, today - timedelta(days=2))
    wave(sibling_store, 3, today - timedelta(days=2), Category.ENVIRONMENT)
    with django_assert_max_num_queries(18):
        assert complaint_spike_sweep(today=today).alerted == 2
    with django_assert_max_num_queries(8):
        assert complaint_spike_sweep(today=today).alerted == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_record_and_alert_each_spike_once(people, store, sibling_store):
    today = chain_today()
    wave(store, 3, today - timedelta(days=2))
    wave(sibling_store, 4, today - timedelta(days=3), Category.ENVIRONMENT)
    outcomes = run_concurrently(partial(complaint_spike_sweep, today=today), times=3)
    assert sum(outcome.get().alerted for outcome in outcomes) == 2
    assert ComplaintSpike.objects.count() == 2
    assert spike_notes().filter(user__username="region1").count() == 2
    assert Delivery.objects.filter(kind=SPIKE_KIND).count() == 4


def test_the_celery_task_runs_the_sweep_and_is_scheduled_daily(people, store, settings):
    wave(store, 3, chain_today() - timedelta(days=1))
    assert tasks.spike_sweep.apply().get()["alerted"] == 1
    assert tasks.spike_sweep.apply().get()["alerted"] == 0
    entry = settings.CELERY_BEAT_SCHEDULE["complaints-spike-sweep"]
    assert entry["task"] == "complaints.tasks.spike_sweep"
    assert entry["schedule"].hour == {6}
    assert entry["schedule"].minute == {30}


# --- The figures page and API ----------------------------------------------------------------

@pytest.fixture
def spikes(people, store, sibling_store, other_store):
    """An open store spike at S0001, a region spike in EAST (S0002 and a third store), an
    ended store spike at S0011 (another region)."""
    today = chain_today()
    third = StoreFactory(code="S0003", region=store.region)
    wave(store, 3, today - timedelta(days=2))
    wave(sibling_store, 2, today - timedelta(days=2), Category.ENVIRONMENT)
    wave(third, 2, today - timedelta(days=2), Category.ENVIRONMENT)
    wave(other_store, 3, today - timedelta(days=8), Category.ASSORTMENT)
    complaint_spike_sweep(today=today - timedelta(days=1))
    complaint_spike_sweep(today=today)
    return {s.scope + ":" + (s.store.code if s.store else s.region.code): s
            for s in ComplaintSpike.objects.select_related("store", "region")}


def test_the_figures_page_lists_the_spikes_open_and_ended(spikes, login, hq,
                                                          django_assert_max_num_queries):
    assert sorted(spikes) == ["region:EAST", "store:S0001", "store:S0011"]
    assert spikes["store:S0011"].ended_on == chain_today()
    client = login(hq)
    with django_assert_max_num_queries(10):
        page = client.get("/complaints/figures/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Complaint spikes (early warning)" in html
    assert "S0001 上海人民路店" in html
    assert "EAST 华东区" in html
    assert "S0011" in html
    assert html.count("badge bad") >= 2
    assert f"ended {chain_today():%Y-%m-%d}" in html
    zh = client.get("/complaints/figures/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "投诉异常聚集" in zh


def test_the_spike_section_is_scoped_to_the_users_stores_and_regions(
        spikes, login, store_manager, region_manager, other_store_manager):
    def shown(user) -> set[str]:
        data = login(user).get("/api/v1/complaint-figures/").json()["spikes"]
        return {f"{s['level']}:{s['store'] or s['region']}" for s in data}

    assert shown(region_manager) == {"store:S0001", "region:EAST"}
    assert shown(store_manager) == {"store:S0001"}
    assert shown(other_store_manager) == {"store:S0011"}
    page = login(store_manager).get("/complaints/figures/").content.decode()
    assert "S0001 上海人民路店" in page
    assert "EAST 华东区" not in page


def test_the_figures_api_describes_each_spike(spikes, login, hq):
    data = login(hq).get("/api/v1/complaint-figures/").json()["spikes"]
    region = next(s for s in data if s["level"] == "region")
    assert region == {"level": "region", "store": None, "region": "EAST",
                      "category": "environment", "started_on": str(chain_today() -
                                                                   timedelta(days=1)),
                      "last_seen_on": str(chain_today()), "ended_on": None, "count": 4,
                      "peak_count": 4, "baseline_per_week": 0.0, "threshold": 3}
    assert data[0]["ended_on"] is None
    assert data[-1]["ended_on"] == str(chain_today())


def test_spikes_outside_the_period_are_not_shown(spikes, login, hq):
    data = login(hq).get("/api/v1/complaint-figures/",
                         {"start": "2026-01-01", "end": "2026-01-31"}).json()
    assert data["spikes"] == []
