"""REST API for complaints: create from other systems, scoped reads, state changes through
actions (never a free write to the status field), figures."""

from __future__ import annotations

from collections.abc import Callable

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from satisfaction.errors import ApplicationError
from satisfaction.masking import mask_name, mask_phone
from satisfaction.models import Employee, User
from satisfaction.permissions import rule_permission
from satisfaction.scoping import visible_stores

from . import rules, selectors, services
from .models import (
    AppealKind,
    Category,
    Channel,
    Complaint,
    EightDReport,
    Grade,
    Responsibility,
    Source,
)


class ComplaintSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    employee = serializers.SlugRelatedField(slug_field="number", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    customer_name = serializers.SerializerMethodField()
    customer_phone = serializers.SerializerMethodField()

    class Meta:
        model = Complaint
        fields = ["id", "ticket_no", "store", "channel", "source", "customer_name",
                  "customer_phone", "category", "description", "occurred_at", "received_at",
                  "employee", "grade", "substantiated", "responsibility", "owner", "status",
                  "first_response_at", "remedy", "customer_satisfied", "resolved_at",
                  "resolved_on_time", "closed_at", "is_second", "due_at", "escalation_level",
                  "version"]
        read_only_fields = fields

    def _full(self, obj: Complaint) -> bool:
        return rules.sees_contact(self.context["request"].user,
                                  obj if self.context.get("detail") else None)

    def get_customer_name(self, obj: Complaint) -> str:
        return obj.customer_name if self._full(obj) else mask_name(obj.customer_name)

    def get_customer_phone(self, obj: Complaint) -> str:
        return obj.customer_phone if self._full(obj) else mask_phone(obj.customer_phone)


class ComplaintCreateSerializer(serializers.Serializer):
    store = serializers.CharField(help_text="Store code")
    channel = serializers.ChoiceField(choices=Channel.choices)
    category = serializers.ChoiceField(choices=Category.choices)
    description = serializers.CharField(max_length=4000)
    customer_name = serializers.CharField(max_length=100, required=False, default="",
                                          allow_blank=True)
    customer_phone = serializers.CharField(max_length=32, required=False, default="",
                                           allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    employee = serializers.CharField(required=False, allow_blank=True, default="",
                                     help_text="Employee number")
    previous_ticket = serializers.CharField(required=False, allow_blank=True, default="")


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
        fields = [*EightDReport.SECTIONS, "version", "updated_at", "archived_at"]
        read_only_fields = ["updated_at", "archived_at"]


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


def _valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ComplaintViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = ComplaintSerializer
    # Reads for store staff; who may record, triage or handle is checked per action.
    permission_classes = [rule_permission(rules.can_see_complaints)]

    def get_queryset(self):
        params = self.request.query_params
        return selectors.complaint_list(
            user=self.request.user, status=params.get("status", ""),
            grade=params.get("grade", ""), category=params.get("category", ""),
            store_code=params.get("store", ""), overdue=params.get("overdue") == "1")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "detail": self.action != "list"}

    def get_object(self) -> Complaint:
        return selectors.complaint_get(user=self.request.user, pk=self.kwargs["pk"])

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
        complaint = services.complaint_create(
            store=store, channel=data["channel"], category=data["category"],
            description=data["description"], customer_name=data["customer_name"],
            customer_phone=data["customer_phone"], occurred_at=data["occurred_at"],
            received_at=data["received_at"], employee=employee, received_by=request.user,
            source=Source.API, previous_ticket=data["previous_ticket"])
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

    @extend_schema(request=EightDSerializer, responses=EightDSerializer)
    @action(detail=True, methods=["get", "put"], url_path="eight-d")
    def eight_d(self, request: Request, pk: str) -> Response:
        complaint = self.get_object()
        if request.method == "GET":
            report = get_object_or_404(EightDReport, complaint=complaint)
            return Response(EightDSerializer(report).data)
        if not rules.can_handle(request.user, complaint):
            raise PermissionDenied
        serializer = EightDSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = services.eight_d_save(
            complaint=complaint, user=request.user, version=data["version"],
            sections={name: data.get(name, "") for name in EightDReport.SECTIONS})
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

    @extend_schema(request=RecurrenceSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"], url_path="recurrence-check")
    def recurrence_check(self, request: Request, pk: str) -> Response:
        complaint = self._object_for(rules.can_handle)
        data = _valid(RecurrenceSerializer, request)
        services.recurrence_confirm(complaint=complaint, user=request.user, **data)
        return self._out(complaint)


class FigureQuerySerializer(serializers.Serializer):
    quarter = serializers.CharField(required=False, default="", allow_blank=True)
    start = serializers.DateField(required=False, allow_null=True, default=None)
    end = serializers.DateField(required=False, allow_null=True, default=None)
    level = serializers.ChoiceField(choices=["store", "region", "chain"], required=False,
                                    default="store")


class ComplaintFiguresView(APIView):
    permission_classes = [rule_permission(rules.can_see_complaints)]

    @extend_schema(parameters=[FigureQuerySerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        query = FigureQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        start, end = selectors.figure_period(quarter=data["quarter"], start=data["start"],
                                             end=data["end"])
        figures = selectors.complaint_figures(user=request.user, start=start, end=end,
                                              level=data["level"])
        return Response({"start": start, "end": end, "level": figures.level,
                         "rows": [row.as_dict() for row in figures.rows],
                         "pareto": figures.pareto})



