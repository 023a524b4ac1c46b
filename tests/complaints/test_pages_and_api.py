"""Pages and API: scoped (another store's complaint is a 404), masked, actions only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from complaints import services
from complaints.models import Complaint, EightDReport, Status
from satisfaction.quarters import Quarter
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def test_store_manager_sees_own_store_complaints_only(login, store, other_store,
                                                      store_manager):
    mine = make_complaint(store)
    theirs = make_complaint(other_store)
    client = login(store_manager)
    body = client.get("/complaints/").content.decode()
    assert mine.ticket_no in body
    assert theirs.ticket_no not in body
    assert client.get(f"/complaints/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/complaints/{theirs.pk}/").status_code == 404
    assert client.get(f"/complaints/{theirs.pk}/8d/print/").status_code == 404
    assert client.post(f"/api/v1/complaints/{theirs.pk}/start/",
                       {"version": 1}).status_code == 404


def test_list_masks_the_customer_for_roles_that_do_not_need_it(login, store, hq,
                                                              region_manager, clerk):
    make_complaint(store, customer_name="张三丰", customer_phone="13812345678")
    assert "138****5678" in login(region_manager).get("/complaints/").content.decode()
    assert "13812345678" not in login(clerk).get("/complaints/").content.decode()
    assert "13812345678" in login(hq).get("/complaints/").content.decode()
    api = login(region_manager).get("/api/v1/complaints/").json()
    assert api["results"][0]["customer_phone"] == "138****5678"
    assert api["results"][0]["customer_name"] == "张**"


def test_complaint_list_query_count_does_not_grow_with_rows(login, store, hq,
                                                            django_assert_max_num_queries):
    for _ in range(12):
        make_complaint(store, customer_phone="")
    client = login(hq)
    with django_assert_max_num_queries(8):
        assert client.get("/complaints/").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/complaints/").status_code == 200


def test_clerk_records_a_complaint_with_a_photo_from_the_staff_form(login, store, clerk):
    client = login(clerk)
    response = client.post("/complaints/new/", {
        "store": store.pk, "channel": "phone", "customer_name": "王", "customer_phone": "",
        "category": "price", "description": "价格标签与收银不符",
        "attachments": [SimpleUploadedFile("p.png", PNG, content_type="image/png")]})
    complaint = Complaint.objects.get()
    assert response.status_code == 302
    assert complaint.received_by == clerk
    assert complaint.attachments.count() == 1
    attachment = complaint.attachments.get()
    download = client.get(f"/complaints/{complaint.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG


@pytest.mark.parametrize(("name", "content", "content_type"), [
    # An Android recording: MPEG-4 audio with the generic brand "isom" (was stored as video/mp4).
    ("voice.m4a", b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41" + b"\x00" * 40,
     "audio/mp4"),
    # An MP3 without an ID3 tag (was refused).
    ("voice.mp3", b"\xff\xfa\x90\x64" + b"\x00" * 40, "audio/mpeg"),
    # The content decides, not the name.
    ("scan.pdf", PNG, "image/png"),
])
def test_attachments_are_sniffed_like_mystery_shopper_evidence(login, store, clerk, name,
                                                               content, content_type):
    response = login(clerk).post("/complaints/new/", {
        "store": store.pk, "channel": "phone", "customer_name": "王", "customer_phone": "",
        "category": "service_attitude", "description": "录音为证",
        "attachments": [SimpleUploadedFile(name, content, content_type="text/plain")]})
    assert response.status_code == 302
    attachment = Complaint.objects.get().attachments.get()
    assert attachment.content_type == content_type


def test_a_disguised_attachment_is_a_form_error(login, store, clerk):
    response = login(clerk).post("/complaints/new/", {
        "store": store.pk, "channel": "phone", "category": "price", "description": "x",
        "attachments": [SimpleUploadedFile("p.png", b"MZ not an image", content_type="image/png")]})
    assert response.status_code == 400
    assert not Complaint.objects.exists()
    assert "attachments" in response.context["form"].errors


def test_hq_grades_and_the_owner_handles_on_the_detail_page(login, store, hq, store_manager):
    complaint = make_complaint(store)
    page = login(hq).get(f"/complaints/{complaint.pk}/").content.decode()
    assert "medication safety" in page.lower() or "用药安全" in page  # definitions beside A/B/C
    response = login(hq).post(f"/complaints/{complaint.pk}/", {
        "form": "triage", "version": 1, "grade": "C", "substantiated": "yes",
        "responsibility": "own_store", "owner": store_manager.pk})
    assert response.status_code == 302
    manager = login(store_manager)
    assert manager.post(f"/complaints/{complaint.pk}/", {"form": "start", "version": 2,
                                                         "note": ""}).status_code == 302
    stale = manager.post(f"/complaints/{complaint.pk}/", {"form": "wait", "version": 2})
    assert stale.status_code == 400
    assert "Someone else changed" in stale.content.decode() or "其他人" in stale.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.IN_PROGRESS


def test_api_creates_and_moves_through_actions_only(login, store, hq, store_manager):
    client = login(store_manager)
    created = client.post("/api/v1/complaints/", {
        "store": store.code, "channel": "pos", "category": "price", "description": "多收钱",
        "customer_phone": "13700001234"}, content_type="application/json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["status"] == "new"
    assert data["ticket_no"]
    pk = data["id"]
    bad = client.patch(f"/api/v1/complaints/{pk}/", {"status": "closed"},
                       content_type="application/json")
    assert bad.status_code == 405
    graded = login(hq).post(f"/api/v1/complaints/{pk}/triage/", {
        "version": 1, "grade": "C", "substantiated": True, "responsibility": "own_store",
        "owner": store_manager.username}, content_type="application/json")
    assert graded.status_code == 200
    assert graded.json()["status"] == "assigned"
    conflict = client.post(f"/api/v1/complaints/{pk}/resolve/", {
        "version": 1, "remedy": "退差价", "customer_satisfied": True},
        content_type="application/json")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "conflict"
    resolved = client.post(f"/api/v1/complaints/{pk}/resolve/", {
        "version": 2, "remedy": "退差价", "customer_satisfied": True},
        content_type="application/json")
    assert resolved.json()["status"] == "resolved"
    assert client.post(f"/api/v1/complaints/{pk}/triage/", {"version": 3},
                       content_type="application/json").status_code == 403  # HQ grades
    invalid = login(hq).post(f"/api/v1/complaints/{pk}/triage/", {"version": 3},
                             content_type="application/json")
    assert invalid.status_code == 400
    assert "grade" in invalid.json()["fields"]


def test_api_rejects_a_store_the_user_cannot_see(login, other_store, store_manager):
    response = login(store_manager).post("/api/v1/complaints/", {
        "store": other_store.code, "channel": "pos", "category": "price",
        "description": "x"}, content_type="application/json")
    assert response.status_code == 400
    assert "store" in response.json()["fields"]


def test_eight_d_print_view_is_print_friendly(login, store, hq, store_manager):
    complaint = make_complaint(store)
    services.eight_d_save(complaint=complaint, user=store_manager, version=1,
                          sections=dict.fromkeys(EightDReport.SECTIONS, "内容"))
    response = login(store_manager).get(f"/complaints/{complaint.pk}/8d/print/")
    assert response.status_code == 200
    assert "complaints/print" in response.content.decode()


def _handled(store, hq, manager, *, grade, satisfied, close, hours):
    received = timezone.now() - timedelta(hours=hours + 1)
    complaint = make_complaint(store, received_at=received, customer_phone="")
    services.complaint_triage(complaint=complaint, user=hq, version=1, grade=grade,
                              substantiated=True, responsibility="own_store", owner=None)
    services.complaint_resolve(complaint=complaint, user=manager, version=2, remedy="r",
                               customer_satisfied=satisfied)
    if close:
        services.complaint_close(complaint=complaint, user=manager, version=3)
    return complaint


def test_figures_compute_rates_per_store(login, store, sibling_store, hq, store_manager):
    _handled(store, hq, store_manager, grade="C", satisfied=True, close=True, hours=2)
    _handled(store, hq, store_manager, grade="C", satisfied=False, close=True, hours=30)
    _handled(store, hq, store_manager, grade="B", satisfied=True, close=False, hours=5)
    make_complaint(store, category="price", customer_phone="")
    make_complaint(sibling_store, customer_phone="")
    quarter = Quarter.current()
    rows = login(hq).get("/api/v1/complaint-figures/", {"quarter": str(quarter)}).json()["rows"]
    row = next(r for r in rows if r["key"] == store.code)
    assert row["total"] == 4
    assert row["by_grade"] == {"A": 0, "B": 1, "C": 2}
    assert row["ungraded"] == 1
    # 3 resolved, 2 within 24 h: 66.7 %; 1 of 4 received closed with a satisfied customer:
    # closed-loop 25 %; 2 closed, 1 with a satisfied customer: satisfaction 50 %.
    assert row["on_time_rate"] == 66.7
    assert row["closed_loop_rate"] == 25.0
    assert row["satisfaction_rate"] == 50.0
    assert row["mean_handling_hours"] == pytest.approx((3 + 31 + 6) / 3, abs=0.1)
    chain = login(hq).get("/api/v1/complaint-figures/", {"level": "chain"}).json()
    assert chain["rows"][0]["total"] == 5
    assert chain["pareto"][0] == {"key": "service_attitude", "count": 4, "share": 80.0,
                                  "cumulative": 80.0}
    mine = login(store_manager).get("/api/v1/complaint-figures/",
                                    {"level": "chain"}).json()["rows"][0]
    assert mine["total"] == 4
    assert login(hq).get("/complaints/figures/?level=region").status_code == 200
    assert login(hq).get("/api/v1/complaint-figures/",
                         {"quarter": "2026Q9"}).status_code == 400


def test_poster_shows_a_qr_code_for_the_store_form(login, store, store_manager, other_store):
    client = login(store_manager)
    response = client.get(f"/complaints/poster/{store.code}/")
    assert response.status_code == 200
    assert "<svg" in response.content.decode()
    assert f"/complain/{store.code}" in response.content.decode()
    assert client.get(f"/complaints/poster/{other_store.code}/").status_code == 404


def test_the_figures_page_picks_a_quarter_from_a_list_and_refuses_one_not_offered(hq, login):
    from satisfaction.quarters import Quarter

    client = login(hq)
    current = Quarter.current()
    page = client.get("/complaints/figures/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'<option value="{current}"' in page
    assert f'<option value="{current.previous()}"' in page
    assert client.get(f"/complaints/figures/?quarter={current.previous()}").status_code == 200
    assert client.get("/complaints/figures/?quarter=2001Q1").status_code == 400
    assert client.get("/complaints/figures/?quarter=junk").status_code == 400
