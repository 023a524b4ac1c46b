"""REST API for scorecard templates, visits, reports and evidence, scoped like the pages.

HQ sees every visit (with the shopper); a shopper only their own visits; store users only the
approved reports of their stores, never who visited.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from mystery_shopper import rules, selectors, services
from mystery_shopper.models import (
    Evidence,
    EvidenceKind,
    ItemKind,
    ScorecardItem,
    ScorecardSection,
    ScorecardTemplate,
    Visit,
    VisitAnswer,
    VisitStatus,
)
from satisfaction.api_errors import LimitedJSONParser, RejectHostileInput
from satisfaction.api_schema import QuarterField
from satisfaction.permissions import rule_permission
from satisfaction.quarters import QUARTER_PATTERN


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScorecardItem
        fields = ["id", "code", "text_zh", "text_en", "kind", "max_points", "part", "evidence",
                  "is_red_line", "allows_na"]


class SectionSerializer(serializers.ModelSerializer):
    items = ItemSerializer(many=True, read_only=True)

    class Meta:
        model = ScorecardSection
        fields = ["id", "title_zh", "title_en", "items"]


class TemplateSerializer(serializers.ModelSerializer):
    sections = SectionSerializer(many=True, read_only=True)

    class Meta:
        model = ScorecardTemplate
        fields = ["id", "code", "version", "name_zh", "name_en", "red_line_score", "is_current",
                  "created_at", "sections"]


class ItemInputSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=50)
    text_zh = serializers.CharField(max_length=300)
    text_en = serializers.CharField(max_length=300, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=ItemKind.choices, default=ItemKind.YES_NO)
    max_points = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0)
    part = serializers.ChoiceField(choices=["image", "purchase", "process"])
    evidence = serializers.ChoiceField(choices=EvidenceKind.choices, default=EvidenceKind.NONE)
    is_red_line = serializers.BooleanField(default=False)
    allows_na = serializers.BooleanField(required=False)


class SectionInputSerializer(serializers.Serializer):
    title_zh = serializers.CharField(max_length=200)
    title_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    items = ItemInputSerializer(many=True, allow_empty=False)


class TemplateInputSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=50, default="default")
    name_zh = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    red_line_score = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0,
                                              max_value=100, default=0)
    sections = SectionInputSerializer(many=True, allow_empty=False)


@extend_schema_view(create=extend_schema(request=TemplateInputSerializer,
                                         responses={201: TemplateSerializer}))
class TemplateViewSet(RejectHostileInput, mixins.CreateModelMixin,
                      viewsets.ReadOnlyModelViewSet):
    """Scorecard versions. POST makes a new version of ``code`` (old visits keep theirs)."""

    serializer_class = TemplateSerializer

    def get_queryset(self) -> QuerySet[ScorecardTemplate]:
        return ScorecardTemplate.objects.prefetch_related("sections__items").order_by(
            "code", "-version")

    def get_permissions(self):
        if self.action == "create":
            return [rule_permission(rules.can_plan_visits)()]
        return super().get_permissions()

    def get_serializer_class(self):
        return TemplateInputSerializer if self.action == "create" else TemplateSerializer

    def create(self, request, *args, **kwargs):
        data = TemplateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = services.scorecard_template_create_version(user=request.user,
                                                              **data.validated_data)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class AnswerSerializer(serializers.ModelSerializer):
    class Meta:
        model = VisitAnswer
        fields = ["item", "value", "not_applicable", "comment"]


class EvidenceSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Evidence
        fields = ["id", "item", "kind", "content_type", "size", "url", "uploaded_at"]

    def get_url(self, obj: Evidence) -> str:
        return reverse("mystery_shopper:evidence", args=[obj.public_id])


class VisitSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    employee = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    quarter = serializers.CharField(read_only=True)

    class Meta:
        model = Visit
        fields = ["id", "store", "quarter", "template", "scenario", "status", "due_on",
                  "visited_on", "checked_in_at", "served_by_badge", "employee", "notes",
                  "score_pct", "purchase_points", "purchase_max", "process_points",
                  "process_max", "image_points", "image_max", "red_line", "approved_at",
                  "acknowledged_at", "coaching"]


class VisitDetailSerializer(VisitSerializer):
    answers = AnswerSerializer(many=True, read_only=True)
    evidence = serializers.SerializerMethodField()

    class Meta(VisitSerializer.Meta):
        fields = [*VisitSerializer.Meta.fields, "answers", "evidence"]

    @extend_schema_field(EvidenceSerializer(many=True, read_only=True))
    def get_evidence(self, obj: Visit) -> list[dict]:
        # As on the pages: HR and clerks read the report without its photos and audio, the
        # shopper sees their report's files but not the store's appeal files.
        report_files, appeal_files = selectors.visit_evidence_for(
            user=self.context["request"].user, visit=obj)
        return EvidenceSerializer([*report_files, *appeal_files], many=True).data


# HQ and the visit's shopper see the shopper and the check-in place, a store's staff never do
# (``VisitViewSet._visit_serializer_class``): the schema documents the HQ shape, with those
# fields optional.
_SHOPPER_ONLY = "Only for HQ and the visit's shopper."


def _shopper_field() -> serializers.CharField:
    return serializers.CharField(source="shopper.username", required=False, allow_null=True,
                                 help_text=_SHOPPER_ONLY)


@extend_schema_serializer(component_name="VisitOut")
class HQVisitSerializer(VisitDetailSerializer):
    shopper = _shopper_field()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False,
                                        allow_null=True, help_text=_SHOPPER_ONLY)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False,
                                         allow_null=True, help_text=_SHOPPER_ONLY)
    review_comment = serializers.CharField(required=False, help_text=_SHOPPER_ONLY)

    class Meta(VisitDetailSerializer.Meta):
        fields = [*VisitDetailSerializer.Meta.fields, "shopper", "latitude", "longitude",
                  "review_comment"]


@extend_schema_serializer(component_name="VisitListOut")
class HQVisitListSerializer(VisitSerializer):
    shopper = _shopper_field()

    class Meta(VisitSerializer.Meta):
        fields = [*VisitSerializer.Meta.fields, "shopper"]


class DraftSerializer(serializers.Serializer):
    answers = serializers.ListField(child=serializers.DictField(), required=False)
    checked_in_at = serializers.DateTimeField(required=False)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False)
    served_by_badge = serializers.CharField(max_length=100, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(help_text="What the shopper must fix.")


class AcknowledgeSerializer(serializers.Serializer):
    coaching = serializers.CharField(required=False, allow_blank=True, default="")


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A photo (JPEG, PNG) or an audio recording.")
    item = serializers.IntegerField(required=False, help_text="The scorecard item it shows.")


class VisitAppealSerializer(serializers.Serializer):
    reason = serializers.CharField()


class VisitAppealUploadSerializer(VisitAppealSerializer):
    evidence = serializers.ListField(child=serializers.FileField(), required=False,
                                     help_text="Files that back the appeal.")


class AppealOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class VisitFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=VisitStatus.choices)
    quarter = filters.CharFilter(method="filter_quarter",
                                 help_text="Quarter such as 2026Q4.")

    class Meta:
        model = Visit
        fields = ["status", "quarter"]

    @extend_schema_field({"type": "string", "pattern": QUARTER_PATTERN})
    def filter_quarter(self, queryset, name, value):
        quarter = QuarterField()
        try:
            return queryset.filter(quarter=quarter.to_internal_value(value))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"quarter": exc.detail}) from None


_VISIT = {200: HQVisitSerializer}


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(list=extend_schema(responses=HQVisitListSerializer(many=True)),
                    retrieve=extend_schema(responses=HQVisitSerializer))
class VisitViewSet(RejectHostileInput, viewsets.ReadOnlyModelViewSet):
    filterset_class = VisitFilter

    def get_queryset(self) -> QuerySet[Visit]:
        if getattr(self, "swagger_fake_view", False):
            return Visit.objects.none()
        return selectors.visit_list_for(user=self.request.user)

    def get_serializer_class(self):
        if self.serializer_class is not None:  # an action's own: ``@action(serializer_class=)``
            return self.serializer_class
        return self._visit_serializer_class()

    def _visit_serializer_class(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or rules.can_review_visits(user):
            return HQVisitSerializer if self.action != "list" else HQVisitListSerializer
        if rules.sees_shopper(user):  # the shopper, on their own visits
            return HQVisitSerializer if self.action != "list" else VisitSerializer
        return VisitDetailSerializer if self.action != "list" else VisitSerializer

    def _mine(self) -> Visit:
        visit = self.get_object()
        if not rules.can_report(self.request.user, visit):
            raise NotFound
        return visit

    def _hq(self) -> Visit:
        if not rules.can_review_visits(self.request.user):
            raise PermissionDenied
        return self.get_object()

    def _detail(self, visit: Visit) -> Response:
        visit.refresh_from_db()
        serializer = self._visit_serializer_class()
        return Response(serializer(visit, context=self.get_serializer_context()).data)

    @extend_schema(request=DraftSerializer, responses=_VISIT)
    @action(detail=True, methods=["patch", "post"], serializer_class=DraftSerializer)
    def draft(self, request, pk=None):
        """Save part of the report: ``answers: [{item, value, not_applicable, comment}]``."""
        visit = self._mine()
        data = DraftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        answers = {int(a.get("item", 0)): a for a in values.pop("answers", [])}
        services.visit_draft_save(visit=visit, shopper=request.user, answers=answers, **values)
        return self._detail(visit)

    @extend_schema(request=None, responses=_VISIT)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        visit = self._mine()
        services.visit_submit(visit=visit, shopper=request.user)
        return self._detail(visit)

    @extend_schema(request={"multipart/form-data": EvidenceUploadSerializer},
                   responses={201: EvidenceSerializer})
    @action(detail=True, methods=["post"], url_path="evidence", parser_classes=[MultiPartParser])
    def evidence(self, request, pk=None):
        """Upload a photo or audio file (multipart ``file``, optional ``item`` id)."""
        visit = self._mine()
        data = _valid(EvidenceUploadSerializer, request)
        item = None
        if data.get("item") is not None:
            item = get_object_or_404(ScorecardItem, pk=data["item"],
                                     section__template=visit.template_id)
        evidence = services.visit_evidence_add(visit=visit, shopper=request.user,
                                               upload=data["file"], item=item)
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CommentSerializer, responses=_VISIT)
    @action(detail=True, methods=["post"], serializer_class=CommentSerializer)
    def approve(self, request, pk=None):
        visit = self._hq()
        data = _valid(CommentSerializer, request)
        services.visit_approve(visit=visit, reviewer=request.user, comment=data["comment"])
        return self._detail(visit)

    @extend_schema(request=ReturnSerializer, responses=_VISIT)
    @action(detail=True, methods=["post"], url_path="return", serializer_class=ReturnSerializer)
    def send_back(self, request, pk=None):
        visit = self._hq()
        data = _valid(ReturnSerializer, request)
        services.visit_return(visit=visit, reviewer=request.user, comment=data["comment"])
        return self._detail(visit)

    @extend_schema(request=AcknowledgeSerializer, responses=_VISIT)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        visit = self.get_object()
        if not rules.can_follow_up(request.user):
            raise PermissionDenied
        data = _valid(AcknowledgeSerializer, request)
        services.visit_acknowledge(visit=visit, user=request.user, coaching=data["coaching"])
        return self._detail(visit)

    # Documented as the upload it is; a JSON {"reason"} without files is read too (older
    # clients), undocumented so that generated clients get one body type.
    @extend_schema(request={"multipart/form-data": VisitAppealUploadSerializer},
                   responses={201: AppealOutSerializer})
    @action(detail=True, methods=["post"],
            parser_classes=[LimitedJSONParser, MultiPartParser])
    def appeal(self, request, pk=None):
        """Appeal an approved report: JSON ``{"reason"}``, or multipart with ``evidence``
        files."""
        visit = self.get_object()
        if not rules.can_follow_up(request.user):
            raise PermissionDenied
        data = _valid(VisitAppealSerializer, request)
        appeal = services.appeal_raise(visit=visit, user=request.user, reason=data["reason"],
                                       uploads=request.FILES.getlist("evidence"))
        return Response({"id": appeal.pk, "status": appeal.status},
                        status=status.HTTP_201_CREATED)
