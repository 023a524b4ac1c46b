"""The POS API's wire format: the serializers that document each request and response body, and
the payload helpers that build the response bodies from stored rows.

The serializers are documentation (``extend_schema``): receipts are parsed and validated by
``pos.services`` (``parse_transaction``), responses are built by the ``*_payload`` helpers below,
and only ``PosStoreSerializer`` serializes instances. Their class names are the OpenAPI component
names (``TransactionOutSerializer`` -> ``TransactionOut``): renaming one changes the contract.
"""

from __future__ import annotations

import math
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from complaints.models import Complaint
from pos.models import PosTransaction
from pos.services import STORED_FIELDS, IngestResult, TransactionConflictError
from satisfaction.api_schema import ErrorSerializer
from satisfaction.models import Store
from satisfaction.quarters import Quarter

# --- receipts, stores, metrics, scores (errors: the API's one ErrorSerializer) ---------------

class InvitationSerializer(serializers.Serializer):
    url = serializers.CharField(help_text=gettext_lazy("Short link the customer opens."))
    qr_payload = serializers.CharField(help_text=gettext_lazy(
        "Text to encode in the QR code printed on the receipt."))
    expires_at = serializers.DateTimeField(allow_null=True)


class TransactionInSerializer(serializers.Serializer):
    store = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", max_length=32,
                                   help_text=gettext_lazy("Store code, e.g. S0001."))
    receipt_number = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", max_length=64,
        help_text=gettext_lazy("Unique within the store; the idempotency key."))
    occurred_at = serializers.DateTimeField(help_text=gettext_lazy(
        "ISO 8601; without an offset it is read as the chain's local time."))
    amount = serializers.RegexField(r"^\d{1,10}(\.\d{1,2})?$", help_text=gettext_lazy(
        "Receipt total in yuan, as a decimal string (a JSON number is accepted too)."))
    item_count = serializers.IntegerField(min_value=1, max_value=100_000)
    member_id = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                      max_length=64, help_text=gettext_lazy(
                                          "Loyalty member id; stored only as a keyed hash."))
    cashier = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", required=False,
                                     allow_null=True, allow_blank=True, max_length=32,
                                     help_text=gettext_lazy("Cashier's employee number."))


class TransactionOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    store = serializers.CharField()
    receipt_number = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    amount = serializers.CharField()
    item_count = serializers.IntegerField()
    has_member = serializers.BooleanField()
    cashier = serializers.CharField(allow_null=True)
    received_at = serializers.DateTimeField()
    invitation = InvitationSerializer(allow_null=True)


class ConflictSerializer(ErrorSerializer):
    stored = TransactionOutSerializer(help_text=gettext_lazy("The receipt as first stored."))


class BatchInSerializer(serializers.Serializer):
    items = TransactionInSerializer(many=True, help_text=gettext_lazy("1 to 1,000 receipts."))
    invite = serializers.BooleanField(required=False, default=False, help_text=gettext_lazy(
        "true: sampled new receipts get survey invitations, for systems that print receipts "
        "after the batch's answer. Default false: a batch uploads receipts already printed."))


class BatchItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    created = serializers.BooleanField(help_text=gettext_lazy(
        "false: this receipt was already stored (a retry); nothing was created."))
    id = serializers.IntegerField()
    store = serializers.CharField()
    receipt_number = serializers.CharField()
    invitation = InvitationSerializer(allow_null=True)


class BatchOutSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    replayed = serializers.IntegerField()
    results = BatchItemSerializer(many=True)


class BatchConflictItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    stored = TransactionOutSerializer()


class BatchConflictSerializer(ErrorSerializer):
    conflicts = BatchConflictItemSerializer(many=True)


class PosStoreSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Store
        fields = ["code", "name", "region", "city", "is_active"]


class StoreMetricsSerializer(serializers.Serializer):
    store = serializers.CharField()
    quarter = serializers.CharField()
    transactions = serializers.IntegerField()
    amount = serializers.CharField()
    members = serializers.IntegerField()
    previous_members = serializers.IntegerField()
    returning_members = serializers.IntegerField()
    retained_members = serializers.IntegerField()
    loyalty = serializers.FloatField(allow_null=True)
    retention = serializers.FloatField(allow_null=True)
    complaints = serializers.IntegerField()
    complaints_per_1000 = serializers.FloatField(allow_null=True)


