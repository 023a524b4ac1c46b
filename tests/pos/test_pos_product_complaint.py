"""A POS or call-centre system files a product complaint with its medicine and batch; a
suspected adverse reaction alerts HQ at once; the schema documents the product object."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from complaints.models import Complaint, ComplaintProduct
from satisfaction.models import Delivery, Notification
from tests.pos.factories import make_key

URL = "/api/v1/pos/complaints/"
RECEIVED = timezone.localtime(timezone.now() - timedelta(hours=2))
COMPLAINT = {"store": "S0001", "channel": "phone", "category": "product_quality",
             "description": "服用后全身起红疹。", "customer_phone": "13800138000",
             "received_at": RECEIVED.isoformat()}
PRODUCT = {"medicine_name": "阿莫西林胶囊", "specification": "0.25g×24粒",
           "manufacturer": "华北制药", "batch_no": "a2309015", "supplier": "国药控股"}


def test_a_pos_key_files_a_product_complaint_with_its_batch(pos_client, store):
    response = pos_client.post(URL, {**COMPLAINT, "product": PRODUCT},
                               content_type="application/json")
    assert response.status_code == 201, response.content
    saved = ComplaintProduct.objects.get()
    assert saved.complaint.ticket_no == response.json()["ticket_no"]
    assert (saved.medicine_name, saved.batch_no, saved.supplier) == (
        "阿莫西林胶囊", "A2309015", "国药控股")


def test_a_suspected_adverse_reaction_from_a_call_centre_alerts_hq(settings, store, hq):
    settings.NOTIFICATION_WEBHOOK_URL = "https://hooks.example.com/adr"
    hq.email = "hq@example.com"
    hq.save(update_fields=["email"])
    _key, secret = make_key(all_stores=True)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    response = client.post(URL, {**COMPLAINT, "product": {
        **PRODUCT, "suspected_adr": True, "patient_age_band": "18-64", "patient_sex": "male",
        "reaction_description": "服药后皮疹", "reaction_outcome": "recovering"}},
        content_type="application/json")
    assert response.status_code == 201, response.content
    assert ComplaintProduct.objects.get().adr_notified_at is not None
    assert Notification.objects.filter(kind="complaint_adr", user=hq).count() == 1
    assert Delivery.objects.filter(kind="complaint_adr").count() == 2  # e-mail and webhook


@pytest.mark.parametrize(("product", "field"), [
    ({"batch_no": "A1"}, "product.medicine_name"),
    ({**PRODUCT, "suspected_adr": True}, "product.reaction_description"),
    ({**PRODUCT, "patient_sex": "robot"}, "product.patient_sex"),
])
def test_a_bad_product_is_a_400_naming_the_field_and_saves_nothing(pos_client, store,
                                                                    product, field):
    response = pos_client.post(URL, {**COMPLAINT, "product": product},
                               content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Complaint.objects.exists()


def test_the_schema_documents_the_product_object(client, db):
    schema = client.get("/api/schema/?format=json").json()
    body = schema["paths"][URL]["post"]["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[1]
    create = schema["components"]["schemas"][ref]
    assert "product" in create["properties"]
    product_schema = create["properties"]["product"]
    refs = [item.get("$ref", "") for item in product_schema.get("allOf", [])
            + product_schema.get("oneOf", [])] + [product_schema.get("$ref", "")]
    name = next(r for r in refs if r).rsplit("/", 1)[1]
    fields = schema["components"]["schemas"][name]
    assert {"medicine_name", "batch_no", "suspected_adr"} <= set(fields["properties"])
    assert "medicine_name" in fields["required"]
