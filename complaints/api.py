"""REST API for complaints: create from other systems, scoped reads, state changes through
actions (never a free write to the status field), figures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from satisfaction.api_errors import RejectHostileInput
from satisfaction.api_schema import QuarterField, RequestDateField
from satisfaction.errors import ApplicationError
from satisfaction.masking import mask_email, mask_name, mask_phone
from satisfaction.models import Employee, User
from satisfaction.permissions import rule_permission
from satisfaction.scoping import visible_stores

from . import rules, selectors, services
from .models import (
    AgeBand,
    AppealKind,
    Category,
    Channel,
    Complaint,
    ComplaintProduct,
    EightDReport,
    Grade,
    ReactionOutcome,
    Responsibility,
    Sex,
    Source,
    Status,
)


class ProductSerializer(serializers.ModelSerializer):
    """The medicine of a product-quality complaint (category ``product_quality`` only)."""

    medicine_name = serializers.CharField(max_length=200)
    patient_age_band = serializers.ChoiceField(choices=AgeBand.choices, required=False,
                                               allow_blank=True, default="")
    patient_sex = serializers.ChoiceField(choices=Sex.choices, required=False,
                                          allow_blank=True, default="")
    reaction_outcome = serializers.ChoiceField(choices=ReactionOutcome.choices, required=False,
                                               allow_blank=True, default="")
    suspected_adr = serializers.BooleanField(
        required=False, default=False,
        help_text="Suspected adverse drug reaction: HQ is alerted at once, whatever the grade; "
                  "reaction_description is then required.")
    reaction_started_on = serializers.DateField(required=False, allow_null=True, default=None)

    class Meta:
        model = ComplaintProduct
        fields = ["medicine_name", "specification", "manufacturer", "batch_no", "supplier",
                  "suspected_adr", "patient_age_band", "patient_sex", "reaction_description",
                  "reaction_started_on", "reaction_outcome"]
        extra_kwargs = {name: {"required": False, "allow_blank": True, "default": ""}
                        for name in ("specification", "manufacturer", "batch_no", "supplier",
                                     "reaction_description")}


class ProductOutSerializer(ProductSerializer):
    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "adr_notified_at", "adr_reported_at"]
        read_only_fields = fields


class ProductUpdateSerializer(ProductSerializer):
    """Complete or correct the product details: the whole object, with the complaint's
    ``version`` read (409 when someone saved in between)."""

    version = serializers.IntegerField(min_value=1)

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "version"]


def product_input(data: dict) -> services.ProductInput | None:
    """The validated ``product`` object of a create request for ``complaint_create``."""
    product = data.get("product")
    return None if product is None else services.ProductInput(**product)


@contextmanager
def product_errors() -> Iterator[None]:
    """Name the service's product field errors by their place in the request body
    (``product.medicine_name``), as the serializer's own errors are named."""
    try:
        yield
    except ApplicationError as error:
        if not any(name in services.PRODUCT_FIELDS for name in error.fields):
            raise
        raise ApplicationError(error.message, fields={
            f"product.{name}" if name in services.PRODUCT_FIELDS else name: messages
            for name, messages in error.fields.items()}, code=error.code,
            status=error.status) from error


class ComplaintSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    employee = serializers.SlugRelatedField(slug_field="number", read_only=True,
                                            allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # Empty until the complaint is graded (ModelSerializer's read-only fields lose allow_blank).
    grade = serializers.ChoiceField(choices=Grade.choices, allow_blank=True, read_only=True)
    responsibility = serializers.ChoiceField(choices=Responsibility.choices, allow_blank=True,
                                             read_only=True)
    customer_name = serializers.SerializerMethodField()
    customer_phone = serializers.SerializerMethodField()
    customer_email = serializers.SerializerMethodField()
    product = ProductOutSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Complaint
        fields = ["id", "ticket_no", "store", "channel", "source", "customer_name",
                  "customer_phone", "customer_email", "category", "description",
                  "occurred_at", "received_at",
                  "employee", "grade", "substantiated", "responsibility", "owner", "status",
                  "first_response_at", "remedy", "customer_satisfied", "resolved_at",
                  "resolved_on_time", "closed_at", "is_second", "due_at", "escalation_level",
                  "version", "product"]
        read_only_fields = fields

    def _full(self, obj: Complaint) -> bool:
        return rules.sees_contact(self.context["request"].user,
                                  obj if self.context.get("detail") else None)

    def get_customer_name(self, obj: Complaint) -> str:
        return obj.customer_name if self._full(obj) else mask_name(obj.customer_name)

    def get_customer_phone(self, obj: Complaint) -> str:
        return obj.customer_phone if self._full(obj) else mask_phone(obj.customer_phone)

    def get_customer_email(self, obj: Complaint) -> str:
        return obj.customer_email if self._full(obj) else mask_email(
            obj.customer_email)


class ComplaintCreateSerializer(serializers.Serializer):
    store = serializers.CharField(help_text="Store code")
    channel = serializers.ChoiceField(choices=Channel.choices)
    category = serializers.ChoiceField(choices=Category.choices)
    description = serializers.CharField(max_length=4000)
    customer_name = serializers.CharField(max_length=100, required=False, default="",
                                          allow_blank=True)
    customer_phone = serializers.CharField(max_length=32, required=False, default="",
                                           allow_blank=True)
    customer_email = serializers.EmailField(
        max_length=254, required=False, default="", allow_blank=True,
        help_text="The customer's e-mail: the complaint handling report is e-mailed there "
                  "when the complaint is closed (without it, it is printed as a letter).")
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    received_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="When the chain received it (default now): not in the future, and at most "
                  "the complaint policy's days back unless HQ records it.")
    employee = serializers.CharField(required=False, allow_blank=True, default="",
                                     help_text="Employee number")
    previous_ticket = serializers.CharField(required=False, allow_blank=True, default="")
    product = ProductSerializer(
        required=False, allow_null=True, default=None,
        help_text="The medicine, for category product_quality only (refused with another "
                  "category). The medicine name is required; the batch number is stored "
                  "without spaces, upper-case.")


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The version you read: a stale one is a 409.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class TriageSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    grade = serializers.ChoiceField(choices=Grade.choices)
    substantiated = serializers.BooleanField()
    responsibility = serializers.ChoiceField(choices=Responsibility.choices)
    owner = serializers.CharField(required=False, allow_blank=True, default="",
                                  help_text="Username of the handling owner")


class ResolveSerializer(VersionSerializer):
    remedy = serializers.CharField()
    customer_satisfied = serializers.BooleanField()


class EightDSerializer(serializers.ModelSerializer):
    class Meta:
        model = EightDReport
        fields = [*EightDReport.SECTIONS, "customer_summary", "version", "updated_at",
                  "archived_at"]
        read_only_fields = ["updated_at", "archived_at"]


class EightDInputSerializer(serializers.ModelSerializer):
    """A save of the 8D report: the sections sent (the others are emptied) and the version
    read (a stale one is a 409)."""

    version = serializers.IntegerField(help_text="The version you read: a stale one is a 409.")
    customer_summary = serializers.CharField(
        required=False, allow_blank=True, default=None,
        help_text="What happened and what was done, for the customer (sent on closing; "
                  "required before closing when the grade needs the 8D report). Omitted: kept.")

    class Meta:
        model = EightDReport
        fields = [*EightDReport.SECTIONS, "customer_summary", "version"]


class AppealSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AppealKind.choices)
    reason = serializers.CharField()
    requested_grade = serializers.ChoiceField(choices=Grade.choices, required=False,
                                              allow_blank=True, default="")
    requested_substantiated = serializers.BooleanField(required=False, allow_null=True,
                                                       default=None)


class AppealDecisionSerializer(serializers.Serializer):
    appeal = serializers.IntegerField()
    accept = serializers.BooleanField()
    reason = serializers.CharField()


