"""REST API of scores: store and employee values by quarter (scoped), their traces, rollups."""

from __future__ import annotations

import re

from django.http import Http404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from satisfaction.api import ValueFilter
from satisfaction.api_errors import RejectHostileInput
from satisfaction.api_schema import QuarterField, quarter_parameter
from satisfaction.errors import ApplicationError
from satisfaction.permissions import rule_permission
from satisfaction.quarters import Quarter, quarter_param
from scoring import rules, selectors
from scoring.labels import flag_label
from scoring.models import EmployeeScore, Rollup, StoreScore
from scoring.services import quarter_publish, rollup_quarter


class FlagsField(serializers.ListField):
    child = serializers.CharField()


class StoreScoreSerializer(serializers.ModelSerializer):
    store = serializers.CharField(source="store.code")
    store_name = serializers.CharField(source="store.name")
    region = serializers.CharField(source="region.code")
    quarter = serializers.CharField()
    revision = serializers.IntegerField(source="rollup.revision")
    status = serializers.CharField(source="rollup.status")
    flags = FlagsField()
    flag_labels = serializers.SerializerMethodField()

    class Meta:
        model = StoreScore
        fields = ["store", "store_name", "region", "quarter", "revision", "status", "value",
                  "survey_points", "scenario_points", "deductions", "survey_pct",
                  "survey_pct_raw", "scenario_pct", "n_responses", "n_visits", "n_complaints",
                  "ci_low", "ci_high", "rank_region", "rank_chain", "flags", "flag_labels",
                  "indicators"]

    def get_flag_labels(self, obj) -> list[str]:
        return [str(flag_label(f)) for f in obj.flags]


class EmployeeScoreSerializer(serializers.ModelSerializer):
    employee = serializers.CharField(source="employee.number")
    name = serializers.CharField(source="employee.name")
    store = serializers.CharField(source="store.code")
    region = serializers.CharField(source="region.code")
    quarter = serializers.CharField()
    revision = serializers.IntegerField(source="rollup.revision")
    status = serializers.CharField(source="rollup.status")
    flags = FlagsField()

    class Meta:
        model = EmployeeScore
        fields = ["employee", "name", "store", "region", "role", "quarter", "revision",
                  "status", "value", "own_value", "warm_service_points", "efficacy_points",
                  "price_points", "purchase_points", "warm_service_pct", "efficacy_pct",
                  "price_pct", "purchase_pct", "deductions", "n_responses", "n_visits",
                  "n_complaints", "satisfaction_points", "bonus_factor", "rank_store",
                  "rank_region", "flags"]


class RollupSerializer(serializers.ModelSerializer):
    quarter = serializers.CharField()
    scheme_version = serializers.IntegerField(source="scheme.version")

    class Meta:
        model = Rollup
        fields = ["id", "quarter", "revision", "status", "scheme_version", "reason",
                  "computed_at", "published_at", "store_count", "employee_count", "seconds"]


class RollupRequestSerializer(serializers.Serializer):
    quarter = QuarterField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class TraceRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    url = serializers.CharField()
    date = serializers.CharField(help_text="The day (YYYY-MM-DD), or empty")
    detail = serializers.CharField()
    employee = serializers.CharField(help_text="Employee number, or empty")


class TracePartSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    rows = TraceRowSerializer(many=True)


class TraceSerializer(serializers.Serializer):
    """The rows behind a value, by kind."""

    responses = TracePartSerializer()
    visits = TracePartSerializer()
    complaints = TracePartSerializer()


class StoreScoreFilter(filters.FilterSet):
    region = filters.CharFilter(field_name="region__code")
    store = filters.CharFilter(field_name="store__code")
    min_value = ValueFilter(field_name="value", lookup_expr="gte")
    max_value = ValueFilter(field_name="value", lookup_expr="lte")

    class Meta:
        model = StoreScore
        fields = ["region", "store", "min_value", "max_value"]


class EmployeeScoreFilter(filters.FilterSet):
    region = filters.CharFilter(field_name="region__code")
    store = filters.CharFilter(field_name="store__code")
    employee = filters.CharFilter(field_name="employee__number")

    class Meta:
        model = EmployeeScore
        fields = ["region", "store", "employee", "role"]


