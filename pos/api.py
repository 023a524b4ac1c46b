"""The POS integration API under ``/api/v1/pos/`` (guide: ``docs/pos-integration.md``).

Other apps' views open themselves to POS / call-centre systems by adding
``PosApiKeyAuthentication`` to ``authentication_classes`` and ``IsAuthenticated | HasPosApiKey``
to ``permission_classes`` (plus ``PosKeyThrottle``), then scoping their queryset with
``api_store_ids(request)`` / ``pos_scope_to_stores(queryset, request)``.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework_api_key.permissions import KeyParser

from complaints.api import ComplaintCreateSerializer
from complaints.models import Source
from complaints.services import complaint_create
from pos.models import PosApiKey, PosTransaction
from pos.selectors import (
    pos_store_metrics_frame,
    pos_store_scores,
    pos_transaction_list,
)
from pos.services import (
    STORED_FIELDS,
    IngestResult,
    TransactionConflictError,
    pos_transactions_ingest,
)
from satisfaction.errors import ApplicationError
from satisfaction.models import Store
from satisfaction.quarters import InvalidQuarterError, Quarter
from satisfaction.scoping import sees_all_stores, visible_stores

# --- authentication, permission, throttling, scoping -----------------------------------------


class PosApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Api-Key <prefix>.<secret>`` (or ``X-Api-Key: ...``).

    On success ``request.user`` is anonymous (a key is not a person: page scoping by user finds
    no stores) and ``request.auth`` is the :class:`PosApiKey`; its stores are read with
    ``pos_client_store_ids(request)``.
    """

    keyword = "Api-Key"
    parser = KeyParser()

    def authenticate(self, request: Request) -> tuple[AnonymousUser, PosApiKey] | None:
        raw = self.parser.get_from_authorization(request) or request.META.get("HTTP_X_API_KEY")
        if not raw:
            return None
        try:
            api_key = PosApiKey.objects.get_from_key(raw.strip())
        except PosApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key.")) from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class HasPosApiKey(BasePermission):
    """The request was authenticated with a valid POS API key."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, PosApiKey)


class PosKeyThrottle(SimpleRateThrottle):
    """Per-key rate (``POS_THROTTLE_RATE``, or the key's own ``throttle_rate``); 429 with
    ``Retry-After`` when exceeded. Requests without a key are not throttled here."""

    scope = "pos_key"

    def get_rate(self) -> str:
        return settings.POS_THROTTLE_RATE

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, PosApiKey):
            return True
        rate = api_key.throttle_rate or settings.POS_THROTTLE_RATE
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        api_key = request.auth
        if not isinstance(api_key, PosApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": api_key.prefix}


def pos_client_store_ids(request: Request) -> QuerySet | None:
    """Ids of the stores the request's API key acts for, as a subquery for
    ``filter(store__in=...)``; ``None`` for an all-stores key (every store).

    Raises ``PermissionDenied`` when the request carries no POS key.
    """
    api_key = request.auth
    if not isinstance(api_key, PosApiKey):
        raise exceptions.PermissionDenied
    if api_key.all_stores:
        return None
    return Store.objects.filter(pos_api_keys=api_key).values("pk")


def api_store_ids(request: Request) -> QuerySet | None:
    """Stores the caller may read, as a subquery: the key's stores, or the logged-in user's
    visible stores; ``None`` means every store."""
    if isinstance(request.auth, PosApiKey):
        return pos_client_store_ids(request)
    if sees_all_stores(request.user):
        return None
    return visible_stores(request.user).values("pk")


def pos_scope_to_stores(queryset: QuerySet, request: Request,
                        store_field: str = "store") -> QuerySet:
    """Restrict a queryset to the stores the key (or the user) may read."""
    store_ids = api_store_ids(request)
    if store_ids is None:
        return queryset
    return queryset.filter(**{f"{store_field}__in": store_ids})


POS_AUTH = [PosApiKeyAuthentication]
POS_AUTH_OR_SESSION = [PosApiKeyAuthentication, SessionAuthentication]


# --- documentation serializers (the wire format) ----------------------------------------------

class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=gettext_lazy(
        "Stable reason: invalid, batch_too_large, not_authenticated, authentication_failed, "
        "permission_denied, forbidden_store, not_found, conflict, throttled."))
    detail = serializers.CharField(help_text=gettext_lazy("Human-readable message."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=gettext_lazy("Messages per field; in a batch the field is named "
                               "items[<index>].<field>."))


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


class PosApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "pos.api.PosApiKeyAuthentication"
    name = "PosApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <prefix>.<secret>` as HQ issued it (the header "
                               "`X-Api-Key: <prefix>.<secret>` works too)."}


# --- payloads --------------------------------------------------------------------------------

def _iso(moment) -> str | None:
    return None if moment is None else timezone.localtime(moment).isoformat()


def transaction_payload(row: dict[str, Any]) -> dict[str, Any]:
    """The wire form of a stored receipt (``row``: ``STORED_FIELDS`` + ``store_code``)."""
    invitation = None
    if row["invitation_url"]:
        invitation = {"url": row["invitation_url"], "qr_payload": row["invitation_qr"],
                      "expires_at": _iso(row["invitation_expires_at"])}
    return {
        "id": row["id"], "store": row["store_code"], "receipt_number": row["receipt_number"],
        "occurred_at": _iso(row["occurred_at"]), "amount": f"{row['amount']:.2f}",
        "item_count": row["item_count"], "has_member": bool(row["member_hash"]),
        "cashier": row["cashier_number"] or None, "received_at": _iso(row["received_at"]),
        "invitation": invitation,
    }


def _instance_row(obj: PosTransaction) -> dict[str, Any]:
    row = {name: getattr(obj, name) for name in STORED_FIELDS}
    row["store_code"] = obj.store.code
    return row


def _conflict_response(exc: TransactionConflictError, *, single: bool) -> Response:
    body: dict[str, Any] = exc.as_dict()
    if single:
        body["stored"] = transaction_payload(exc.conflicts[0][1])
    else:
        body["conflicts"] = [{"index": index, "stored": transaction_payload(row)}
                             for index, row in exc.conflicts]
    return Response(body, status=status.HTTP_409_CONFLICT)


# --- examples --------------------------------------------------------------------------------

EXAMPLE_IN = {"store": "S0001", "receipt_number": "R20261124-000123",
              "occurred_at": "2026-11-24T18:05:00+08:00", "amount": "36.50", "item_count": 3,
              "member_id": "M88001234", "cashier": "E00002"}
EXAMPLE_OUT = {"id": 1201, "store": "S0001", "receipt_number": "R20261124-000123",
               "occurred_at": "2026-11-24T18:05:00+08:00", "amount": "36.50", "item_count": 3,
               "has_member": True, "cashier": "E00002",
               "received_at": "2026-11-24T18:05:01.204000+08:00",
               "invitation": {"url": "http://127.0.0.1:8000/s/k3Xq9Z",
                              "qr_payload": "http://127.0.0.1:8000/s/k3Xq9Z",
                              "expires_at": "2026-12-01T18:05:01+08:00"}}
ERROR_400 = OpenApiResponse(ErrorSerializer, description=gettext_lazy("Invalid fields."),
                            examples=[OpenApiExample("invalid", response_only=True, value={
                                "code": "invalid",
                                "detail": "The request has invalid fields; nothing was stored.",
                                "fields": {"amount": ["At most 2 decimal places."]}})])
ERROR_401 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "No key, or an invalid, revoked or expired key."), examples=[OpenApiExample(
        "not_authenticated", response_only=True, value={
            "code": "not_authenticated",
            "detail": "Authentication credentials were not provided.", "fields": {}})])
ERROR_403 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "The key may not post for that store."), examples=[OpenApiExample(
        "forbidden_store", response_only=True, value={
            "code": "forbidden_store",
            "detail": "The API key is not allowed to post for these stores.",
            "fields": {"store": ["This API key may not post for store S0011."]}})])
ERROR_404 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "Not found, or not one of the key's stores."))
ERROR_429 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "Too many requests for this key; retry after the Retry-After header's seconds."),
    examples=[OpenApiExample("throttled", response_only=True, value={
        "code": "throttled", "detail": "Request was throttled. Expected available in 12 seconds.",
        "fields": {}})])
QUARTER_PARAM = OpenApiParameter("quarter", OpenApiTypes.STR, description=gettext_lazy(
    "Quarter such as 2026Q4 (default: the current quarter)."), pattern=r"^\d{4}Q[1-4]$")


def _quarter(request: Request) -> Quarter:
    text = request.query_params.get("quarter")
    if not text:
        return Quarter.current()
    try:
        return Quarter.parse(text)
    except InvalidQuarterError:
        raise ApplicationError(_("Not a quarter such as 2026Q4."),
                               fields={"quarter": [_("Not a quarter such as 2026Q4.")]}) from None


# --- views -----------------------------------------------------------------------------------

class PosCursorPagination(CursorPagination):
    ordering = ("-occurred_at", "-id")
    page_size = 100


class PosApiView(APIView):
    authentication_classes = POS_AUTH
    permission_classes = [HasPosApiKey]
    throttle_classes = [PosKeyThrottle]


class TransactionListCreateView(PosApiView):
    @extend_schema(
        operation_id="pos_transaction_create", tags=["POS"],
        summary="Post one receipt (idempotent on store + receipt number)",
        request=TransactionInSerializer,
        responses={201: OpenApiResponse(TransactionOutSerializer, description=gettext_lazy(
                       "Stored now. `invitation` is set when the receipt was sampled for a "
                       "survey.")),
                   200: OpenApiResponse(TransactionOutSerializer, description=gettext_lazy(
                       "Already stored with the same contents (a retry): the stored result.")),
                   400: ERROR_400, 401: ERROR_401, 403: ERROR_403,
                   409: OpenApiResponse(ConflictSerializer, description=gettext_lazy(
                       "Same receipt already stored with different contents.")),
                   429: ERROR_429},
        parameters=[OpenApiParameter(
            "Idempotent-Replayed", OpenApiTypes.STR, location=OpenApiParameter.HEADER,
            response=[200, 201], enum=["true", "false"], description=gettext_lazy(
                "true: the receipt was already stored and nothing was created."))],
        examples=[OpenApiExample("receipt", value=EXAMPLE_IN, request_only=True),
                  OpenApiExample("stored", value=EXAMPLE_OUT, response_only=True,
                                 status_codes=["201", "200"])],
    )
    def post(self, request: Request) -> Response:
        try:
            result = pos_transactions_ingest(api_key=request.auth, items=[request.data],
                                             single=True)
        except TransactionConflictError as exc:
            return _conflict_response(exc, single=True)
        item = result.items[0]
        response = Response(transaction_payload(item.row),
                            status=status.HTTP_201_CREATED if item.created else status.HTTP_200_OK)
        response["Idempotent-Replayed"] = "false" if item.created else "true"
        return response

    @extend_schema(
        operation_id="pos_transaction_list", tags=["POS"],
        summary="List the key's receipts, newest first (cursor pagination)",
        parameters=[OpenApiParameter("store", OpenApiTypes.STR),
                    OpenApiParameter("since", OpenApiTypes.DATETIME),
                    OpenApiParameter("until", OpenApiTypes.DATETIME),
                    OpenApiParameter("cursor", OpenApiTypes.STR)],
        responses={200: TransactionPageSerializer, 400: ERROR_400, 401: ERROR_401,
                   404: OpenApiResponse(ErrorSerializer, description=gettext_lazy(
                       "Invalid cursor.")), 429: ERROR_429},
    )
    def get(self, request: Request) -> Response:
        queryset = pos_transaction_list(store_ids=pos_client_store_ids(request))
        errors: dict[str, list[str]] = {}
        if store_code := request.query_params.get("store"):
            queryset = queryset.filter(store__code=store_code)
        for name, lookup in (("since", "occurred_at__gte"), ("until", "occurred_at__lt")):
            if value := request.query_params.get(name):
                moment = serializers.DateTimeField().to_internal_value
                try:
                    queryset = queryset.filter(**{lookup: moment(value)})
                except serializers.ValidationError:
                    errors[name] = [_("Not an ISO 8601 date-time.")]
        if errors:
            raise ApplicationError(_("The request has invalid fields."), fields=errors)
        paginator = PosCursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(
            [transaction_payload(_instance_row(obj)) for obj in page])


class TransactionBatchView(PosApiView):
    @extend_schema(
        operation_id="pos_transaction_batch", tags=["POS"],
        summary="Post up to 1,000 receipts at once (all or nothing)",
        description=gettext_lazy(
            "The batch is validated as a whole: if any item is invalid (400), for a store the "
            "key may not post for (403) or conflicts with a stored receipt (409), nothing of the "
            "batch is stored and the errors name the item index (items[3].amount). Items "
            "already stored with the same contents are reported with created=false."),
        request=BatchInSerializer,
        responses={201: OpenApiResponse(BatchOutSerializer, description=gettext_lazy(
                       "At least one receipt was stored now.")),
                   200: OpenApiResponse(BatchOutSerializer, description=gettext_lazy(
                       "Every receipt was already stored (a retried batch).")),
                   400: ERROR_400, 401: ERROR_401, 403: ERROR_403,
                   409: OpenApiResponse(BatchConflictSerializer), 429: ERROR_429},
        examples=[OpenApiExample("batch", request_only=True, value={"items": [
            EXAMPLE_IN, {**EXAMPLE_IN, "receipt_number": "R20261124-000124", "member_id": None,
                         "amount": "12.00", "item_count": 1}]}),
                  OpenApiExample("stored", response_only=True, status_codes=["201"], value={
                      "created": 2, "replayed": 0, "results": [
                          {"index": 0, "created": True, "id": 1201, "store": "S0001",
                           "receipt_number": "R20261124-000123", "invitation": None},
                          {"index": 1, "created": True, "id": 1202, "store": "S0001",
                           "receipt_number": "R20261124-000124",
                           "invitation": EXAMPLE_OUT["invitation"]}]})],
    )
    def post(self, request: Request) -> Response:
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if not isinstance(items, list):
            raise ApplicationError(_('Send {"items": [...]}.'),
                                   fields={"items": [_("A list of transactions is required.")]})
        invite = request.data.get("invite", False)
        if not isinstance(invite, bool):
            raise ApplicationError(_("The request has invalid fields."),
                                   fields={"invite": [_("Must be true or false.")]})
        try:
            result: IngestResult = pos_transactions_ingest(api_key=request.auth, items=items,
                                                           invite=invite)
        except TransactionConflictError as exc:
            return _conflict_response(exc, single=False)
        results = []
        for item in result.items:
            row = item.row
            invitation = None
            if row["invitation_url"]:
                invitation = {"url": row["invitation_url"], "qr_payload": row["invitation_qr"],
                              "expires_at": _iso(row["invitation_expires_at"])}
            results.append({"index": item.index, "created": item.created, "id": row["id"],
                            "store": row["store_code"], "receipt_number": row["receipt_number"],
                            "invitation": invitation})
        return Response({"created": result.created, "replayed": result.replayed,
                         "results": results},
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class TransactionDetailView(PosApiView):
    @extend_schema(operation_id="pos_transaction_retrieve", tags=["POS"],
                   summary="Read one stored receipt",
                   responses={200: TransactionOutSerializer, 401: ERROR_401, 404: ERROR_404,
                              429: ERROR_429})
    def get(self, request: Request, store: str, receipt_number: str) -> Response:
        queryset = pos_transaction_list(store_ids=pos_client_store_ids(request))
        obj = queryset.filter(store__code=store, receipt_number=receipt_number).first()
        if obj is None:
            raise Http404
        return Response(transaction_payload(_instance_row(obj)))


class PosStoreListView(PosApiView):
    @extend_schema(operation_id="pos_store_list", tags=["POS"],
                   summary="The stores this key acts for",
                   responses={200: PosStorePageSerializer, 401: ERROR_401,
                              429: ERROR_429})
    def get(self, request: Request) -> Response:
        queryset = Store.objects.select_related("region").order_by("code")
        store_ids = pos_client_store_ids(request)
        if store_ids is not None:
            queryset = queryset.filter(pk__in=store_ids)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(PosStoreSerializer(page, many=True).data)


def _readable_store_or_404(request: Request, code: str) -> Store:
    store_ids = api_store_ids(request)
    queryset = Store.objects.filter(code=code)
    if store_ids is not None:
        queryset = queryset.filter(pk__in=store_ids)
    store = queryset.first()
    if store is None:
        raise Http404
    return store


class StoreMetricsView(APIView):
    authentication_classes = POS_AUTH_OR_SESSION
    permission_classes = [IsAuthenticated | HasPosApiKey]
    throttle_classes = [PosKeyThrottle]

    @extend_schema(
        operation_id="pos_store_metrics", tags=["POS"],
        summary="Loyalty, retention and complaints per 1,000 receipts, per store",
        description=gettext_lazy(
            "loyalty: share of the store's members of the previous quarter who bought again at "
            "the store this quarter; retention: share of them who bought anywhere in the chain "
            "this quarter; complaints_per_1000: complaints received / receipts × 1000. null "
            "when the denominator is 0. For an API key: its stores; for a logged-in user: the "
            "stores the user may see."),
        parameters=[QUARTER_PARAM, OpenApiParameter("store", OpenApiTypes.STR),
                    OpenApiParameter("page", OpenApiTypes.INT)],
        responses={200: StoreMetricsPageSerializer, 400: ERROR_400, 401: ERROR_401,
                   404: ERROR_404, 429: ERROR_429},
    )
    def get(self, request: Request) -> Response:
        quarter = _quarter(request)
        store_ids = api_store_ids(request)
        if code := request.query_params.get("store"):
            store_ids = [_readable_store_or_404(request, code).pk]
        elif store_ids is not None:
            store_ids = [row["pk"] for row in store_ids]
        frame = pos_store_metrics_frame(quarter=quarter, store_ids=store_ids)
        codes = dict(Store.objects.filter(pk__in=frame["store_id"].tolist())
                     .values_list("pk", "code"))
        rows = [_metrics_row(record, code=codes.get(record["store_id"], ""), quarter=quarter)
                for record in frame.to_dict("records")]
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(page)


def _metrics_row(record: dict[str, Any], *, code: str, quarter: Quarter) -> dict[str, Any]:
    return {
        "store": code, "quarter": str(quarter),
        **{name: int(record[name]) for name in (
            "transactions", "members", "previous_members", "returning_members",
            "retained_members", "complaints")},
        "amount": f"{record['amount']:.2f}",
        **{name: None if math.isnan(record[name]) else round(float(record[name]), 4)
           for name in ("loyalty", "retention", "complaints_per_1000")},
    }


class StoreScoresView(APIView):
    authentication_classes = POS_AUTH_OR_SESSION
    permission_classes = [IsAuthenticated | HasPosApiKey]
    throttle_classes = [PosKeyThrottle]

    @extend_schema(
        operation_id="pos_store_scores", tags=["POS"],
        summary="A store's published satisfaction scores by quarter",
        parameters=[OpenApiParameter("quarter", OpenApiTypes.STR, pattern=r"^\d{4}Q[1-4]$",
                                     description=gettext_lazy("Only this quarter."))],
        responses={200: StoreScoresSerializer,
                   400: ERROR_400, 401: ERROR_401, 404: ERROR_404, 429: ERROR_429},
    )
    def get(self, request: Request, store: str) -> Response:
        store_obj = _readable_store_or_404(request, store)
        quarter = _quarter(request) if request.query_params.get("quarter") else None
        return Response({"store": store_obj.code,
                         "scores": pos_store_scores(store=store_obj, quarter=quarter)})


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


class PosComplaintCreateView(PosApiView):
    @extend_schema(
        operation_id="pos_complaint_create", tags=["POS"],
        summary="File a customer complaint from a POS or call-centre system",
        description=gettext_lazy(
            "Creates the complaint through the complaints app (source: other system), which "
            "starts its 24-hour handling clock. The key must cover the store (403 otherwise)."),
        request=ComplaintCreateSerializer,
        responses={201: PosComplaintOutSerializer, 400: ERROR_400, 401: ERROR_401,
                   403: ERROR_403, 429: ERROR_429},
        examples=[OpenApiExample("call centre", request_only=True, value={
            "store": "S0001", "channel": "phone", "category": "service_attitude",
            "description": "店员态度冷淡，没有询问病情就推荐了药品。",
            "customer_name": "张先生", "customer_phone": "13800138000",
            "occurred_at": "2026-11-24T10:30:00+08:00"})],
    )
    def post(self, request: Request) -> Response:
        serializer = ComplaintCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        store = pos_scope_to_stores(Store.objects.filter(code=data["store"]), request,
                                    store_field="pk").first()
        if store is None:
            if not request.auth.all_stores or Store.objects.filter(code=data["store"]).exists():
                raise ApplicationError(
                    _("The API key is not allowed to post for these stores."),
                    fields={"store": [_("This API key may not post for store %(code)s.")
                                      % {"code": data["store"]}]},
                    code="forbidden_store", status=403)
            raise ApplicationError(_("The request has invalid fields."), fields={
                "store": [_("No store has the code %(code)s.") % {"code": data["store"]}]})
        employee = None
        if data.get("employee"):
            employee = store.employees.filter(number=data["employee"]).first()
            if employee is None:
                raise ApplicationError(_("The request has invalid fields."), fields={
                    "employee": [_("No employee with this number at the store.")]})
        complaint = complaint_create(
            store=store, channel=data["channel"], category=data["category"],
            description=data["description"], customer_name=data["customer_name"],
            customer_phone=data["customer_phone"], occurred_at=data["occurred_at"],
            received_at=data["received_at"], employee=employee, source=Source.API,
            previous_ticket=data.get("previous_ticket", ""))
        return Response({
            "id": complaint.pk, "ticket_no": complaint.ticket_no, "store": store.code,
            "channel": complaint.channel, "category": complaint.category,
            "status": complaint.status, "received_at": _iso(complaint.received_at),
            "due_at": _iso(complaint.due_at)}, status=status.HTTP_201_CREATED)

