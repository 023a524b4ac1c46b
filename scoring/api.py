"""REST API of scores: store and employee values by quarter (scoped), their traces, rollups."""

from __future__ import annotations

from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from satisfaction.api import ValueFilter
from satisfaction.api_errors import RejectHostileInput
from satisfaction.api_schema import QuarterField, quarter_parameter
from satisfaction.permissions import rule_permission
from satisfaction.quarters import quarter_param
from scoring import evidence, rules, selectors
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
    figure = serializers.FloatField(
        allow_null=True, help_text="What it counted as: a response's weighted 0–100 score, a "
        "visit's scenario %, a complaint's deduction points")
    employee_figure = serializers.FloatField(
        allow_null=True, help_text="A visit's purchase-evaluation % (the employee's part)")
    counted_as = serializers.CharField()


class TracePartSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    rows = TraceRowSerializer(many=True)


class LateRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=evidence.KIND_NAMES)
    id = serializers.IntegerField()
    text = serializers.CharField()
    date = serializers.CharField()
    detail = serializers.CharField()
    change = serializers.ChoiceField(
        choices=["added", "changed", "withdrawn"],
        help_text="added: arrived after publishing, not counted; changed: counted as it was "
        "then; withdrawn: no longer counts, still counted in this revision")
    change_label = serializers.CharField()
    counted_employee = serializers.CharField()
    employee = serializers.CharField()
    counted_figure = serializers.FloatField(allow_null=True)
    figure = serializers.FloatField(allow_null=True)
    counted_as = serializers.CharField()
    now_as = serializers.CharField()


class TraceSerializer(serializers.Serializer):
    """The rows a revision counted for a value, by kind, and apart what arrived or changed
    after it (``late``, never counted by it)."""

    revision = serializers.IntegerField()
    recorded = serializers.BooleanField(
        help_text="False for a revision computed before its inputs were recorded: the rows "
        "are the quarter's as they are now")
    responses = TracePartSerializer()
    visits = TracePartSerializer()
    complaints = TracePartSerializer()
    late = LateRowSerializer(many=True)


class CompareItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=evidence.KIND_NAMES)
    id = serializers.IntegerField()
    text = serializers.CharField()
    date = serializers.CharField()
    detail = serializers.CharField()
    employee = serializers.CharField()
    change = serializers.ChoiceField(choices=["added", "removed", "changed"])
    change_label = serializers.CharField()
    old_figure = serializers.FloatField(allow_null=True)
    new_figure = serializers.FloatField(allow_null=True)
    old_as = serializers.CharField()
    new_as = serializers.CharField()
    effect = serializers.FloatField(help_text="Points of the value this item moved")


class CompareComponentSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=["survey", "scenario", "deductions"])
    label = serializers.CharField()
    old_pct = serializers.FloatField(allow_null=True)
    new_pct = serializers.FloatField(allow_null=True)
    old_points = serializers.FloatField(allow_null=True)
    new_points = serializers.FloatField(allow_null=True)
    delta = serializers.FloatField(help_text="Points of the value the component moved")
    items = CompareItemSerializer(many=True)
    explained = serializers.FloatField()
    other = serializers.FloatField(help_text="Not from single items: weighting, rescaling, "
                                   "a scheme change")


class CompareRevisionSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    scheme_version = serializers.IntegerField()
    reason = serializers.CharField()
    computed_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    value = serializers.FloatField(allow_null=True)
    survey_pct = serializers.FloatField(allow_null=True)
    scenario_pct = serializers.FloatField(allow_null=True)
    survey_points = serializers.FloatField()
    scenario_points = serializers.FloatField()
    deductions = serializers.FloatField()
    n_responses = serializers.IntegerField()
    n_visits = serializers.IntegerField()
    n_complaints = serializers.IntegerField()


class CompareCountsSerializer(serializers.Serializer):
    responses = serializers.IntegerField()
    visits = serializers.IntegerField()
    complaints = serializers.IntegerField()