def _rollup_from(request: Request) -> Rollup:
    """``?quarter=2026Q4`` (default: the latest quarter with values) and ``?revision=``."""
    quarter = quarter_param(request.query_params, default=None, strict=True)
    revision = request.query_params.get("revision") or ""
    if revision and not re.fullmatch(r"[0-9]{1,6}", revision):
        raise ApplicationError(_("Give the revision as a whole number."),
                               fields={"revision": [_("A whole number such as 2.")]})
    number = selectors.revision_param(request.query_params)
    rollup = (selectors.rollup_for_display(quarter=quarter, revision=number) if quarter
              else selectors.latest_rollup())
    if rollup is None:
        raise Http404
    return rollup


def _trace_payload(quarter: Quarter, store_id: int, employee_id: int | None) -> dict:
    trace = selectors.score_trace(quarter=quarter, store_id=store_id, employee_id=employee_id)
    return {kind: {"count": part["count"],
                   "rows": [selectors.trace_item(obj) for obj in part["rows"]]}
            for kind, part in trace.items()}


QUARTER_PARAMETERS = [
    quarter_parameter("Quarter like 2026Q4 (default: the latest quarter with values)."),
    OpenApiParameter("revision", {"type": "integer", "minimum": 0, "maximum": 999999},
                     description="A given revision (default: the published one, else the "
                     "provisional one)."),
]
_quarter_schema = extend_schema(parameters=QUARTER_PARAMETERS)
_trace_schema = extend_schema(parameters=QUARTER_PARAMETERS, responses=TraceSerializer)


@extend_schema_view(list=_quarter_schema, retrieve=_quarter_schema, score_trace=_trace_schema)
class StoreScoreViewSet(RejectHostileInput, viewsets.ReadOnlyModelViewSet):
    """Store values of a quarter: ``?quarter=2026Q4&region=EAST&store=S0001``."""

    serializer_class = StoreScoreSerializer
    permission_classes = [rule_permission(rules.can_see_values)]
    filterset_class = StoreScoreFilter
    lookup_field = "store__code"
    lookup_url_kwarg = "store"
    lookup_value_regex = "[^/]+"  # any code reaches the view: unknown ones are a JSON 404

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StoreScore.objects.none()
        return selectors.store_score_list(user=self.request.user,
                                          rollup=_rollup_from(self.request))

    # Not named "trace": DRF would route the HTTP method TRACE to it.
    @action(detail=True, url_path="trace", url_name="trace")
    def score_trace(self, request, store=None):
        score = self.get_object()
        return Response(_trace_payload(score.quarter, score.store_id, None))


@extend_schema_view(list=_quarter_schema, retrieve=_quarter_schema, score_trace=_trace_schema)
class EmployeeScoreViewSet(RejectHostileInput, viewsets.ReadOnlyModelViewSet):
    """Employee values of a quarter: ``?quarter=2026Q4&store=S0001``."""

    serializer_class = EmployeeScoreSerializer
    permission_classes = [rule_permission(rules.can_see_values)]
    filterset_class = EmployeeScoreFilter
    lookup_field = "employee__number"
    lookup_url_kwarg = "employee"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EmployeeScore.objects.none()
        return selectors.employee_score_list(user=self.request.user,
                                             rollup=_rollup_from(self.request))

    @action(detail=True, url_path="trace", url_name="trace")
    def score_trace(self, request, employee=None):
        score = self.get_object()
        return Response(_trace_payload(score.quarter, score.store_id, score.employee_id))


class RollupViewSet(RejectHostileInput, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Revisions of each quarter; HQ recomputes (``POST``) and publishes."""

    serializer_class = RollupSerializer
    permission_classes = [rule_permission(rules.can_see_quarters, rules.can_compute_and_publish)]

    def get_queryset(self):
        return selectors.rollup_list()

    @extend_schema(request=RollupRequestSerializer, responses={201: RollupSerializer})
    def create(self, request):
        body = RollupRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = rollup_quarter(quarter=body.validated_data["quarter"], user=request.user,
                                 reason=body.validated_data["reason"])
        return Response(RollupSerializer(outcome.rollup).data, status=201)

    @extend_schema(request=RollupRequestSerializer, responses=RollupSerializer)
    @action(detail=False, methods=["post"])
    def publish(self, request):
        body = RollupRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rollup = quarter_publish(quarter=body.validated_data["quarter"], user=request.user)
        return Response(RollupSerializer(rollup).data)
