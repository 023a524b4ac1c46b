from django.contrib import admin

from surveys.models import Campaign, Indicator, Invitation, PaperBatch, Response, StoreFlag


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "weight", "kano", "group", "order",
                    "is_active"]
    list_editable = ["weight", "order", "is_active"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "quarter", "opens_on", "closes_on", "scale_max", "ask_expectation",
                    "target_per_store", "all_stores"]
    list_filter = ["quarter"]
    filter_horizontal = ["stores"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["token", "store", "transaction_ref", "created_at", "expires_at", "used_at"]
    raw_id_fields = ["store", "campaign", "created_by"]
    search_fields = ["transaction_ref", "token"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["pk", "store", "campaign", "channel", "status", "flag_reasons",
                    "submitted_at"]
    list_filter = ["status", "channel"]
    raw_id_fields = ["store", "employee", "campaign", "invitation", "paper_batch"]
    readonly_fields = ["device_hash"]


@admin.register(StoreFlag)
class StoreFlagAdmin(admin.ModelAdmin):
    list_display = ["store", "campaign", "status", "created_at"]
    raw_id_fields = ["store"]


admin.site.register(PaperBatch)
