from django.contrib import admin

from satisfaction.admin import PolicyHistoryAdmin

from .models import (
    Appeal,
    Complaint,
    ComplaintEvent,
    ComplaintPolicy,
    ComplaintProduct,
    ComplaintSpike,
    EightDReport,
    GradePolicy,
    RecurrenceCheck,
    SlaAlert,
    StoreHours,
)


@admin.register(ComplaintPolicy)
class ComplaintPolicyAdmin(PolicyHistoryAdmin):  # History: who changed what (policy history)
    list_display = ["__str__", "backdate_days", "pause_while_waiting", "business_hours_clock",
                    "warn_fraction"]


@admin.register(GradePolicy)
class GradePolicyAdmin(PolicyHistoryAdmin):
    """The grade policy versions, read-only: a version is never edited (complaints graded
    under it keep it), HQ writes the next one on the setup page (/setup/complaints/,
    ``services.grade_policy_update``)."""

    list_display = ["__str__", "resolution_hours", "first_response_hours",
                    "escalation_interval_hours", "requires_8d", "recurrence_days",
                    "created_at", "created_by"]
    list_filter = ["grade"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StoreHours)
class StoreHoursAdmin(PolicyHistoryAdmin):
    list_display = ["store", "opens_at", "closes_at", "open_24h"]
    search_fields = ["store__code", "store__name"]
    autocomplete_fields = ["store"]


class EventInline(admin.TabularInline):
    model = ComplaintEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "actor", "action", "changes", "note"]


class ProductInline(admin.StackedInline):
    """Read-only: product details change through the complaint's page (an adverse reaction
    alerts HQ there, ``services.products``)."""

    model = ComplaintProduct
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in ComplaintProduct._meta.fields if f.name != "id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    """Read-mostly: state changes go through the app's pages and API (services), not here."""

    list_display = ["ticket_no", "store", "status", "grade", "substantiated", "received_at",
                    "due_at", "escalation_level"]
    list_filter = ["kind", "status", "grade", "channel", "category", "department"]
    search_fields = ["ticket_no", "store__code"]
    list_select_related = ["store"]
    readonly_fields = [f.name for f in Complaint._meta.fields]
    inlines = [ProductInline, EventInline]

    def has_add_permission(self, request):
        return False


@admin.register(EightDReport)
class EightDReportAdmin(admin.ModelAdmin):
    list_display = ["complaint", "updated_at", "archived_at"]
    readonly_fields = ["complaint", "archived_at", "version"]


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ["complaint", "kind", "status", "filed_at", "decided_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Appeal._meta.fields]


@admin.register(RecurrenceCheck)
class RecurrenceCheckAdmin(admin.ModelAdmin):
    list_display = ["complaint", "cycle", "interval_days", "due_at", "notified_at",
                    "confirmed_at", "recurred", "recurrence"]
    raw_id_fields = ["complaint", "recurrence"]


@admin.register(SlaAlert)
class SlaAlertAdmin(admin.ModelAdmin):
    list_display = ["complaint", "cycle", "kind", "level", "due_at", "recorded_at", "sent_at"]
    list_filter = ["kind", "level"]
    readonly_fields = [f.name for f in SlaAlert._meta.fields]


@admin.register(ComplaintSpike)
class ComplaintSpikeAdmin(admin.ModelAdmin):
    """Read-only: the daily sweep (services.complaint_spike_sweep) is the only writer."""

    list_display = ["scope", "store", "region", "category", "started_on", "last_seen_on",
                    "ended_on", "count", "peak_count", "baseline_per_week", "threshold",
                    "alerted_at"]
    list_filter = ["scope", "category", "ended_on"]
    list_select_related = ["store", "region"]
    readonly_fields = [f.name for f in ComplaintSpike._meta.fields]