class QuarterScoreSerializer(serializers.Serializer):
    quarter = serializers.CharField()
    status = serializers.ChoiceField(choices=["published", "provisional"])
    revision = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True, help_text=gettext_lazy(
        "Satisfaction value 0-100: survey points + scenario points - complaint deductions."))
    survey_points = serializers.FloatField()
    scenario_points = serializers.FloatField()
    deductions = serializers.FloatField()
    survey_pct = serializers.FloatField(allow_null=True)
    scenario_pct = serializers.FloatField(allow_null=True)
    n_responses = serializers.IntegerField()
    n_visits = serializers.IntegerField()
    n_complaints = serializers.IntegerField()
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField())
    rank_region = serializers.IntegerField(allow_null=True)
    rank_chain = serializers.IntegerField(allow_null=True)


class StoreScoresSerializer(serializers.Serializer):
    store = serializers.CharField()
    scores = QuarterScoreSerializer(many=True)


class TransactionPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TransactionOutSerializer(many=True)


def _numbered_page(name: str, item: type[serializers.Serializer]) -> type:
    """The documented shape of a ``PageNumberPagination`` page of ``item``."""
    return type(name, (serializers.Serializer,), {
        "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True), "results": item(many=True)})


PosStorePageSerializer = _numbered_page("PosStorePageSerializer", PosStoreSerializer)
StoreMetricsPageSerializer = _numbered_page("StoreMetricsPageSerializer",
                                            StoreMetricsSerializer)


# --- complaints filed by POS / call-centre systems -------------------------------------------

class PosComplaintOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ticket_no = serializers.CharField(help_text=gettext_lazy(
        "Ticket number to give the customer (status: /ticket/ on the public site)."))
    store = serializers.CharField()
    channel = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)


# --- payloads: the wire form built from stored rows ------------------------------------------

def _iso(moment) -> str | None:
    return None if moment is None else timezone.localtime(moment).isoformat()


def _invitation_payload(row: dict[str, Any]) -> dict[str, Any] | None:
    if not row["invitation_url"]:
        return None
    return {"url": row["invitation_url"], "qr_payload": row["invitation_qr"],
            "expires_at": _iso(row["invitation_expires_at"])}


def transaction_row(obj: PosTransaction) -> dict[str, Any]:
    """A stored receipt as the row ``transaction_payload`` takes (like the ingest service's)."""
    row = {name: getattr(obj, name) for name in STORED_FIELDS}
    row["store_code"] = obj.store.code
    return row


def transaction_payload(row: dict[str, Any]) -> dict[str, Any]:
    """The wire form of a stored receipt (``row``: ``STORED_FIELDS`` + ``store_code``)."""
    return {
        "id": row["id"], "store": row["store_code"], "receipt_number": row["receipt_number"],
        "occurred_at": _iso(row["occurred_at"]), "amount": f"{row['amount']:.2f}",
        "item_count": row["item_count"], "has_member": bool(row["member_hash"]),
        "cashier": row["cashier_number"] or None, "received_at": _iso(row["received_at"]),
        "invitation": _invitation_payload(row),
    }


def batch_payload(result: IngestResult) -> dict[str, Any]:
    """``BatchOutSerializer``: the counts and one result per item, in item order."""
    results = [{"index": item.index, "created": item.created, "id": item.row["id"],
                "store": item.row["store_code"], "receipt_number": item.row["receipt_number"],
                "invitation": _invitation_payload(item.row)}
               for item in result.items]
    return {"created": result.created, "replayed": result.replayed, "results": results}


def conflict_payload(exc: TransactionConflictError, *, single: bool) -> dict[str, Any]:
    """The 409 body: ``ConflictSerializer`` for one receipt, ``BatchConflictSerializer`` for a
    batch."""
    body: dict[str, Any] = exc.as_dict()
    if single:
        body["stored"] = transaction_payload(exc.conflicts[0][1])
    else:
        body["conflicts"] = [{"index": index, "stored": transaction_payload(row)}
                             for index, row in exc.conflicts]
    return body


def metrics_payload(record: dict[str, Any], *, code: str, quarter: Quarter) -> dict[str, Any]:
    """``StoreMetricsSerializer`` from one record of ``pos_store_metrics_frame``."""
    return {
        "store": code, "quarter": str(quarter),
        **{name: int(record[name]) for name in (
            "transactions", "members", "previous_members", "returning_members",
            "retained_members", "complaints")},
        "amount": f"{record['amount']:.2f}",
        **{name: None if math.isnan(record[name]) else round(float(record[name]), 4)
           for name in ("loyalty", "retention", "complaints_per_1000")},
    }


def complaint_payload(complaint: Complaint, *, store: Store) -> dict[str, Any]:
    """``PosComplaintOutSerializer``."""
    return {
        "id": complaint.pk, "ticket_no": complaint.ticket_no, "store": store.code,
        "channel": complaint.channel, "category": complaint.category,
        "status": complaint.status, "received_at": _iso(complaint.received_at),
        "due_at": _iso(complaint.due_at)}
