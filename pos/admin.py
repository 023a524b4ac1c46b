"""Admin for POS API keys (HQ's page is /setup/pos-keys/; here too the secret is shown once)
and receipts."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from pos.models import PosApiKey, PosTransaction
from pos.services import pos_api_key_create, pos_api_key_revoke, pos_api_key_scope_validate
from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error

# The library's own unscoped key model is not used: POS keys are the store-scoped PosApiKey.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class PosApiKeyAdminForm(forms.ModelForm):
    class Meta:
        model = PosApiKey
        fields = ("name", "stores", "all_stores", "throttle_rate", "expiry_date", "revoked")

    def clean(self) -> dict:
        cleaned = super().clean()
        try:
            pos_api_key_scope_validate(stores=cleaned.get("stores") or (),
                                       all_stores=bool(cleaned.get("all_stores")))
        except ApplicationError as exc:
            add_application_error(self, exc)
        return cleaned


@admin.register(PosApiKey)
class PosApiKeyAdmin(APIKeyModelAdmin):
    """Keys are created and revoked through ``pos.services`` (the same rules as anywhere)."""

    form = PosApiKeyAdminForm
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

    def save_model(self, request, obj: PosApiKey, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            if "revoked" in form.changed_data and obj.revoked:
                obj.revoked = False  # the service revokes (and refuses to un-revoke)
                pos_api_key_revoke(api_key=obj, user=request.user)
            obj.save()
            return
        created, secret = pos_api_key_create(
            name=data["name"], stores=list(data.get("stores") or ()),
            all_stores=bool(data.get("all_stores")), throttle_rate=data.get("throttle_rate", ""),
            expiry_date=data.get("expiry_date"), user=request.user)
        obj.pk, obj.id, obj.prefix = created.pk, created.id, created.prefix
        obj.hashed_key, obj.created = created.hashed_key, created.created
        messages.warning(request, _(
            "The API key for %(name)s is: %(key)s. Store it somewhere safe: you will not be "
            "able to see it again.") % {"name": created.name, "key": secret})

    def save_related(self, request, form, formsets, change: bool) -> None:
        if change:  # a new key's stores were set by the service
            super().save_related(request, form, formsets, change)


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
