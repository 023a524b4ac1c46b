from django.contrib import admin

from dashboard.models import ImprovementAction


@admin.register(ImprovementAction)
class ImprovementActionAdmin(admin.ModelAdmin):
    list_display = ("title", "store", "indicator_code", "owner", "deadline", "status", "outcome")
    list_filter = ("status", "outcome", "source", "quarter")
    search_fields = ("title", "store__code", "store__name")
    raw_id_fields = ("store", "owner", "created_by", "reviewed_by")
