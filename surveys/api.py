"""Survey REST API under /api/v1/surveys/: scoped exactly like the pages."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response as ApiResponse

from satisfaction.api_errors import RejectHostileInput
from satisfaction.api_schema import QuarterField
from satisfaction.errors import ApplicationError
from satisfaction.models import Store
from satisfaction.permissions import rule_permission
from satisfaction.scoping import get_visible_store_or_404, scope_to_stores
from surveys import rules
from surveys.models import (
    Campaign,
    Channel,
    Indicator,
    Invitation,
    InvitationChannel,
    Response,
    ResponseStatus,
)
from surveys.results import StoreResult
from surveys.selectors import campaign_list, campaign_result_rows, response_list
from surveys.services import (
    ResponseInput,
    campaign_create,
    campaign_update,
    indicator_create,
    indicator_update,
    invitation_create,
    response_create,
    weight_not_here_error,
)
from surveys.weights import indicator_weights

# Reads for anyone who works with store data; setup writes for HQ, answers for store staff.
HqWritesOthersRead = rule_permission(rules.can_see_surveys, rules.can_manage_campaigns)
StoreStaff = rule_permission(rules.can_see_surveys, rules.can_collect_responses)


class SurveyIndicatorSerializer(serializers.ModelSerializer):
    """A survey question. Its weight is the scoring scheme's (``/api/v1/scoring/``): a
    ``weight`` sent here is refused (400) rather than silently ignored."""

    class Meta:
        model = Indicator
        fields = ["id", "code", "name_zh", "name_en", "question_zh", "question_en", "kano",
                  "kano_class", "group", "order", "is_active"]

    def validate(self, attrs: dict) -> dict:
        if "weight" in getattr(self, "initial_data", {}):
            raise weight_not_here_error()
        return super().validate(attrs)


class SurveyIndicatorCreateSerializer(SurveyIndicatorSerializer):
    """A new indicator (active from the start)."""

    class Meta(SurveyIndicatorSerializer.Meta):
        fields = [name for name in SurveyIndicatorSerializer.Meta.fields if name != "is_active"]


@extend_schema_view(create=extend_schema(request=SurveyIndicatorCreateSerializer,
                                         responses={201: SurveyIndicatorSerializer}))
class IndicatorViewSet(RejectHostileInput, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                       viewsets.ReadOnlyModelViewSet):
    serializer_class = SurveyIndicatorSerializer
    permission_classes = [HqWritesOthersRead]
    lookup_field = "code"
    queryset = Indicator.objects.order_by("order", "code")

    def create(self, request, *args, **kwargs):
        serializer = SurveyIndicatorCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        indicator = indicator_create(**serializer.validated_data, user=request.user)
        return ApiResponse(SurveyIndicatorSerializer(indicator).data,
                           status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("code", None)
        serializer.instance = indicator_update(indicator=serializer.instance,
                                               user=self.request.user, **data)


class SurveyCampaignSerializer(serializers.ModelSerializer):
    quarter = QuarterField()
    stores = serializers.SlugRelatedField(slug_field="code", many=True, required=False,
                                          queryset=Store.objects.all())

    class Meta:
        model = Campaign
        fields = ["id", "name", "quarter", "all_stores", "stores", "scale_max",
                  "ask_expectation", "ask_overall", "ask_recommend", "target_per_store",
                  "opens_on", "closes_on"]
        read_only_fields = ["all_stores"]


class IndicatorResultSerializer(serializers.Serializer):
    code = serializers.CharField()
    n = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    bottom_n = serializers.IntegerField()
    mean_expectation = serializers.FloatField(allow_null=True)
    gap = serializers.FloatField(allow_null=True)
    gap_class = serializers.CharField(allow_null=True)
    weight = serializers.FloatField(help_text="The scoring scheme's weight of this indicator "
                                              "(0: not counted in weighted_score)")


class StoreResultSerializer(serializers.Serializer):
    """One store's results of a campaign (``CampaignViewSet.results``). ``weighted_score``
    uses the weights of scoring scheme ``scheme_version``, as the store value does."""

    store = serializers.CharField()
    n = serializers.IntegerField()
    target = serializers.IntegerField()
    below_target = serializers.BooleanField()
    weighted_score = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    sd = serializers.FloatField(allow_null=True)
    invitations = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)
    scheme_version = serializers.IntegerField()
    indicators = IndicatorResultSerializer(many=True)


class CampaignViewSet(RejectHostileInput, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                      viewsets.ReadOnlyModelViewSet):
    serializer_class = SurveyCampaignSerializer
    permission_classes = [HqWritesOthersRead]

    def get_queryset(self):
        return campaign_list(user=self.request.user).prefetch_related("stores").order_by("-pk")

    def perform_create(self, serializer):
        serializer.instance = campaign_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = campaign_update(campaign=serializer.instance,
                                              **serializer.validated_data)

    @extend_schema(
        parameters=[OpenApiParameter("store", OpenApiTypes.STR, description="Store code")],
        responses=StoreResultSerializer(many=True))
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """Per-store results of the campaign for the stores the caller sees (``?store=``)."""
        campaign = self.get_object()
        code = request.query_params.get("store")
        stores = [get_visible_store_or_404(request.user, code=code)] if code else None
        weights = indicator_weights(quarter=campaign.quarter)
        rows = campaign_result_rows(campaign=campaign, user=request.user,
                                    weights=weights.weights, stores=stores)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            [_result_json(s, r, scheme_version=weights.scheme_version) for s, r in page])


def _result_json(store, result: StoreResult, *, scheme_version: int) -> dict:
    return {
        "store": store.code, "n": result.n, "target": result.target,
        "below_target": result.below_target, "weighted_score": result.weighted_score,
        "ci_low": result.ci_low, "ci_high": result.ci_high, "sd": result.sd,
        "invitations": result.invitations, "response_rate": result.response_rate,
        "scheme_version": scheme_version,
        "indicators": [{
            "code": i.code, "n": i.n, "mean": i.mean_rating, "score": i.score,
            "bottom_n": i.bottom_n, "mean_expectation": i.mean_expectation, "gap": i.gap,
            "gap_class": i.gap_class, "weight": i.weight} for i in result.indicators],
    }


class SurveyResponseSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    channel = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    employee = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    answers = serializers.SerializerMethodField()

    class Meta:
        model = Response
        fields = ["id", "campaign", "store", "employee", "channel", "submitted_at",
                  "duration_seconds", "comment", "status", "flag_reasons", "self_served",
                  "overall", "recommend", "answers"]

    def get_answers(self, obj) -> dict:
        return {a.indicator.code: {"rating": a.rating, "expectation": a.expectation}
                for a in obj.answers.all()}


# What staff key in: the paper and phone channels (the others are the customers' own).
STAFF_CHANNELS = [(Channel.PAPER.value, Channel.PAPER.label),
                  (Channel.PHONE.value, Channel.PHONE.label)]


class SurveyResponseCreateSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    store = serializers.CharField()
    channel = serializers.ChoiceField(choices=STAFF_CHANNELS, default=Channel.PAPER)
    ratings = serializers.DictField(child=serializers.JSONField())
    expectations = serializers.DictField(child=serializers.JSONField(), required=False)
    employee_number = serializers.CharField(required=False, allow_blank=True, default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    overall = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=10,
        help_text="Overall satisfaction on the campaign's scale (1 to its scale_max), when the "
                  "campaign asks it (ask_overall); optional")
    recommend = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=10,
        help_text="How likely to recommend the store, 0-10, when the campaign asks it "
                  "(ask_recommend); optional")


class ResponseQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ResponseStatus.choices, required=False)
    campaign = serializers.IntegerField(required=False, min_value=1)
    store = serializers.CharField(required=False, help_text="Store code")


@extend_schema_view(list=extend_schema(parameters=[ResponseQuerySerializer]),
                    create=extend_schema(request=SurveyResponseCreateSerializer,
                                         responses={201: SurveyResponseSerializer}))
class ResponseViewSet(RejectHostileInput, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [StoreStaff]

    def get_serializer_class(self):
        if self.action == "create":
            return SurveyResponseCreateSerializer
        return SurveyResponseSerializer

    def get_queryset(self):
        if self.action != "list":
            return response_list(user=self.request.user).prefetch_related("answers__indicator")
        query = ResponseQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        responses = response_list(user=self.request.user, status=params.get("status", ""))
        if params.get("campaign"):
            responses = responses.filter(campaign_id=params["campaign"])
        if params.get("store"):
            responses = responses.filter(store__code=params["store"])
        return responses.prefetch_related("answers__indicator")

    def create(self, request, *args, **kwargs):
        serializer = SurveyResponseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["channel"] not in (Channel.PAPER, Channel.PHONE):
            raise ApplicationError(_("Staff enter paper or phone answers."),
                                   fields={"channel": [_("Choose paper or phone.")]})
        store = get_visible_store_or_404(request.user, code=data["store"])
        campaign = campaign_list(user=request.user).filter(pk=data["campaign"]).first()
        if campaign is None:
            raise ApplicationError(_("Unknown campaign."),
                                   fields={"campaign": [_("Unknown campaign.")]})
        response = response_create(
            store=store, campaign=campaign, channel=data["channel"], entered_by=request.user,
            data=ResponseInput(ratings=data["ratings"], expectations=data.get("expectations"),
                               employee_number=data["employee_number"],
                               comment=data["comment"], overall=data["overall"],
                               recommend=data["recommend"]))
        response = Response.objects.prefetch_related("answers__indicator").select_related(
            "store", "employee").get(pk=response.pk)
        return ApiResponse(SurveyResponseSerializer(response).data, status=status.HTTP_201_CREATED)


class SurveyInvitationSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    channel = serializers.CharField(read_only=True)
    campaign = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Invitation
        fields = ["id", "token", "store", "campaign", "transaction_ref", "channel", "created_at",
                  "expires_at", "used_at", "short_url", "qr_payload"]


class SurveyInvitationCreateSerializer(serializers.Serializer):
    store = serializers.CharField()
    transaction_ref = serializers.CharField(required=False, allow_blank=True, default="",
                                            max_length=64)
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=90)
    channel = serializers.ChoiceField(choices=InvitationChannel.choices,
                                      default=InvitationChannel.RECEIPT)


@extend_schema_view(create=extend_schema(request=SurveyInvitationCreateSerializer,
                                         responses={201: SurveyInvitationSerializer}))
class InvitationViewSet(RejectHostileInput, mixins.CreateModelMixin,
                        viewsets.ReadOnlyModelViewSet):
    permission_classes = [StoreStaff]

    def get_serializer_class(self):
        if self.action == "create":
            return SurveyInvitationCreateSerializer
        return SurveyInvitationSerializer

    def get_queryset(self):
        return scope_to_stores(Invitation.objects.select_related("store"),
                               self.request.user).order_by("-created_at", "-pk")

    def create(self, request, *args, **kwargs):
        serializer = SurveyInvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        store = get_visible_store_or_404(request.user, code=data["store"])
        invitation = invitation_create(
            store=store, transaction_ref=data["transaction_ref"],
            expires_in_days=data.get("expires_in_days"), channel=data["channel"],
            created_by=request.user)
        return ApiResponse(SurveyInvitationSerializer(invitation).data,
                           status=status.HTTP_201_CREATED)