class CompareSerializer(serializers.Serializer):
    """Two revisions of a store's value: what was added, removed or changed, and how much each
    moved the value (components plus clipping add up to ``value_delta``)."""

    store = serializers.CharField()
    quarter = serializers.CharField()
    old = CompareRevisionSerializer()
    new = CompareRevisionSerializer()
    recorded = serializers.BooleanField()
    components = CompareComponentSerializer(many=True)
    value_delta = serializers.FloatField(allow_null=True)
    clipping = serializers.FloatField(allow_null=True)
    unchanged = CompareCountsSerializer()


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
    number = selectors.revision_param(request.query_params, strict=True)
    rollup = (selectors.rollup_for_display(quarter=quarter, revision=number) if quarter
              else selectors.latest_rollup())
    if rollup is None:
        raise Http404
    return rollup


def _trace_payload(rollup: Rollup, store_id: int, employee_id: int | None, *,
                   employee_value: bool = False) -> dict:
    trace = selectors.revision_trace(rollup=rollup, store_id=store_id, employee_id=employee_id,
                                     employee_value=employee_value)
    return {"revision": rollup.revision, "recorded": trace["recorded"], **trace["parts"],
            "late": trace["late"]}


QUARTER_PARAMETERS = [
    quarter_parameter("Quarter like 2026Q4 (default: the latest quarter with values)."),
    OpenApiParameter("revision", {"type": "integer", "minimum": 0, "maximum": 999999},
                     description="A given revision (default: the published one, else the "
                     "provisional one)."),
]
_quarter_schema = extend_schema(parameters=QUARTER_PARAMETERS)
_trace_schema = extend_schema(parameters=QUARTER_PARAMETERS, responses=TraceSerializer)
_compare_schema = extend_schema(parameters=[
    quarter_parameter("Quarter like 2026Q4 (default: the latest quarter with values)."),
    OpenApiParameter("old", {"type": "integer", "minimum": 0, "maximum": 999999},
                     description="The earlier revision (default: the one before ``new``)."),
    OpenApiParameter("new", {"type": "integer", "minimum": 0, "maximum": 999999},
                     description="The later revision (default: the published one, else the "
                     "provisional one)."),
], responses=CompareSerializer)


@extend_schema_view(list=_quarter_schema, retrieve=_quarter_schema, score_trace=_trace_schema,
                    score_compare=_compare_schema)
class StoreScoreViewSet(RejectHostileInput, viewsets.ReadOnlyModelViewSet):
    """Store values of a quarter: ``?quarter=2026Q4&region=EAST&store=S0001``."""

    serializer_class = StoreScoreSerializer
    permission_classes = [rule_permission(rules.can_see_values)]
    filterset_class = StoreScoreFilter
    lookup_field = "store__code"
    lookup_url_kwarg = "store"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StoreScore.objects.none()
        return selectors.store_score_list(user=self.request.user,
                                          rollup=_rollup_from(self.request))

    # Not named "trace": DRF would route the HTTP method TRACE to it.
    @action(detail=True, url_path="trace", url_name="trace")
    def score_trace(self, request, store=None):
        score = self.get_object()
        return Response(_trace_payload(score.rollup, score.store_id,
                                       selectors.trace_employee_scope(request.user)))

    @action(detail=True, url_path="compare", url_name="compare")
    def score_compare(self, request, store=None):
        """Two revisions of the store's value compared item by item (not for a clerk)."""
        if not rules.can_compare_revisions(request.user):
            raise Http404
        compared = selectors.store_revision_comparison(
            user=request.user, code=store,
            quarter=quarter_param(request.query_params, default=None, strict=True),
            old=selectors.revision_param(request.query_params, "old"),
            new=selectors.revision_param(request.query_params, "new"))
        return Response(CompareSerializer(compared.comparison).data)


@extend_schema_view(list=_quarter_schema, retrieve=_quarter_schema, score_trace=_trace_schema)
class EmployeeScoreViewSet(RejectHostileInput, viewsets.ReadOnlyModelViewSet):
    """Employee values of a quarter: ``?quarter=2026Q4&store=S0001``."""

    serializer_class = EmployeeScoreSerializer
    permission_classes = [rule_permission(rules.can_see_values)]
    filterset_class = EmployeeScoreFilter
    lookup_field = "employee__number"
    lookup_url_kwarg = "employee"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EmployeeScore.objects.none()
        return selectors.employee_score_list(user=self.request.user,
                                             rollup=_rollup_from(self.request))

    @action(detail=True, url_path="trace", url_name="trace")
    def score_trace(self, request, employee=None):
        score = self.get_object()
        return Response(_trace_payload(score.rollup, score.store_id, score.employee_id,
                                       employee_value=True))


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
