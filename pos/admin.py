"""Admin for POS API keys (HQ creates them here; the secret is shown once) and receipts."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from pos.models import PosApiKey, PosTransaction

# The library's own unscoped key model is not used: POS keys are the store-scoped PosApiKey.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(PosApiKey)
class PosApiKeyAdmin(APIKeyModelAdmin):
    list_display = ("prefix", "name", "all_stores", "store_count", "throttle_rate", "created",
                    "last_used_at", "expiry_date", "_has_expired", "revoked")
    list_filter = ("revoked", "all_stores", "created")
    filter_horizontal = ("stores",)
    fields = ("name", "stores", "all_stores", "throttle_rate", "expiry_date", "revoked",
              "prefix", "last_used_at")

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "last_used_at")

    @admin.display(description=_("stores"))
    def store_count(self, obj: PosApiKey) -> int:
        return len(obj.stores.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("stores")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        key = form.instance
        if not key.all_stores and not key.stores.exists():
            messages.warning(request, _("This key has no stores yet: it can post for none."))


@admin.register(PosTransaction)
class PosTransactionAdmin(admin.ModelAdmin):
    list_display = ("receipt_number", "store", "occurred_at", "amount", "item_count",
                    "cashier_number", "received_at")
    list_filter = ("occurred_at",)
    search_fields = ("receipt_number", "store__code")
    list_select_related = ("store",)
    raw_id_fields = ("store", "cashier", "api_key")
    show_full_result_count = False
    readonly_fields = ("store", "receipt_number", "occurred_at", "amount", "item_count",
                       "member_hash", "cashier_number", "cashier", "api_key", "received_at",
                       "invitation_id", "invitation_url", "invitation_qr",
                       "invitation_expires_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
