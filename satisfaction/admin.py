from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from satisfaction.models import Employee, Region, Store, User


@admin.register(User)
class SatisfactionUserAdmin(UserAdmin):
    list_display = ["username", "first_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "regions"]
    filter_horizontal = ["regions", "stores", "groups", "user_permissions"]
    autocomplete_fields = ["employee"]
    fieldsets = (*UserAdmin.fieldsets,
                 ("Scope", {"fields": ("role", "regions", "stores", "employee")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Scope", {"fields": ("role",)}))


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

