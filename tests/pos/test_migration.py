"""Moving the POS models from the core app to ``pos`` keeps every stored key, link and receipt."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

BEFORE = [("satisfaction", "0002_posapikey_postransaction"),
          ("contenttypes", "0002_remove_content_type_name")]
AFTER = ("satisfaction", "0003_pos_models_moved")

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_keeps_existing_keys_store_links_and_receipts(migrator):
    old = migrator.apply_initial_migration(BEFORE)
    region = old.apps.get_model("satisfaction", "Region").objects.create(code="R", name="R")
    store_model = old.apps.get_model("satisfaction", "Store")
    store = store_model.objects.create(code="S1", name="S1", region=region, city="上海")
    other = store_model.objects.create(code="S2", name="S2", region=region, city="上海")
    key = old.apps.get_model("satisfaction", "PosApiKey").objects.create(
        id="abcdefgh.hash", prefix="abcdefgh", hashed_key="hash", name="till", revoked=False)
    key.stores.set([store, other])
    moment = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    receipt = old.apps.get_model("satisfaction", "PosTransaction").objects.create(
        store=store, receipt_number="R-1", occurred_at=moment, amount=Decimal("36.50"),
        item_count=2, member_hash="f" * 64, api_key=key, received_at=moment)
    content_type = old.apps.get_model("contenttypes", "ContentType")
    content_type.objects.get_or_create(app_label="satisfaction", model="posapikey")

    new = migrator.apply_tested_migration([AFTER, ("pos", "0001_initial")])

    moved_key = new.apps.get_model("pos", "PosApiKey").objects.get(pk="abcdefgh.hash")
    assert moved_key.name == "till"
    assert sorted(moved_key.stores.values_list("code", flat=True)) == ["S1", "S2"]
    moved = new.apps.get_model("pos", "PosTransaction").objects.get(pk=receipt.pk)
    assert (moved.store_id, moved.receipt_number, moved.amount, moved.api_key_id) == (
        store.pk, "R-1", Decimal("36.50"), "abcdefgh.hash")
    assert moved.occurred_at == moment
    assert new.apps.get_model("contenttypes", "ContentType").objects.filter(
        app_label="pos", model="posapikey").exists()
    # New receipts continue the id sequence rather than colliding with the moved ones.
    later = new.apps.get_model("pos", "PosTransaction").objects.create(
        store_id=store.pk, receipt_number="R-2", occurred_at=moment, amount=Decimal(1),
        item_count=1, received_at=moment)
    assert later.pk > receipt.pk
    migrator.reset()
