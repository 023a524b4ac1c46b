"""Read-mostly admin: schemes are versioned through the scheme page, snapshots are computed."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from satisfaction import history
from scoring.models import AppraisalPoints, EmployeeScore, ExportLog, Rollup, Scheme, StoreScore
from scoring.selectors import SCHEME_VERSION_META


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Scheme)
class SchemeAdmin(ReadOnlyAdmin):
    """Versions are the scheme's history (policy history): each shows who saved it, when, and
    what it changed from the version before."""

    list_display = ["version", "is_current", "note", "created_at", "created_by"]
    readonly_fields = ["changes_from_previous"]

    @admin.display(description=_("Changes from the previous version"))
    def changes_from_previous(self, obj: Scheme) -> str:
        previous = Scheme.objects.filter(version__lt=obj.version).order_by("-version").first()
        return history.as_html(history.field_changes(
            Scheme, previous, obj, history.editable_fields(Scheme, exclude=SCHEME_VERSION_META)))


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
