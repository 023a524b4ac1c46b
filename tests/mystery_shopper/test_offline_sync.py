"""What the phone sends when the connection returns is stored once: the draft endpoint saves
each answer per item (sending it again changes nothing), the evidence endpoint stores a file
once per client id; only the visit's shopper may send either (404 for another shopper)."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mystery_shopper import services
from mystery_shopper.models import Evidence, ScorecardItem, VisitAnswer, VisitStatus
from satisfaction.errors import ApplicationError
from tests.mystery_shopper.factories import ShopperFactory, VisitFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


def _item(visit, code: str) -> ScorecardItem:
    return ScorecardItem.objects.get(section__template=visit.template, code=code)


def _photo(name: str = "IMG_0001.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(), content_type="image/jpeg")


def _upload(client, visit, client_id, item=None, name: str = "IMG_0001.jpg"):
    data = {"client_id": str(client_id), "file": _photo(name)}
    if item is not None:
        data["item"] = str(item.pk)
    return client.post(f"/mystery-shopper/visits/{visit.pk}/report/evidence/", data)


def test_a_file_sent_twice_with_the_same_client_id_is_stored_once(login):
    visit = VisitFactory()
    signboard = _item(visit, "signboard")
    client = login(visit.shopper)
    client_id = uuid.uuid4()

    first = _upload(client, visit, client_id, signboard)
    again = _upload(client, visit, client_id, signboard)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    evidence = Evidence.objects.get(visit=visit)
    assert (evidence.client_id, evidence.item, evidence.kind) == (client_id, signboard, "photo")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DRAFT


def test_two_files_with_their_own_client_ids_are_two_files(login):
    visit = VisitFactory()
    client = login(visit.shopper)

    assert _upload(client, visit, uuid.uuid4()).status_code == 201
    assert _upload(client, visit, uuid.uuid4()).status_code == 201

    assert Evidence.objects.filter(visit=visit, item=None).count() == 2


def test_another_shopper_gets_404_and_nothing_is_stored(login):
    visit = VisitFactory()
    other = login(ShopperFactory())

    upload = _upload(other, visit, uuid.uuid4())
    draft = other.post(f"/mystery-shopper/visits/{visit.pk}/report/draft/",
                       {"notes": "not mine"})

    assert (upload.status_code, draft.status_code) == (404, 404)
    visit.refresh_from_db()
    assert (Evidence.objects.count(), visit.notes) == (0, "")


def test_a_store_manager_may_not_send_a_report(login, store_manager):
    visit = VisitFactory()

    response = _upload(login(store_manager), visit, uuid.uuid4())

    assert response.status_code == 403


def test_a_client_id_of_another_visit_is_refused(login):
    visit = VisitFactory()
    other_visit = VisitFactory(shopper=visit.shopper)
    client = login(visit.shopper)
    client_id = uuid.uuid4()
    assert _upload(client, other_visit, client_id).status_code == 201

    response = _upload(client, visit, client_id)

    assert response.status_code == 409
    assert Evidence.objects.filter(visit=visit).count() == 0


def test_a_submitted_report_takes_no_more_files(login):
    visit = VisitFactory(status=VisitStatus.SUBMITTED)

    response = _upload(login(visit.shopper), visit, uuid.uuid4())

    assert response.status_code == 409
    assert Evidence.objects.count() == 0


def test_an_upload_without_a_client_id_or_a_file_is_refused(login):
    visit = VisitFactory()
    client = login(visit.shopper)
    url = f"/mystery-shopper/visits/{visit.pk}/report/evidence/"

    assert client.post(url, {"file": _photo()}).status_code == 400
    assert client.post(url, {"client_id": str(uuid.uuid4())}).status_code == 400
    assert client.post(url, {"client_id": str(uuid.uuid4()),
                             "file": SimpleUploadedFile("x.jpg", b"not a photo")}
                       ).status_code == 400
    assert Evidence.objects.count() == 0


def test_the_service_returns_the_stored_file_for_a_known_client_id():
    visit = VisitFactory()
    client_id = uuid.uuid4()

    first, created = services.visit_evidence_add_once(visit=visit, shopper=visit.shopper,
                                                      upload=_photo(), client_id=client_id)
    again, created_again = services.visit_evidence_add_once(
        visit=visit, shopper=visit.shopper, upload=_photo(), client_id=client_id)

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Evidence.objects.count() == 1


def test_the_service_refuses_another_shoppers_visit():
    visit = VisitFactory()

    with pytest.raises(ApplicationError) as caught:
        services.visit_evidence_add_once(visit=visit, shopper=ShopperFactory(), upload=_photo(),
                                         client_id=uuid.uuid4())

    assert caught.value.status == 404


def test_a_draft_sent_twice_stores_each_answer_once(login):
    visit = VisitFactory()
    signboard, history = _item(visit, "signboard"), _item(visit, "asks_present_history")
    client = login(visit.shopper)
    url = f"/mystery-shopper/visits/{visit.pk}/report/draft/"
    data = {f"item_{signboard.pk}": "1", f"item_{signboard.pk}_comment": "招牌很亮",
            f"item_{history.pk}": "7.5", "notes": "店员先询问了症状", "served_by_badge": "E1"}

    assert client.post(url, data).status_code == 200
    assert client.post(url, data).status_code == 200

    answers = {a.item_id: a for a in VisitAnswer.objects.filter(visit=visit)}
    assert len(answers) == 2
    assert (answers[signboard.pk].value, answers[signboard.pk].comment) == (1, "招牌很亮")
    assert answers[history.pk].value == pytest.approx(7.5)
    visit.refresh_from_db()
    assert (visit.notes, visit.served_by_badge) == ("店员先询问了症状", "E1")


def test_a_later_draft_wins_and_an_invalid_one_changes_nothing(login):
    visit = VisitFactory()
    history = _item(visit, "asks_present_history")
    client = login(visit.shopper)
    url = f"/mystery-shopper/visits/{visit.pk}/report/draft/"
    client.post(url, {f"item_{history.pk}": "5"})

    assert client.post(url, {f"item_{history.pk}": "8"}).status_code == 200
    invalid = client.post(url, {f"item_{history.pk}": "80", "notes": "x"})

    assert invalid.status_code == 400
    assert f"item_{history.pk}" in invalid.json()["fields"]
    answer = VisitAnswer.objects.get(visit=visit, item=history)
    assert answer.value == 8
    visit.refresh_from_db()
    assert visit.notes == ""


def test_the_service_worker_is_served_for_the_shopper_pages(client):
    response = client.get("/mystery-shopper/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/mystery-shopper/"
    assert b"ms-report-" in response.content


def test_the_report_counts_steps_from_one_and_says_what_evidence_an_item_needs(login):
    visit = VisitFactory()
    client = login(visit.shopper)

    first = client.get(f"/mystery-shopper/visits/{visit.pk}/report/?step=0",
                       HTTP_ACCEPT_LANGUAGE="en")
    image = client.get(f"/mystery-shopper/visits/{visit.pk}/report/?step=1",
                       HTTP_ACCEPT_LANGUAGE="en")
    purchase = client.get(f"/mystery-shopper/visits/{visit.pk}/report/?step=2",
                          HTTP_ACCEPT_LANGUAGE="en")

    assert "Step 1 of 6" in first.content.decode()
    assert "Step 0" not in first.content.decode()
    assert image.content.decode().count('data-testid="needs-evidence"') == 1
    assert "Photo required" in image.content.decode()
    assert "Recording required" in purchase.content.decode()
