"""Survey REST API under /api/v1/surveys/: scoped exactly like the pages."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response as ApiResponse

from satisfaction.errors import ApplicationError
from satisfaction.models import Store
from satisfaction.permissions import rule_permission
from satisfaction.scoping import get_visible_store_or_404, scope_to_stores
from surveys import rules
from surveys.models import Campaign, Channel, Indicator, Invitation, InvitationChannel, Response
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
)

# Reads for anyone who works with store data; setup writes for HQ, answers for store staff.
HqWritesOthersRead = rule_permission(rules.can_see_surveys, rules.can_manage_campaigns)
StoreStaff = rule_permission(rules.can_see_surveys, rules.can_collect_responses)


class SurveyIndicatorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Indicator
        fields = ["id", "code", "name_zh", "name_en", "question_zh", "question_en", "weight",
                  "kano", "group", "order", "is_active"]


class IndicatorViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin,
                       viewsets.ReadOnlyModelViewSet):
    serializer_class = SurveyIndicatorSerializer
    permission_classes = [HqWritesOthersRead]
    lookup_field = "code"
    queryset = Indicator.objects.order_by("order", "code")

    def perform_create(self, serializer):
        serializer.instance = indicator_create(**serializer.validated_data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("code", None)
        serializer.instance = indicator_update(indicator=serializer.instance, **data)


class SurveyCampaignSerializer(serializers.ModelSerializer):
    quarter = serializers.CharField()
    stores = serializers.SlugRelatedField(slug_field="code", many=True, required=False,
                                          queryset=Store.objects.all())

    class Meta:
        model = Campaign
        fields = ["id", "name", "quarter", "all_stores", "stores", "scale_max",
                  "ask_expectation", "target_per_store", "opens_on", "closes_on"]
        read_only_fields = ["all_stores"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["quarter"] = str(instance.quarter)
        return data


class CampaignViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin,
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

    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """Per-store results of the campaign for the stores the caller sees (``?store=``)."""
        campaign = self.get_object()
        code = request.query_params.get("store")
        stores = [get_visible_store_or_404(request.user, code=code)] if code else None
        rows = campaign_result_rows(campaign=campaign, user=request.user, stores=stores)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([_result_json(s, r) for s, r in page])


def _result_json(store, result: StoreResult) -> dict:
    return {
        "store": store.code, "n": result.n, "target": result.target,
        "below_target": result.below_target, "weighted_score": result.weighted_score,
        "ci_low": result.ci_low, "ci_high": result.ci_high, "sd": result.sd,
        "invitations": result.invitations, "response_rate": result.response_rate,
        "indicators": [{
            "code": i.code, "n": i.n, "mean": i.mean_rating, "score": i.score,
            "bottom_n": i.bottom_n, "mean_expectation": i.mean_expectation, "gap": i.gap,
            "gap_class": i.gap_class} for i in result.indicators],
    }


class SurveyResponseSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    channel = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    employee = serializers.SlugRelatedField(slug_field="number", read_only=True)
    answers = serializers.SerializerMethodField()

    class Meta:
        model = Response
        fields = ["id", "campaign", "store", "employee", "channel", "submitted_at",
                  "duration_seconds", "comment", "status", "flag_reasons", "answers"]

    def get_answers(self, obj) -> dict:
        return {a.indicator.code: {"rating": a.rating, "expectation": a.expectation}
                for a in obj.answers.all()}


class SurveyResponseCreateSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    store = serializers.CharField()
    # Free text checked by the service (paper or phone), not an enum: the OpenAPI schema
    # already has other "channel" enums.
    channel = serializers.CharField(default=Channel.PAPER)
    ratings = serializers.DictField(child=serializers.JSONField())
    expectations = serializers.DictField(child=serializers.JSONField(), required=False)
    employee_number = serializers.CharField(required=False, allow_blank=True, default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ResponseViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [StoreStaff]

    def get_serializer_class(self):
        if self.action == "create":
            return SurveyResponseCreateSerializer
        return SurveyResponseSerializer

    def get_queryset(self):
        params = self.request.query_params
        responses = response_list(user=self.request.user, status=params.get("status", ""))
        if params.get("campaign", "").isdigit():
            responses = responses.filter(campaign_id=int(params["campaign"]))
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
                               comment=data["comment"]))
        response = Response.objects.prefetch_related("answers__indicator").select_related(
            "store", "employee").get(pk=response.pk)
        return ApiResponse(SurveyResponseSerializer(response).data, status=status.HTTP_201_CREATED)


class SurveyInvitationSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    channel = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "token", "store", "campaign", "transaction_ref", "channel", "created_at",
                  "expires_at", "used_at", "short_url", "qr_payload"]


class SurveyInvitationCreateSerializer(serializers.Serializer):
    store = serializers.CharField()
    transaction_ref = serializers.CharField(required=False, allow_blank=True, default="",
                                            max_length=64)
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=90)
    channel = serializers.CharField(default=InvitationChannel.RECEIPT)


class InvitationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
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
