from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from mystery_shopper import selectors
from mystery_shopper.models import (
    Appeal,
    Scenario,
    ScorecardItem,
    ScorecardSection,
    ScorecardTemplate,
    ShopperCity,
    StoreVisitFrequency,
    Visit,
    VisitEvent,
    VisitReminder,
)
from satisfaction import history
from satisfaction.admin import PolicyHistoryAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class SectionInline(ReadOnlyInline):
    model = ScorecardSection
    fields = ["position", "title_zh", "title_en"]


@admin.register(ScorecardTemplate)
class ScorecardTemplateAdmin(admin.ModelAdmin):
    """Read-only: a new version is made through the API so visits keep the version they used."""

    list_display = ["code", "version", "name_zh", "is_current", "created_at"]
    readonly_fields = ["changes_from_previous"]
    inlines = [SectionInline]

    @admin.display(description=_("Changes from the previous version"))
    def changes_from_previous(self, obj: ScorecardTemplate) -> str:
        """Versions are the scorecard's history (policy history)."""
        found = selectors.scorecard_changes(code=obj.code, up_to_version=obj.version, limit=1)
        return history.as_html(found[0].fields if found else ())

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ScorecardItem)
class ScorecardItemAdmin(admin.ModelAdmin):
    """Read-only like its template: an item added or removed here would change a version
    visits were scored on, with no new version to show it (policy history)."""

    list_display = ["code", "text_zh", "kind", "max_points", "part", "evidence", "is_red_line"]
    list_filter = ["section__template", "part"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Scenario)
class ScenarioAdmin(PolicyHistoryAdmin):  # History: who changed which script
    """HQ edits scenarios on the setup page (``/setup/scenarios/``); the admin is read and
    history."""

    list_display = ["code", "title_zh", "is_active"]


@admin.register(VisitReminder)
class VisitReminderAdmin(admin.ModelAdmin):
    """Which reminders were sent (the daily sweep writes them; read-only)."""

    list_display = ["visit", "shopper", "stage", "sent_at"]
    list_filter = ["stage"]
    raw_id_fields = ["visit", "shopper"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ShopperCity)
class ShopperCityAdmin(admin.ModelAdmin):
    list_display = ["shopper", "city"]
    search_fields = ["shopper__username", "city"]


@admin.register(StoreVisitFrequency)
class StoreVisitFrequencyAdmin(PolicyHistoryAdmin):  # History: who changed what
    list_display = ["store", "quarter", "visits"]
    raw_id_fields = ["store"]


class EventInline(ReadOnlyInline):
    model = VisitEvent
    fields = ["at", "action", "from_status", "to_status", "actor", "comment"]
    readonly_fields = fields


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ["store", "quarter", "due_on", "shopper", "status", "score_pct"]
    list_filter = ["status", "quarter"]
    raw_id_fields = ["store", "shopper", "employee"]
    inlines = [EventInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # state changes go through the review pages (and are recorded)


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ["visit", "status", "raised_at", "decided_at"]
    list_filter = ["status"]
