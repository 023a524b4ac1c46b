from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.models import (
    AppealWindow,
    AppealWindowKind,
    Delivery,
    Department,
    Employee,
    Region,
    Store,
    User,
)
from satisfaction.notifications import delivery_resend
from satisfaction.services import appeal_window_set, appeal_window_validate


@admin.register(User)
class SatisfactionUserAdmin(UserAdmin):
    list_display = ["username", "first_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "regions"]
    filter_horizontal = ["regions", "stores", "departments", "groups", "user_permissions"]
    autocomplete_fields = ["employee"]
    fieldsets = (*UserAdmin.fieldsets,
                 ("Scope", {"fields": ("role", "regions", "stores", "departments", "employee")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Scope", {"fields": ("role",)}))


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    """HQ's departments that serve the stores: renamed, reordered, added or retired here (a
    retired one keeps its ratings and complaints)."""

    list_display = ["code", "name_zh", "name_en", "order", "is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class ChainImportAdminMixin:
    """An "Import from CSV / XLSX" button on the store and employee lists that opens the one
    chain import page (``satisfaction.views.chain_import_view``)."""

    change_list_template = "admin/satisfaction/change_list_with_import.html"


@admin.register(Store)
class StoreAdmin(ChainImportAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "region", "city", "is_active"]
    list_filter = ["region", "is_active"]
    search_fields = ["code", "name", "city"]
    list_select_related = ["region"]


@admin.register(Employee)
class EmployeeAdmin(ChainImportAdminMixin, admin.ModelAdmin):
    list_display = ["number", "name", "store", "role", "is_active"]
    list_filter = ["role", "is_active", "store__region"]
    search_fields = ["number", "name", "store__code"]
    list_select_related = ["store"]
    raw_id_fields = ["store"]



class PolicyHistoryAdmin(SimpleHistoryAdmin):
    """The admin of a policy with history: its History view lists every change with its diff.
    A historical version can be viewed, never saved back ("revert" would bypass the service
    that validates a change; ``SIMPLE_HISTORY_REVERT_DISABLED`` only hides its button)."""

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context: dict | None = None) -> HttpResponse:
        if request.method not in {"GET", "HEAD"}:
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return super().history_form_view(request, object_id, version_id, extra_context)


class AppealWindowAdminForm(forms.ModelForm):
    class Meta:
        model = AppealWindow
        fields = ("kind", "days")

    def clean(self) -> dict:
        cleaned = super().clean()
        kind = cleaned.get("kind") or getattr(self.instance, "kind", "")
        if cleaned.get("days") is not None:
            try:
                appeal_window_validate(kind=kind, days=cleaned["days"])
            except ApplicationError as exc:
                add_application_error(self, exc)
        return cleaned


@admin.register(AppealWindow)
class AppealWindowAdmin(PolicyHistoryAdmin):  # History: who changed what (policy history)
    """The appeal windows of complaints and mystery-shopper reports: one row per kind (seeded
    by the migration), changed through ``appeal_window_set``."""

    form = AppealWindowAdminForm
    list_display = ["kind", "days", "updated_at", "updated_by"]
    list_editable = ["days"]
    readonly_fields = ["updated_at", "updated_by"]

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=AppealWindowAdminForm, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "kind"] if obj is not None else self.readonly_fields

    def has_add_permission(self, request) -> bool:
        missing = AppealWindow.objects.count() < len(AppealWindowKind.values)
        return missing and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: AppealWindow, form, change: bool) -> None:
        saved = appeal_window_set(kind=obj.kind, days=obj.days, user=request.user)
        obj.pk = saved.pk


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The notification outbox, read-only (it is written by ``notification_send`` and the
    sweep); HQ's page ``/notifications/deliveries/`` is where failed rows are resent."""

    list_display = ["created_at", "channel", "recipient_display", "title", "state", "attempts",
                    "next_attempt_at", "sent_at"]
    list_filter = ["state", "channel", "kind"]
    search_fields = ["title", "address", "user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    # ``address`` is not shown as such: a webhook URL carries the robot's key.
    fields = ["channel", "user", "recipient_display", "title", "body", "url", "kind",
              "idempotency_key", "state", "attempts", "next_attempt_at", "last_error",
              "created_at", "sent_at"]
    readonly_fields = fields
    actions = ["resend"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("recipient"))
    def recipient_display(self, obj: Delivery) -> str:
        return obj.recipient_display

    @admin.action(description=_("Resend the selected failed deliveries"))
    def resend(self, request, queryset) -> None:
        try:
            count = delivery_resend(user=request.user,
                                    delivery_ids=list(queryset.values_list("pk", flat=True)))
        except ApplicationError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(request, ngettext(
            "%(n)s delivery will be sent again.", "%(n)s deliveries will be sent again.",
            count) % {"n": count})
