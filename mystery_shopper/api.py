"""REST API for scorecard templates, visits, reports and evidence, scoped like the pages.

HQ sees every visit (with the shopper); a shopper only their own visits; store users only the
approved reports of their stores, never who visited.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from mystery_shopper import rules, selectors, services
from mystery_shopper.models import (
    Evidence,
    ScorecardItem,
    ScorecardSection,
    ScorecardTemplate,
    Visit,
    VisitAnswer,
)
from satisfaction.permissions import rule_permission


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
    kind = serializers.ChoiceField(choices=["yes_no", "points"], default="yes_no")
    max_points = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0)
    part = serializers.ChoiceField(choices=["image", "purchase", "process"])
    evidence = serializers.ChoiceField(choices=["", "photo", "audio"], default="")
    is_red_line = serializers.BooleanField(default=False)
    allows_na = serializers.BooleanField(required=False)


class SectionInputSerializer(serializers.Serializer):
    title_zh = serializers.CharField(max_length=200)
    title_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    items = ItemInputSerializer(many=True)


class TemplateInputSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=50, default="default")
    name_zh = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    red_line_score = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0,
                                              max_value=100, default=0)
    sections = SectionInputSerializer(many=True)


class TemplateViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
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
    employee = serializers.SlugRelatedField(slug_field="number", read_only=True)
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

    def get_evidence(self, obj: Visit) -> list[dict]:
        return EvidenceSerializer(obj.evidence.all(), many=True).data


class HQVisitSerializer(VisitDetailSerializer):
    shopper = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta(VisitDetailSerializer.Meta):
        fields = [*VisitDetailSerializer.Meta.fields, "shopper", "latitude", "longitude",
                  "review_comment"]


class HQVisitListSerializer(VisitSerializer):
    shopper = serializers.SlugRelatedField(slug_field="username", read_only=True)

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


class VisitViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_fields = ["status", "quarter"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Visit]:
        if getattr(self, "swagger_fake_view", False):
            return Visit.objects.none()
        return selectors.visit_list_for(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "draft":
            return DraftSerializer
        if self.action in ("approve", "send_back"):
            return CommentSerializer
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

    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        visit = self._mine()
        services.visit_submit(visit=visit, shopper=request.user)
        return self._detail(visit)

    @action(detail=True, methods=["post"], url_path="evidence")
    def evidence(self, request, pk=None):
        """Upload a photo or audio file (multipart ``file``, optional ``item`` id)."""
        visit = self._mine()
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["Upload a file."]})
        item = None
        if request.data.get("item"):
            item = get_object_or_404(ScorecardItem, pk=request.data["item"],
                                     section__template=visit.template_id)
        evidence = services.visit_evidence_add(visit=visit, shopper=request.user, upload=upload,
                                               item=item)
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], serializer_class=CommentSerializer)
    def approve(self, request, pk=None):
        visit = self._hq()
        services.visit_approve(visit=visit, reviewer=request.user,
                               comment=request.data.get("comment", ""))
        return self._detail(visit)

    @action(detail=True, methods=["post"], url_path="return", serializer_class=CommentSerializer)
    def send_back(self, request, pk=None):
        visit = self._hq()
        services.visit_return(visit=visit, reviewer=request.user,
                              comment=request.data.get("comment", ""))
        return self._detail(visit)

    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        visit = self.get_object()
        if not rules.can_follow_up(request.user):
            raise PermissionDenied
        services.visit_acknowledge(visit=visit, user=request.user,
                                   coaching=request.data.get("coaching", ""))
        return self._detail(visit)

    @action(detail=True, methods=["post"])
    def appeal(self, request, pk=None):
        visit = self.get_object()
        if not rules.can_follow_up(request.user):
            raise PermissionDenied
        appeal = services.appeal_raise(visit=visit, user=request.user,
                                       reason=request.data.get("reason", ""),
                                       uploads=request.FILES.getlist("evidence"))
        return Response({"id": appeal.pk, "status": appeal.status},
                        status=status.HTTP_201_CREATED)
