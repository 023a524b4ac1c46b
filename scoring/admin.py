"""Read-mostly admin: schemes are versioned through the scheme page, snapshots are computed."""

from django.contrib import admin

from scoring.models import AppraisalPoints, EmployeeScore, ExportLog, Rollup, Scheme, StoreScore


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Scheme)
class SchemeAdmin(ReadOnlyAdmin):
    list_display = ["version", "is_current", "note", "created_at", "created_by"]


@admin.register(Rollup)
class RollupAdmin(ReadOnlyAdmin):
    list_display = ["quarter", "revision", "status", "scheme", "computed_at", "published_at",
                    "store_count", "employee_count", "seconds"]
    list_filter = ["status"]


@admin.register(StoreScore)
class StoreScoreAdmin(ReadOnlyAdmin):
    list_display = ["quarter", "store", "value", "rank_chain", "n_responses", "rollup"]
    list_select_related = ["store", "rollup"]
    search_fields = ["store__code", "store__name"]
    list_filter = ["quarter"]


@admin.register(EmployeeScore)
class EmployeeScoreAdmin(ReadOnlyAdmin):
    list_display = ["quarter", "employee", "store", "value", "bonus_factor", "rollup"]
    list_select_related = ["employee", "store", "rollup"]
    search_fields = ["employee__number", "employee__name"]
    list_filter = ["quarter"]


@admin.register(AppraisalPoints)
class AppraisalPointsAdmin(ReadOnlyAdmin):
    list_display = ["quarter", "employee", "financial_points", "other_points", "imported_at"]
    list_select_related = ["employee"]
    search_fields = ["employee__number"]


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "quarter", "rollup", "file_format", "row_count"]
