from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.shortcuts import redirect, render
from django.urls import path

from satisfaction.errors import ApplicationError
from satisfaction.forms import ChainImportForm
from satisfaction.models import Employee, Region, Store, User
from satisfaction.services import chain_import


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
    """An "Import stores and employees" page in the admin, on the same service as the CLI."""

    change_list_template = "admin/satisfaction/change_list_with_import.html"

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view),
                     name=f"{self.model._meta.model_name}_import"), *super().get_urls()]

    def import_view(self, request):
        form = ChainImportForm(request.POST or None, request.FILES or None)
        row_errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = chain_import(file_name=upload.name, content=upload.read())
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                row_errors = exc.fields.get("rows", [])
            else:
                self.message_user(request, result.summary(), messages.SUCCESS)
                return redirect("..")
        context = {**self.admin_site.each_context(request), "form": form,
                   "row_errors": row_errors, "opts": self.model._meta,
                   "title": "Import stores and employees"}
        return render(request, "admin/satisfaction/import.html", context)


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

