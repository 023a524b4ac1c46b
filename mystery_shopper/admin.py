from django.contrib import admin

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
)


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
    inlines = [SectionInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ScorecardItem)
class ScorecardItemAdmin(admin.ModelAdmin):
    list_display = ["code", "text_zh", "kind", "max_points", "part", "evidence", "is_red_line"]
    list_filter = ["section__template", "part"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ["code", "title_zh", "is_active"]


@admin.register(ShopperCity)
class ShopperCityAdmin(admin.ModelAdmin):
    list_display = ["shopper", "city"]
    search_fields = ["shopper__username", "city"]


@admin.register(StoreVisitFrequency)
class StoreVisitFrequencyAdmin(admin.ModelAdmin):
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
