"""Admin of surveys. Indicators and campaigns save through ``surveys.services`` (the same
validation as the API and the pages); responses are read here and reviewed on the review page.

Indicators have no weight here: the scoring scheme weighs them. The trade-area survey team is
the permission "Can key in trade-area questionnaires that count at once"
(``surveys.enter_trade_area_survey``), given to users or groups in the users' and groups' admin.
"""

from django import forms
from django.contrib import admin

from satisfaction.admin import PolicyHistoryAdmin
from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from surveys.models import Campaign, Indicator, Invitation, PaperBatch, Response, StoreFlag
from surveys.services import (
    INDICATOR_FIELDS,
    campaign_create,
    campaign_update,
    campaign_validate,
    indicator_create,
    indicator_update,
)


@admin.register(Indicator)
class IndicatorAdmin(PolicyHistoryAdmin):  # History: who changed what (policy history)
    fields = ("code", *INDICATOR_FIELDS)
    list_display = ["code", "name_zh", "name_en", "kano", "kano_class", "group", "order",
                    "is_active"]
    list_editable = ["order", "is_active"]

    def save_model(self, request, obj: Indicator, form, change: bool) -> None:
        if change:
            indicator_update(indicator=obj, user=request.user, **{
                name: getattr(obj, name) for name in form.changed_data
                if name in INDICATOR_FIELDS})
        else:
            created = indicator_create(code=obj.code, user=request.user, **{
                name: getattr(obj, name) for name in INDICATOR_FIELDS
                if name != "is_active"})
            obj.pk = created.pk


class CampaignAdminForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ("name", "quarter", "stores", "scale_max", "ask_expectation", "ask_overall",
                  "ask_recommend", "target_per_store", "opens_on", "closes_on")

    def clean(self) -> dict:
        cleaned = super().clean()
        try:
            campaign_validate(quarter=cleaned.get("quarter") or "",
                              opens_on=cleaned.get("opens_on"),
                              closes_on=cleaned.get("closes_on"),
                              scale_max=cleaned.get("scale_max") or 0,
                              target_per_store=cleaned.get("target_per_store") or 0)
        except ApplicationError as exc:
            add_application_error(self, exc)
        return cleaned


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = ["name", "quarter", "opens_on", "closes_on", "scale_max", "ask_expectation",
                    "target_per_store", "all_stores"]
    list_filter = ["quarter"]
    filter_horizontal = ["stores"]
    exclude = ["all_stores"]  # follows from the stores: none chosen means every store

    def save_model(self, request, obj: Campaign, form, change: bool) -> None:
        data = form.cleaned_data
        values = {"quarter": data["quarter"], "opens_on": data["opens_on"],
                  "closes_on": data["closes_on"], "scale_max": data["scale_max"],
                  "ask_expectation": data["ask_expectation"],
                  "ask_overall": data["ask_overall"], "ask_recommend": data["ask_recommend"],
                  "target_per_store": data["target_per_store"],
                  "stores": list(data["stores"]) or None}
        if change:  # the stored campaign, not the form's edited copy (the service compares)
            saved = campaign_update(campaign=Campaign.objects.get(pk=obj.pk),
                                    name=data["name"], **values)
        else:
            saved = campaign_create(name=data["name"], **values)
        obj.pk, obj.all_stores = saved.pk, saved.all_stores

    def save_related(self, request, form, formsets, change: bool) -> None:
        """The service has saved the stores with the campaign."""


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["token", "store", "transaction_ref", "created_at", "expires_at", "used_at"]
    raw_id_fields = ["store", "campaign", "created_by"]
    search_fields = ["transaction_ref", "token"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["pk", "store", "campaign", "channel", "status", "flag_reasons",
                    "entered_by", "self_served", "submitted_at"]
    list_filter = ["status", "channel", "self_served"]
    raw_id_fields = ["store", "employee", "campaign", "invitation", "paper_batch", "entered_by",
                     "reviewed_by"]
    readonly_fields = ["device_hash", "entered_by", "self_served"]


@admin.register(StoreFlag)
class StoreFlagAdmin(admin.ModelAdmin):
    list_display = ["store", "campaign", "status", "created_at"]
    raw_id_fields = ["store"]


admin.site.register(PaperBatch)
