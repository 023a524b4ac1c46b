"""Collecting answers: the public link, receipt tokens, paper batches, and abuse handling."""

from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from satisfaction.errors import ApplicationError
from surveys.models import Answer, Channel, FlagReason, Invitation, Response, ResponseStatus
from surveys.services import (
    ResponseInput,
    invitation_create,
    paper_batch_create,
    response_create,
    response_review,
    store_anomaly_scan,
)
from tests.factories import EmployeeFactory
from tests.surveys.factories import ALL_CODES, CampaignFactory, all_rated, rate

pytestmark = pytest.mark.django_db


def _started(seconds_ago: int) -> str:
    moment = timezone.now().timestamp() - seconds_ago
    return signing.TimestampSigner(salt="surveys.started").sign(str(moment))


def _form(value: int = 4, seconds_ago: int = 120, **extra) -> dict:
    data = {f"rating_{code}": str(value) for code in ALL_CODES}
    data["started"] = _started(seconds_ago)
    data.update(extra)
    return data


def test_a_customer_answers_from_the_store_link_without_login(store):
    campaign = CampaignFactory()
    employee = EmployeeFactory(store=store, number="E07001")
    client = Client()
    page = client.get("/q/S0001")
    assert page.status_code == 200
    assert "上海人民路店" in page.content.decode()
    result = client.post("/q/S0001", _form(5, employee="E07001", comment="很好",
                                           expect_price="3"))
    assert result.status_code == 200
    response = Response.objects.get()
    assert (response.campaign, response.store, response.employee) == (campaign, store, employee)
    assert response.channel == Channel.QR
    assert response.status == ResponseStatus.COUNTED
    assert response.duration_seconds >= 119
    assert response.answers.count() == 7
    assert response.answers.get(indicator__code="price").expectation == 3


def test_a_missing_or_out_of_range_rating_saves_nothing_and_says_which(store):
    CampaignFactory()
    data = _form(4)
    data["rating_price"] = "6"
    del data["rating_assortment"]
    result = Client().post("/q/S0001", data)
    assert result.status_code == 400
    body = result.content.decode()
    assert "1 到 5" in body or "1 to 5" in body
    assert Response.objects.count() == 0
    assert Answer.objects.count() == 0


def test_unknown_store_gets_a_friendly_page():
    result = Client().get("/q/NOPE")
    assert result.status_code == 404
    assert 'data-testid="public-message"' in result.content.decode()


def test_a_store_without_a_running_campaign_says_so(store):
    CampaignFactory(opens_on=timezone.localdate() - timedelta(days=30),
                    closes_on=timezone.localdate() - timedelta(days=1))
    result = Client().post("/q/S0001", _form())
    assert result.status_code == 200
    assert Response.objects.count() == 0


def test_service_rejects_unknown_indicator_closed_campaign_and_foreign_store(store, other_store):
    campaign = CampaignFactory()
    with pytest.raises(ApplicationError) as unknown:
        response_create(store=store, campaign=campaign, channel=Channel.PAPER,
                        data=ResponseInput(ratings={**all_rated(3), "smell": 2}))
    assert "ratings.smell" in unknown.value.fields
    closed = CampaignFactory(opens_on=timezone.localdate() - timedelta(days=9),
                             closes_on=timezone.localdate() - timedelta(days=2))
    with pytest.raises(ApplicationError) as exc:
        response_create(store=store, campaign=closed, channel=Channel.PAPER,
                        data=ResponseInput(ratings=all_rated(3)))
    assert exc.value.code == "campaign_closed"
    some = CampaignFactory(all_stores=False)
    some.stores.set([store])
    with pytest.raises(ApplicationError) as foreign:
        response_create(store=other_store, campaign=some, channel=Channel.PAPER,
                        data=ResponseInput(ratings=all_rated(3)))
    assert foreign.value.code == "store_not_in_campaign"
    assert Response.objects.count() == 0


def test_a_receipt_token_works_once(store):
    CampaignFactory()
    invitation = invitation_create(store=store, transaction_ref="POS-1")
    assert invitation.short_path == f"/s/{invitation.token}"
    assert invitation.qr_payload.endswith(invitation.short_path)
    assert len(invitation.token) >= 20
    client = Client()
    assert client.get(invitation.short_path).status_code == 200
    assert client.post(invitation.short_path, _form()).status_code == 200
    again = client.post(invitation.short_path, _form())
    assert again.status_code == 410
    assert 'data-testid="public-message"' in again.content.decode()
    assert Response.objects.get().channel == Channel.RECEIPT
    invitation.refresh_from_db()
    assert invitation.used_at is not None


def test_an_expired_token_gets_a_friendly_page_and_saves_nothing(store):
    CampaignFactory()
    invitation = invitation_create(store=store, expires_in_days=1)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1))
    result = Client().post(invitation.short_path, _form())
    assert result.status_code == 410
    assert Response.objects.count() == 0
    assert Client().get("/s/not-a-token").status_code == 404


def test_invitation_create_is_idempotent_per_receipt_and_expires_as_configured(store, settings):
    settings.SURVEY_INVITATION_DAYS = 3
    first = invitation_create(store=store, transaction_ref="POS-9")
    assert invitation_create(store=store, transaction_ref="POS-9") == first
    assert first.expires_at - first.created_at == timedelta(days=3)
    assert invitation_create(store=store).token != invitation_create(store=store).token
    with pytest.raises(ApplicationError):
        invitation_create(store=store, expires_in_days=0)