class RecurrenceSerializer(serializers.Serializer):
    recurred = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")
    interval_days = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=32767,
        help_text="The check to answer (days after closing); default: the earliest due one "
                  "not answered yet")


def _valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ComplaintQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[("open", "open"), *Status.choices],
                                     required=False, help_text="A status, or open")
    grade = serializers.ChoiceField(choices=[("-", "-"), *Grade.choices], required=False,
                                    help_text="A grade, or - for ungraded")
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    store = serializers.CharField(required=False, help_text="Store code")
    overdue = serializers.ChoiceField(choices=[("1", "1")], required=False,
                                      help_text="1: only those past their deadline")
    batch = serializers.CharField(required=False, max_length=64,
                                  help_text="Product complaints about this batch / lot number")


@extend_schema_view(list=extend_schema(parameters=[ComplaintQuerySerializer]),
                    retrieve=extend_schema(responses=ComplaintSerializer))
class ComplaintViewSet(RejectHostileInput, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = ComplaintSerializer
    # Reads for store staff; who may record, triage or handle is checked per action.
    permission_classes = [rule_permission(rules.can_see_complaints)]

    def get_queryset(self):
        query = ComplaintQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        return selectors.complaint_list(
            user=self.request.user, status=params.get("status", ""),
            grade=params.get("grade", ""), category=params.get("category", ""),
            store_code=params.get("store", ""), overdue=params.get("overdue") == "1",
            batch=params.get("batch", ""))

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "detail": self.action != "list"}

    def get_object(self) -> Complaint:
        pk = self.kwargs["pk"]
        if not (pk.isascii() and pk.isdigit()):
            raise NotFound
        return selectors.complaint_get(user=self.request.user, pk=int(pk))

    def _object_for(self, rule: Callable[[User, Complaint], bool]) -> Complaint:
        """The complaint (404 outside the user's stores) if ``rule`` lets the user act on it
        (403 otherwise), checked before the body is read."""
        complaint = self.get_object()
        if not rule(self.request.user, complaint):
            raise PermissionDenied
        return complaint

    def _out(self, complaint: Complaint) -> Response:
        complaint = selectors.complaint_get(user=self.request.user, pk=complaint.pk)
        return Response(ComplaintSerializer(complaint, context={
            "request": self.request, "detail": True}).data)

    @extend_schema(request=ComplaintCreateSerializer, responses=ComplaintSerializer)
    def create(self, request: Request, *args, **kwargs) -> Response:
        if not rules.can_record(request.user):
            raise PermissionDenied
        data = _valid(ComplaintCreateSerializer, request)
        store = visible_stores(request.user).filter(code=data["store"]).first()
        if store is None:
            raise ApplicationError("Unknown store.", fields={"store": ["Unknown store code."]})
        employee = None
        if data["employee"]:
            employee = Employee.objects.filter(number=data["employee"], store=store).first()
            if employee is None:
                raise ApplicationError("Unknown employee.", fields={
                    "employee": ["No such employee at this store."]})
        with product_errors():
            complaint = services.complaint_create(
                store=store, channel=data["channel"], category=data["category"],
                description=data["description"], customer_name=data["customer_name"],
                customer_phone=data["customer_phone"], occurred_at=data["occurred_at"],
                received_at=data["received_at"], employee=employee, received_by=request.user,
                source=Source.API, previous_ticket=data["previous_ticket"],
                product=product_input(data), customer_email=data["customer_email"])
        response = self._out(complaint)
        response.status_code = 201
        return response

    @extend_schema(request=TriageSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"])
    def triage(self, request: Request, pk: str) -> Response:
        complaint = self._object_for(lambda user, _complaint: rules.can_triage(user))
        data = _valid(TriageSerializer, request)
        owner = None
        if data["owner"]:
            owner = get_object_or_404(User, username=data["owner"], is_active=True)
        return self._out(services.complaint_triage(
            complaint=complaint, user=request.user, version=data["version"],
            grade=data["grade"], substantiated=data["substantiated"],
            responsibility=data["responsibility"], owner=owner))

    def _transition(self, request: Request, name: str) -> Response:
        complaint = self._object_for(rules.can_handle)
        data = _valid(VersionSerializer, request)
        return self._out(services.ACTIONS[name](complaint=complaint, user=request.user,
                                                version=data["version"], note=data["note"]))

    @extend_schema(request=VersionSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        return self._transition(request, "start")

    @extend_schema(request=VersionSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"])
    def wait(self, request: Request, pk: str) -> Response:
        return self._transition(request, "wait")

    @extend_schema(request=VersionSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        return self._transition(request, "resume")

    @extend_schema(request=VersionSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        return self._transition(request, "close")

    @extend_schema(request=VersionSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        return self._transition(request, "reopen")

    @extend_schema(request=ResolveSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        complaint = self._object_for(rules.can_handle)
        data = _valid(ResolveSerializer, request)
        return self._out(services.complaint_resolve(
            complaint=complaint, user=request.user, version=data["version"],
            remedy=data["remedy"], customer_satisfied=data["customer_satisfied"],
            note=data["note"]))

    @extend_schema(methods=["GET"], request=None, responses=EightDSerializer)
    @extend_schema(methods=["PUT"], request=EightDInputSerializer, responses=EightDSerializer)
    @action(detail=True, methods=["get", "put"], url_path="eight-d")
    def eight_d(self, request: Request, pk: str) -> Response:
        complaint = self.get_object()
        if request.method == "GET":
            report = get_object_or_404(EightDReport, complaint=complaint)
            return Response(EightDSerializer(report).data)
        if not rules.can_handle(request.user, complaint):
            raise PermissionDenied
        data = _valid(EightDInputSerializer, request)
        report = services.eight_d_save(
            complaint=complaint, user=request.user, version=data["version"],
            sections={name: data.get(name, "") for name in EightDReport.SECTIONS},
            customer_summary=data.get("customer_summary"))
        return Response(EightDSerializer(report).data)

    @extend_schema(request=AppealSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"])
    def appeal(self, request: Request, pk: str) -> Response:
        complaint = self._object_for(lambda user, _complaint: rules.can_appeal(user))
        data = _valid(AppealSerializer, request)
        services.appeal_file(complaint=complaint, user=request.user, **data)
        return self._out(complaint)

    @extend_schema(request=AppealDecisionSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"], url_path="decide-appeal")
    def decide_appeal(self, request: Request, pk: str) -> Response:
        complaint = self._object_for(lambda user, _complaint: rules.can_decide_appeal(user))
        data = _valid(AppealDecisionSerializer, request)
        appeal = get_object_or_404(complaint.appeals, pk=data["appeal"])
        services.appeal_decide(appeal=appeal, user=request.user, accept=data["accept"],
                               reason=data["reason"])
        return self._out(complaint)

    @extend_schema(request=ProductUpdateSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["put"])
    def product(self, request: Request, pk: str) -> Response:
        """The medicine of a product-quality complaint, completed or corrected by whoever may
        handle it; marking a suspected adverse reaction alerts HQ (once per complaint)."""
        complaint = self._object_for(rules.can_handle)
        data = _valid(ProductUpdateSerializer, request)
        version = data.pop("version")
        services.complaint_product_set(complaint=complaint, user=request.user, version=version,
                                       product=services.ProductInput(**data))
        return self._out(complaint)

    @extend_schema(request=None, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"], url_path="adr-reported")
    def adr_reported(self, request: Request, pk: str) -> Response:
        """HQ records that the suspected adverse reaction was reported to the national
        monitoring system (the first time counts)."""
        complaint = self._object_for(lambda user, _complaint: rules.can_report_adr(user))
        services.adr_mark_reported(complaint=complaint, user=request.user)
        return self._out(complaint)

    @extend_schema(request=RecurrenceSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"], url_path="recurrence-check")
    def recurrence_check(self, request: Request, pk: str) -> Response:
        complaint = self._object_for(rules.can_handle)
        data = _valid(RecurrenceSerializer, request)
        services.recurrence_confirm(complaint=complaint, user=request.user, **data)
        return self._out(complaint)


class FigureQuerySerializer(serializers.Serializer):
    quarter = QuarterField(required=False, allow_null=True, default=None,
                           help_text="Quarter such as 2026Q4 (default: the current one).")
    start = RequestDateField(required=False, allow_null=True, default=None,
                             help_text="First day; with end instead of a quarter.")
    end = RequestDateField(required=False, allow_null=True, default=None,
                           help_text="Last day (included), not before start.")
    level = serializers.ChoiceField(choices=["store", "region", "chain"], required=False,
                                    default="store")


class FigureRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Store or region code, or chain")
    name = serializers.CharField()
    total = serializers.IntegerField()
    by_grade = serializers.DictField(child=serializers.IntegerField(), help_text="A, B, C")
    ungraded = serializers.IntegerField()
    substantiated = serializers.IntegerField()
    resolved = serializers.IntegerField()
    on_time_rate = serializers.FloatField(allow_null=True)
    closed = serializers.IntegerField(help_text="Received in the period and closed")
    closed_satisfied = serializers.IntegerField(
        help_text="Received in the period and closed with the customer satisfied")
    closed_loop_rate = serializers.FloatField(
        allow_null=True, help_text="Closed-loop rate %: closed_satisfied / total")
    satisfaction_rate = serializers.FloatField(
        allow_null=True, help_text="Satisfaction with the resolution %: closed_satisfied / closed")
    closed_in_period = serializers.IntegerField(
        help_text="Closed in the period, whenever received")
    recurred = serializers.IntegerField(
        help_text="Of closed_in_period: with a recurrence received within 90 days of closing")
    recurrence_rate = serializers.FloatField(
        allow_null=True, help_text="Recurrence rate %: recurred / closed_in_period")
    second = serializers.IntegerField()
    second_complaint_rate = serializers.FloatField(allow_null=True)
    mean_handling_hours = serializers.FloatField(allow_null=True)


class ParetoRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Category")
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)
    cumulative = serializers.FloatField(allow_null=True)


class SpikeSerializer(serializers.Serializer):
    level = serializers.CharField(source="scope", help_text="store or region")
    store = serializers.CharField(source="store.code", allow_null=True,
                                  help_text="Store code (store-level spikes)")
    region = serializers.CharField(source="region.code", allow_null=True,
                                   help_text="Region code (region-level spikes)")
    category = serializers.CharField()
    started_on = serializers.DateField(help_text="First seen")
    last_seen_on = serializers.DateField()
    ended_on = serializers.DateField(allow_null=True, help_text="Empty while open")
    count = serializers.IntegerField(help_text="Complaints in the last 7 days when last seen")
    peak_count = serializers.IntegerField()
    baseline_per_week = serializers.FloatField(help_text="Mean of the 8 weeks before")
    threshold = serializers.IntegerField(help_text="Alert at this many complaints in 7 days")


class FiguresSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Exclusive")
    level = serializers.CharField()
    rows = FigureRowSerializer(many=True)
    pareto = ParetoRowSerializer(many=True)
    spikes = SpikeSerializer(many=True)


class ComplaintFiguresView(RejectHostileInput, APIView):
    permission_classes = [rule_permission(rules.can_see_complaints)]

    @extend_schema(parameters=[FigureQuerySerializer], responses=FiguresSerializer)
    def get(self, request: Request) -> Response:
        query = FigureQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        start, end = selectors.figure_period(quarter=data["quarter"], start=data["start"],
                                             end=data["end"])
        figures = selectors.complaint_figures(user=request.user, start=start, end=end,
                                              level=data["level"])
        spikes = selectors.complaint_spikes(user=request.user, start=start, end=end)
        return Response({"start": start, "end": end, "level": figures.level,
                         "rows": [row.as_dict() for row in figures.rows],
                         "pareto": figures.pareto,
                         "spikes": SpikeSerializer(spikes, many=True).data})



