"""Product complaints a pharmacist can act on: the medicine and its batch from the staff form
and the API, a suspected adverse reaction alerting HQ at once, one bad batch seen as one
problem in N stores, and the adverse-reaction export for the monitoring system."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from complaints import services
from complaints.models import Category, Complaint, ComplaintEvent, ComplaintProduct
from complaints.selectors import product_batches
from satisfaction.errors import ApplicationError
from satisfaction.models import Delivery, DeliveryChannel, Notification
from tests.complaints.factories import make_complaint
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

WEBHOOK = "https://hooks.example.com/pharmacovigilance"
FORM = {"channel": "in_store", "customer_name": "刘女士", "customer_phone": "13900005678",
        "category": "product_quality", "description": "胶囊受潮结块"}
PRODUCT = {"medicine_name": "阿莫西林胶囊", "specification": "0.25g×24粒",
           "manufacturer": "华北制药", "batch_no": " a2309 015 ", "supplier": "国药控股"}
ADR = {"suspected_adr": True, "patient_age_band": "65+", "patient_sex": "female",
       "reaction_description": "服药第二天全身皮疹、瘙痒", "reaction_started_on": "2026-11-20",
       "reaction_outcome": "recovering"}


@pytest.fixture
def webhook(settings):
    settings.NOTIFICATION_WEBHOOK_URL = WEBHOOK


def product(**values) -> services.ProductInput:
    fields = {**PRODUCT, **values}
    if isinstance(fields.get("reaction_started_on"), str):
        fields["reaction_started_on"] = date.fromisoformat(fields["reaction_started_on"])
    return services.ProductInput(**fields)


def adr_alerts() -> tuple[int, int, int]:
    """(in-app, e-mail, webhook) rows of adverse-reaction alerts."""
    return (Notification.objects.filter(kind="complaint_adr").count(),
            Delivery.objects.filter(kind="complaint_adr", channel=DeliveryChannel.EMAIL).count(),
            Delivery.objects.filter(kind="complaint_adr",
                                    channel=DeliveryChannel.WEBHOOK).count())


# --- Intake -----------------------------------------------------------------------------------

def test_a_clerk_records_the_medicine_and_batch_on_the_staff_form(login, store, clerk):
    response = login(clerk).post("/complaints/new/", {**FORM, "store": store.pk, **PRODUCT})
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = ComplaintProduct.objects.get()
    assert saved.complaint.received_by == clerk
    assert (saved.medicine_name, saved.specification, saved.manufacturer, saved.supplier) == (
        "阿莫西林胶囊", "0.25g×24粒", "华北制药", "国药控股")
    assert saved.batch_no == "A2309015"  # trimmed, spaces removed, upper-case
    assert saved.suspected_adr is False
    assert saved.adr_notified_at is None
    page = login(clerk).get(f"/complaints/{saved.complaint_id}/").content.decode()
    assert "阿莫西林胶囊" in page
    assert "A2309015" in page


def test_the_staff_form_shows_the_product_fieldset(login, clerk):
    page = login(clerk).get("/complaints/new/").content.decode()
    assert 'data-testid="product-fieldset"' in page
    assert 'name="medicine_name"' in page
    assert 'name="batch_no"' in page


def test_a_product_complaint_without_the_medicine_name_is_refused_and_nothing_saved(
        login, store, clerk):
    response = login(clerk).post("/complaints/new/", {**FORM, "store": store.pk,
                                                       "batch_no": "A1"},
                                 HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.context["form"].errors["medicine_name"] == ["Enter the name of the medicine."]
    assert not Complaint.objects.exists()
    assert not ComplaintProduct.objects.exists()


def test_product_details_with_another_category_are_refused(store, clerk):
    with pytest.raises(ApplicationError) as error:
        make_complaint(store, category="price", product=product())
    assert list(error.value.fields) == ["category"]
    assert not Complaint.objects.exists()
    # An empty product with another category is no product at all.
    complaint = make_complaint(store, category="price", product=services.ProductInput())
    assert not ComplaintProduct.objects.filter(complaint=complaint).exists()


def test_a_suspected_adverse_reaction_needs_the_reaction_and_known_choices(store, hq):
    with pytest.raises(ApplicationError) as error:
        make_complaint(store, category="product_quality", product=product(
            suspected_adr=True, patient_sex="other", reaction_outcome="fine",
            reaction_started_on=timezone.localdate() + timedelta(days=3)))
    assert set(error.value.fields) == {"reaction_description", "patient_sex",
                                       "reaction_outcome", "reaction_started_on"}
    assert not Complaint.objects.exists()
    assert adr_alerts() == (0, 0, 0)


def test_the_api_takes_the_product_object_and_names_its_errors(login, store, clerk):
    client = login(clerk)
    body = {**FORM, "store": store.code, "channel": "phone", "product": {**PRODUCT}}
    created = client.post("/api/v1/complaints/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["product"]["batch_no"] == "A2309015"
    assert created.json()["product"]["suspected_adr"] is False
    missing = client.post("/api/v1/complaints/", {**body, "product": {"batch_no": "B1"}},
                          content_type="application/json")
    assert missing.status_code == 400
    assert "product.medicine_name" in missing.json()["fields"]
    adr = client.post("/api/v1/complaints/", {
        **body, "product": {**PRODUCT, "suspected_adr": True}},
        content_type="application/json")
    assert adr.status_code == 400
    assert "product.reaction_description" in adr.json()["fields"]
    wrong_category = client.post("/api/v1/complaints/", {**body, "category": "price"},
                                 content_type="application/json")
    assert wrong_category.status_code == 400
    assert "category" in wrong_category.json()["fields"]
    assert Complaint.objects.count() == 1


# --- The adverse-reaction alert ---------------------------------------------------------------

def test_a_suspected_adverse_reaction_alerts_hq_once_whatever_the_grade(
        webhook, login, store, hq, emails, store_manager):
    response = login(store_manager).post("/complaints/new/", {
        **FORM, "store": store.pk, **PRODUCT, **ADR})
    assert response.status_code == 302, response.content.decode()[:2000]
    complaint = Complaint.objects.get()
    assert complaint.grade == ""  # not graded: HQ hears at once all the same
    saved = complaint.product
    assert saved.adr_notified_at is not None
    assert adr_alerts() == (1, 1, 1)
    assert Notification.objects.get(kind="complaint_adr").user == hq
    # Graded C and corrected later: still the one alert.
    services.complaint_triage(complaint=complaint, user=hq, version=complaint.version,
                              grade="C", substantiated=True, responsibility="own_store",
                              owner=store_manager)
    complaint.refresh_from_db()
    services.complaint_product_set(complaint=complaint, user=store_manager,
                                   version=complaint.version,
                                   product=product(**{**ADR, "reaction_started_on": None,
                                                      "reaction_outcome": "recovered"}))
    assert adr_alerts() == (1, 1, 1)
    assert ComplaintEvent.objects.filter(complaint=complaint, action="product").count() == 1


def test_setting_the_flag_later_alerts_hq_then_and_only_once(webhook, store, hq, emails,
                                                             store_manager):
    complaint = make_complaint(store, category="product_quality", product=product())
    assert adr_alerts() == (0, 0, 0)
    with pytest.raises(ApplicationError) as stale:
        services.complaint_product_set(complaint=complaint, user=store_manager, version=99,
                                       product=product(**ADR))
    assert stale.value.status == 409
    services.complaint_product_set(complaint=complaint, user=store_manager,
                                   version=complaint.version, product=product(**ADR))
    services.complaint_product_set(complaint=complaint, user=store_manager,
                                   product=product(**ADR, supplier="九州通"))
    assert adr_alerts() == (1, 1, 1)
    complaint.product.refresh_from_db()
    assert complaint.product.supplier == "九州通"
    event = ComplaintEvent.objects.filter(complaint=complaint, action="product").first()
    assert event.changes["product.suspected_adr"] == [False, True]


def test_a_complaint_from_the_web_form_gets_its_product_from_staff(store, store_manager,
                                                                   other_store_manager):
    complaint = make_complaint(store, category="product_quality", source="public")
    assert not ComplaintProduct.objects.filter(complaint=complaint).exists()
    with pytest.raises(ApplicationError) as forbidden:
        services.complaint_product_set(complaint=complaint, user=other_store_manager,
                                       product=product())
    assert forbidden.value.status == 403
    services.complaint_product_set(complaint=complaint, user=store_manager, product=product())
    assert ComplaintProduct.objects.get(complaint=complaint).batch_no == "A2309015"


def test_hq_marks_the_reaction_reported_on_the_complaint_page(login, store, hq,
                                                              store_manager):
    complaint = make_complaint(store, category="product_quality", product=product(**{
        **ADR, "reaction_started_on": date(2026, 11, 20)}))
    page = login(hq).get(f"/complaints/{complaint.pk}/").content.decode()
    assert 'data-testid="adr-badge"' in page
    assert 'data-testid="adr-reported"' in page
    assert 'data-testid="adr-reported"' not in login(store_manager).get(
        f"/complaints/{complaint.pk}/").content.decode()
    assert login(store_manager).post(f"/complaints/{complaint.pk}/",
                                     {"form": "adr_reported"}).status_code == 403
    assert login(hq).post(f"/complaints/{complaint.pk}/",
                          {"form": "adr_reported"}).status_code == 302
    saved = ComplaintProduct.objects.get(complaint=complaint)
    assert saved.adr_reported_at is not None
    assert ComplaintEvent.objects.filter(complaint=complaint, action="adr_reported").count() == 1


def test_the_product_is_corrected_on_the_complaint_page(login, store, store_manager):
    complaint = make_complaint(store, category="product_quality", product=product())
    client = login(store_manager)
    bad = client.post(f"/complaints/{complaint.pk}/", {
        "form": "product", "version": complaint.version, **PRODUCT, "medicine_name": ""})
    assert bad.status_code == 400
    assert "medicine_name" in bad.context["product_form"].errors
    good = client.post(f"/complaints/{complaint.pk}/", {
        "form": "product", "version": complaint.version, **PRODUCT, "batch_no": "b77"})
    assert good.status_code == 302
    assert ComplaintProduct.objects.get(complaint=complaint).batch_no == "B77"


# --- The batch view and the export ------------------------------------------------------------

@pytest.fixture
def one_bad_batch(store, sibling_store, other_store, hq):
    """Batch A2309015 complained about in three stores (two regions), one a suspected ADR;
    and another batch in one store."""
    third = StoreFactory(code="S0003", name="苏州观前店", region=store.region)
    made = [make_complaint(s, category="product_quality", product=product(), received_by=hq)
            for s in (store, sibling_store, third)]
    made.append(make_complaint(other_store, category="product_quality", received_by=hq,
                               customer_name="陈大文", customer_phone="13711112222",
                               product=product(batch_no="a2309015", **ADR)))
    made.append(make_complaint(store, category="product_quality", received_by=hq,
                               product=product(batch_no="X1", medicine_name="维生素C片")))
    return made


def test_one_bad_batch_shows_as_one_problem_in_n_stores(login, hq, one_bad_batch,
                                                        django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        batches = services_batches(hq)
    assert [(b.batch_no, b.stores, b.regions, b.complaints, b.adr) for b in batches] == [
        ("A2309015", 4, 2, 4, 1), ("X1", 1, 1, 1, 0)]
    client = login(hq)
    with django_assert_max_num_queries(6):
        response = client.get("/complaints/products/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "?batch=A2309015" in page
    assert 'data-testid="adr-export"' in page
    listed = client.get("/complaints/?batch=a2309015").content.decode()
    assert sum(c.ticket_no in listed for c in one_bad_batch) == 4
    api = client.get("/api/v1/complaints/?batch=A2309015").json()
    assert api["count"] == 4
    assert {row["product"]["batch_no"] for row in api["results"]} == {"A2309015"}


def services_batches(user):
    now = timezone.now()
    return product_batches(user=user, start=now - timedelta(days=1), end=now + timedelta(days=1))


def test_a_region_manager_sees_only_his_regions_batches(login, region_manager, one_bad_batch):
    assert [(b.batch_no, b.stores, b.adr) for b in services_batches(region_manager)] == [
        ("A2309015", 3, 0), ("X1", 1, 0)]
    response = login(region_manager).get("/complaints/products/")
    assert response.status_code == 200
    assert 'data-testid="adr-export"' not in response.content.decode()
    assert login(region_manager).get("/complaints/adr-export/").status_code == 403


def test_store_staff_may_not_open_the_hq_pages(login, store_manager, clerk, shopper):
    for user in (store_manager, clerk, shopper):
        client = login(user)
        assert client.get("/complaints/products/").status_code == 403
        assert client.get("/complaints/adr-export/?format=csv").status_code == 403


def test_the_adr_export_has_the_clinical_fields_and_no_customer(login, hq, one_bad_batch):
    client = login(hq)
    response = client.get("/complaints/adr-export/?format=csv", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2  # the header and the one suspected reaction
    row = dict(zip(rows[0], rows[1], strict=True))
    adr = one_bad_batch[3]
    assert row["Ticket"] == adr.ticket_no
    assert row["Store code"] == "S0011"
    assert (row["Patient age"], row["Patient sex"]) == ("65 or older", "female")
    assert (row["Medicine name"], row["Batch / lot number"], row["Manufacturer"]) == (
        "阿莫西林胶囊", "A2309015", "华北制药")
    assert row["Reaction"] == "服药第二天全身皮疹、瘙痒"
    assert row["Reaction began on"] == "2026-11-20"
    assert row["Outcome"] == "Recovering"
    assert row["Reporter"] == "hq"
    body = response.content.decode("utf-8-sig")
    assert "陈大文" not in body
    assert "13711112222" not in body
    assert "1371" not in body
    xlsx = client.get("/complaints/adr-export/?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 2
    assert client.get("/complaints/adr-export/?start=2026-12-01&end=2026-11-01").status_code \
        == 400
    assert client.get("/complaints/adr-export/?format=pdf").status_code == 400


def test_the_api_completes_the_product_and_hq_records_the_report(login, store, hq,
                                                                 store_manager,
                                                                 other_store_manager):
    complaint = make_complaint(store, category=Category.PRODUCT_QUALITY)
    url = f"/api/v1/complaints/{complaint.pk}/"
    body = {"version": complaint.version, "medicine_name": "阿莫西林胶囊",
            "batch_no": "a 2309", "suspected_adr": True}
    manager = login(store_manager)

    missing = manager.put(url + "product/", body, content_type="application/json")
    assert missing.status_code == 400
    assert "reaction_description" in missing.json()["fields"]
    assert login(other_store_manager).put(url + "product/", body,
                                          content_type="application/json").status_code == 404

    body["reaction_description"] = "服药后皮疹"
    saved = manager.put(url + "product/", body, content_type="application/json")
    assert saved.status_code == 200, saved.json()
    product = saved.json()["product"]
    assert (product["batch_no"], product["suspected_adr"]) == ("A2309", True)
    assert product["adr_notified_at"] is not None
    stale = manager.put(url + "product/", body, content_type="application/json")
    assert stale.status_code == 409

    assert manager.post(url + "adr-reported/").status_code == 403
    reported = login(hq).post(url + "adr-reported/")
    assert reported.status_code == 200
    assert reported.json()["product"]["adr_reported_at"] is not None