def test_speeders_are_kept_but_flagged_and_do_not_count(store):
    CampaignFactory()
    Client().post("/q/S0001", _form(seconds_ago=3))
    response = Response.objects.get()
    assert response.status == ResponseStatus.FLAGGED
    assert FlagReason.SPEEDER in response.flag_reasons


def test_bursts_from_one_device_are_flagged(store):
    CampaignFactory()
    client = Client(HTTP_USER_AGENT="phone-1")
    for _ in range(3):
        client.post("/q/S0001", _form())
    statuses = list(Response.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [ResponseStatus.COUNTED, ResponseStatus.COUNTED, ResponseStatus.FLAGGED]


def test_public_submissions_are_rate_limited_per_client(store, settings):
    settings.SURVEY_PUBLIC_SUBMISSIONS_PER_HOUR = 2
    CampaignFactory()
    client = Client()
    assert client.post("/q/S0001", _form()).status_code == 200
    assert client.post("/q/S0001", _form()).status_code == 200
    assert client.post("/q/S0001", _form()).status_code == 429
    assert Response.objects.count() == 2
    other_client = Client(REMOTE_ADDR="10.0.0.9")
    assert other_client.post("/q/S0001", _form()).status_code == 200


def test_hq_clears_flagged_responses_so_they_count(store, hq, store_manager):
    campaign = CampaignFactory()
    flagged = rate(campaign=campaign, store=store, ratings=all_rated(2),
                   status=ResponseStatus.FLAGGED, flag_reasons="speeder")
    with pytest.raises(ApplicationError):
        response_review(user=store_manager, response_ids=[flagged.pk], clear=True)
    assert response_review(user=hq, response_ids=[flagged.pk], clear=True) == 1
    flagged.refresh_from_db()
    assert flagged.status == ResponseStatus.CLEARED
    assert flagged.is_counted


def test_paper_batches_save_every_row_or_none(store, clerk):
    campaign = CampaignFactory()
    good = ResponseInput(ratings=all_rated(4))
    bad = ResponseInput(ratings={**all_rated(4), "price": "9"})
    with pytest.raises(ApplicationError) as exc:
        paper_batch_create(store=store, campaign=campaign, rows=[good, bad], entered_by=clerk)
    assert "2" in exc.value.fields["rows"][0]
    assert Response.objects.count() == 0
    batch = paper_batch_create(store=store, campaign=campaign, rows=[good, good],
                               entered_by=clerk)
    assert batch.responses.filter(channel=Channel.PAPER).count() == 2


def test_staff_key_in_paper_questionnaires_on_the_page(store, clerk, login):
    campaign = CampaignFactory()
    data = {"store": "S0001", "campaign": str(campaign.pk)}
    data.update({f"r0_{code}": "5" for code in ALL_CODES})
    data.update({f"r1_{code}": "3" for code in ALL_CODES})
    client = login(clerk)
    assert client.get("/surveys/paper/").status_code == 200
    result = client.post("/surveys/paper/", data)
    assert result.status_code == 302
    assert Response.objects.filter(channel=Channel.PAPER, entered_by=clerk).count() == 2


def test_staff_cannot_key_in_for_another_store(store, other_store, clerk, login):
    campaign = CampaignFactory()
    data = {"store": "S0011", "campaign": str(campaign.pk)}
    data.update({f"r0_{code}": "5" for code in ALL_CODES})
    assert login(clerk).post("/surveys/paper/", data).status_code == 404
    assert Response.objects.count() == 0


def test_a_store_with_manufactured_looking_answers_is_flagged_once_for_hq(
        store, sibling_store, hq):
    campaign = CampaignFactory()
    for n in range(12):
        rate(campaign=campaign, store=store, ratings=all_rated(5), device_hash="same-phone",
             submitted_at=timezone.now() - timedelta(minutes=n % 3))
        rate(campaign=campaign, store=sibling_store, ratings=all_rated(3 + n % 3),
             device_hash=f"d{n}", submitted_at=timezone.now() - timedelta(hours=n))
    flags = store_anomaly_scan(campaign=campaign)
    assert [f.store for f in flags] == [store]
    kinds = {r["kind"] for r in flags[0].reasons}
    assert kinds == {"top_ratings", "one_device", "clustered"}
    assert Response.objects.filter(store=store, status=ResponseStatus.FLAGGED).count() == 12
    assert hq.notifications.filter(kind="surveys.store_flag").count() == 1
    assert store_anomaly_scan(campaign=campaign) == []
    assert hq.notifications.filter(kind="surveys.store_flag").count() == 1


def test_hq_reviews_a_flagged_store_on_the_page_and_its_answers_count_again(
        store, sibling_store, hq, store_manager, login):
    campaign = CampaignFactory()
    for n in range(12):
        rate(campaign=campaign, store=store, ratings=all_rated(5), device_hash="same-phone",
             submitted_at=timezone.now() - timedelta(minutes=n % 3))
    [flag] = store_anomaly_scan(campaign=campaign)
    assert login(store_manager).get("/surveys/review/").status_code == 403
    client = login(hq)
    page = client.get("/surveys/review/")
    assert page.status_code == 200
    assert "S0001" in page.content.decode()
    client.post(f"/surveys/review/stores/{flag.pk}/", {"action": "clear"})
    assert Response.objects.filter(store=store, status=ResponseStatus.CLEARED).count() == 12
