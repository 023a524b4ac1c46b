"""A complaint's receipt time: never in the future, at most ``ComplaintPolicy.backdate_days``
back unless HQ records it (and never before 2000), on every path that creates one."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from complaints.models import Complaint, ComplaintPolicy, Source
from satisfaction.quarters import Quarter, chain_zone
from scoring.models import RollupStatus
from tests.dashboard.factories import make_rollup
from tests.pos.factories import make_key

pytestmark = pytest.mark.django_db

API = "/api/v1/complaints/"
POS = "/api/v1/pos/complaints/"
BODY = {"store": "S0001", "channel": "phone", "category": "price",
        "description": "价签与收银不符"}
WINDOW_EN = ("The receipt time may be at most 7 days back; HQ records complaints received "
             "earlier.")
WINDOW_ZH = "受理时间最多只能往前追溯 7 天；更早受理的投诉请由总部录入。"


def _ago(**delta) -> str:
    return (timezone.now() - timedelta(**delta)).isoformat()


def _post(client: Client, received_at: str, *, url: str = API, language: str = "en"):
    return client.post(url, {**BODY, "received_at": received_at},
                       content_type="application/json", HTTP_ACCEPT_LANGUAGE=language)


def test_a_store_manager_may_date_a_complaint_up_to_seven_days_back(login, store,
                                                                     store_manager):
    response = _post(login(store_manager), _ago(days=6, hours=23))
    assert response.status_code == 201, response.content
    assert Complaint.objects.get().received_by == store_manager


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_store_manager_may_not_date_a_complaint_eight_days_back(login, store, store_manager,
                                                                  language):
    response = _post(login(store_manager), _ago(days=8), language=language)
    assert response.status_code == 400
    assert response.json()["fields"]["received_at"] == [
        WINDOW_EN if language == "en" else WINDOW_ZH]
    assert not Complaint.objects.exists()


def test_a_complaint_from_2001_is_refused_for_staff_and_accepted_from_hq(login, store, hq,
                                                                         region_manager,
                                                                         clerk):
    long_ago = datetime(2001, 3, 5, 10, tzinfo=chain_zone()).isoformat()
    for user in (region_manager, clerk):
        response = _post(login(user), long_ago)
        assert response.status_code == 400
        assert response.json()["fields"]["received_at"] == [WINDOW_EN]
    response = _post(login(hq), long_ago)
    assert response.status_code == 201, response.content
    complaint = Complaint.objects.get()
    assert complaint.received_at == datetime(2001, 3, 5, 10, tzinfo=chain_zone())
    # HQ's back-dated entry runs on the real clock: the customer has waited since 2001.
    assert complaint.due_at < timezone.now()


def test_even_hq_cannot_date_a_complaint_before_2000_or_in_the_future(login, store, hq):
    client = login(hq)
    before = _post(client, datetime(1999, 12, 31, 23, tzinfo=chain_zone()).isoformat())
    assert before.status_code == 400
    assert before.json()["fields"]["received_at"] == ["The receipt time cannot be before 2000."]
    future = _post(client, (timezone.now() + timedelta(hours=1)).isoformat(),
                   language="zh-hans")
    assert future.status_code == 400
    assert future.json()["fields"]["received_at"] == ["受理时间不能晚于当前时间。"]
    assert not Complaint.objects.exists()


def test_the_window_is_hq_editable_policy_data(login, store, store_manager):
    ComplaintPolicy.objects.filter(pk=1).update(backdate_days=3)
    client = login(store_manager)
    refused = _post(client, _ago(days=4))
    assert refused.status_code == 400
    assert refused.json()["fields"]["received_at"] == [
        "The receipt time may be at most 3 days back; HQ records complaints received earlier."]
    assert _post(client, _ago(days=2, hours=23)).status_code == 201


def test_a_pos_or_call_centre_system_is_held_to_the_window(store):
    _key, secret = make_key(store)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    refused = _post(client, _ago(days=8), url=POS, language="zh-hans")
    assert refused.status_code == 400
    assert refused.json()["fields"]["received_at"] == [WINDOW_ZH]
    accepted = _post(client, _ago(days=1), url=POS)
    assert accepted.status_code == 201, accepted.content
    assert Complaint.objects.get().source == Source.API


def test_the_staff_form_shows_the_window_as_a_field_error(login, store, clerk):
    client = login(clerk)
    page = client.get("/complaints/new/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "最多可往前追溯 7 天" in page
    received = timezone.localtime(timezone.now() - timedelta(days=10))
    response = client.post("/complaints/new/", {
        "store": store.pk, "channel": "phone", "category": "price", "description": "多收钱",
        "received_at": received.strftime("%Y-%m-%dT%H:%M")}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert response.context["form"].errors["received_at"] == [WINDOW_ZH]
    assert not Complaint.objects.exists()


def test_the_public_form_is_dated_now(client, store):
    before = timezone.now()
    response = client.post(f"/complain/{store.code}", {
        "customer_name": "刘女士", "customer_phone": "139 0000 5678", "category": "price",
        "description": "多收钱", "received_at": "2001-01-01T10:00"})
    assert response.status_code == 200
    assert before <= Complaint.objects.get().received_at <= timezone.now()


def test_a_complaint_dated_inside_a_published_quarter_is_accepted(login, store, hq):
    """Nothing is lost: it is recorded (and listed apart by scoring), never blocked."""
    last = Quarter.containing(timezone.localdate()).previous()
    make_rollup(last, RollupStatus.PUBLISHED)
    inside = datetime.combine(last.last_day, datetime.min.time(), tzinfo=chain_zone())
    response = _post(login(hq), inside.isoformat())
    assert response.status_code == 201, response.content
    assert Complaint.objects.get().received_at == inside
