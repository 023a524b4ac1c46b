"""The POS integration API under ``/api/v1/pos/`` (guide: ``docs/pos-integration.md``).

Only the views live here: each parses the request, calls ``pos.services`` / ``pos.selectors``
(or the complaints app) and returns the body a ``pos.serializers`` payload helper builds. The
pieces around them:

- ``pos.auth``: API-key authentication, ``HasPosApiKey``, ``PosKeyThrottle``, the store scoping
  helpers and the OpenAPI security scheme ``PosApiKey``;
- ``pos.serializers``: the wire format (serializers = OpenAPI components) and payload helpers;
- ``pos.schema``: the documented error responses, examples and parameters.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints.api import ComplaintCreateSerializer, product_errors, product_input
from complaints.models import Source
from complaints.services import complaint_create
from pos.auth import (
    POS_AUTH,
    POS_AUTH_OR_SESSION,
    HasPosApiKey,
    PosKeyThrottle,
    api_store_ids,
    pos_client_store_ids,
    pos_scope_to_stores,
)
from pos.schema import (
    ERROR_400,
    ERROR_403,
    ERROR_404,
    ERROR_429,
    ERROR_503,
    EXAMPLE_IN,
    EXAMPLE_OUT,
    QUARTER_PARAM,
)
from pos.selectors import (
    pos_store_metrics_frame,
    pos_store_scores,
    pos_transaction_list,
)
from pos.serializers import (
    BatchConflictSerializer,
    BatchInSerializer,
    BatchOutSerializer,
    ConflictSerializer,
    PosComplaintOutSerializer,
    PosStorePageSerializer,
    PosStoreSerializer,
    StoreMetricsPageSerializer,
    StoreScoresSerializer,
    TransactionInSerializer,
    TransactionOutSerializer,
    TransactionPageSerializer,
    batch_payload,
    complaint_payload,
    conflict_payload,
    metrics_payload,
    transaction_payload,
    transaction_row,
)
from pos.services import TransactionConflictError, pos_transactions_ingest
from satisfaction import rules
from satisfaction.api_errors import RejectHostileInput
from satisfaction.api_schema import ErrorSerializer, quarter_parameter
from satisfaction.errors import ApplicationError
from satisfaction.models import Store
from satisfaction.permissions import rule_permission
from satisfaction.quarters import Quarter, quarter_param

# --- request helpers -------------------------------------------------------------------------

def _quarter(request: Request) -> Quarter:
    return quarter_param(request.query_params, default=Quarter.current(), strict=True)


# Reads open to POS systems and to the people who work with store data (not shoppers).
STAFF_OR_POS_KEY = rule_permission(rules.sees_store_data) | HasPosApiKey


def _readable_store_or_404(request: Request, code: str) -> Store:
    store_ids = api_store_ids(request)
    queryset = Store.objects.filter(code=code)
    if store_ids is not None:
        queryset = queryset.filter(pk__in=store_ids)
    store = queryset.first()
    if store is None:
        raise Http404
    return store


# --- views -----------------------------------------------------------------------------------

class PosCursorPagination(CursorPagination):
    ordering = ("-occurred_at", "-id")
    page_size = 100


class PosApiView(RejectHostileInput, APIView):
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
                   400: ERROR_400, 403: ERROR_403,
                   409: OpenApiResponse(ConflictSerializer, description=gettext_lazy(
                       "Same receipt already stored with different contents.")),
                   429: ERROR_429, 503: ERROR_503},
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
            return Response(conflict_payload(exc, single=True),
                            status=status.HTTP_409_CONFLICT)
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
        responses={200: TransactionPageSerializer, 400: ERROR_400,
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
            [transaction_payload(transaction_row(obj)) for obj in page])


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
                   400: ERROR_400, 403: ERROR_403,
                   409: OpenApiResponse(BatchConflictSerializer), 429: ERROR_429,
                   503: ERROR_503},
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
            result = pos_transactions_ingest(api_key=request.auth, items=items, invite=invite)
        except TransactionConflictError as exc:
            return Response(conflict_payload(exc, single=False),
                            status=status.HTTP_409_CONFLICT)
        return Response(batch_payload(result),
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class TransactionDetailView(PosApiView):
    @extend_schema(operation_id="pos_transaction_retrieve", tags=["POS"],
                   summary="Read one stored receipt",
                   responses={200: TransactionOutSerializer, 404: ERROR_404, 429: ERROR_429})
    def get(self, request: Request, store: str, receipt_number: str) -> Response:
        queryset = pos_transaction_list(store_ids=pos_client_store_ids(request))
        obj = queryset.filter(store__code=store, receipt_number=receipt_number).first()
        if obj is None:
            raise Http404
        return Response(transaction_payload(transaction_row(obj)))


class PosStoreListView(PosApiView):
    @extend_schema(operation_id="pos_store_list", tags=["POS"],
                   summary="The stores this key acts for",
                   responses={200: PosStorePageSerializer, 429: ERROR_429})
    def get(self, request: Request) -> Response:
        queryset = Store.objects.select_related("region").order_by("code")
        store_ids = pos_client_store_ids(request)
        if store_ids is not None:
            queryset = queryset.filter(pk__in=store_ids)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(PosStoreSerializer(page, many=True).data)


class StoreMetricsView(RejectHostileInput, APIView):
    authentication_classes = POS_AUTH_OR_SESSION
    permission_classes = [STAFF_OR_POS_KEY]
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
        responses={200: StoreMetricsPageSerializer, 400: ERROR_400,
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
        rows = [metrics_payload(record, code=codes.get(record["store_id"], ""), quarter=quarter)
                for record in frame.to_dict("records")]
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(page)


class StoreScoresView(RejectHostileInput, APIView):
    authentication_classes = POS_AUTH_OR_SESSION
    permission_classes = [STAFF_OR_POS_KEY]
    throttle_classes = [PosKeyThrottle]

    @extend_schema(
        operation_id="pos_store_scores", tags=["POS"],
        summary="A store's published satisfaction scores by quarter",
        parameters=[quarter_parameter(gettext_lazy("Only this quarter."))],
        responses={200: StoreScoresSerializer,
                   400: ERROR_400, 404: ERROR_404, 429: ERROR_429},
    )
    def get(self, request: Request, store: str) -> Response:
        store_obj = _readable_store_or_404(request, store)
        quarter = _quarter(request) if request.query_params.get("quarter") else None
        return Response({"store": store_obj.code,
                         "scores": pos_store_scores(store=store_obj, quarter=quarter)})


class PosComplaintCreateView(PosApiView):
    @extend_schema(
        operation_id="pos_complaint_create", tags=["POS"],
        summary="File a customer complaint from a POS or call-centre system",
        description=gettext_lazy(
            "Creates the complaint through the complaints app (source: other system), which "
            "starts its 24-hour handling clock. The key must cover the store (403 otherwise)."),
        request=ComplaintCreateSerializer,
        responses={201: PosComplaintOutSerializer, 400: ERROR_400,
                   403: ERROR_403, 429: ERROR_429},
        examples=[OpenApiExample("call centre", request_only=True, value={
            "store": "S0001", "channel": "phone", "category": "service_attitude",
            "description": "店员态度冷淡，没有询问病情就推荐了药品。",
            "customer_name": "张先生", "customer_phone": "13800138000",
            "occurred_at": "2026-11-24T10:30:00+08:00"}),
            OpenApiExample("product with a suspected adverse reaction", request_only=True,
                           value={
                "store": "S0001", "channel": "phone", "category": "product_quality",
                "description": "服用后全身起红疹。", "customer_phone": "13800138000",
                "product": {"medicine_name": "阿莫西林胶囊", "specification": "0.25g×24粒",
                            "manufacturer": "某某制药有限公司", "batch_no": "A2309015",
                            "supplier": "某某医药公司", "suspected_adr": True,
                            "patient_age_band": "18-64", "patient_sex": "female",
                            "reaction_description": "服药第二天全身皮疹、瘙痒",
                            "reaction_started_on": "2026-11-23",
                            "reaction_outcome": "recovering"}})],
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
        with product_errors():
            complaint = complaint_create(
                store=store, channel=data["channel"], category=data["category"],
                description=data["description"], customer_name=data["customer_name"],
                customer_phone=data["customer_phone"], occurred_at=data["occurred_at"],
                received_at=data["received_at"], employee=employee, source=Source.API,
                previous_ticket=data.get("previous_ticket", ""), product=product_input(data),
                customer_email=data.get("customer_email", ""))
        return Response(complaint_payload(complaint, store=store), status=status.HTTP_201_CREATED)
