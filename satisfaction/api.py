"""REST API of the chain's core: regions, stores, employees — scoped like the pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from django_filters.widgets import BooleanWidget
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from satisfaction import rules
from satisfaction.api_errors import RejectHostileInput
from satisfaction.models import Employee, Region, Store
from satisfaction.permissions import rule_permission
from satisfaction.scoping import scope_to_stores, visible_stores
from satisfaction.selectors import region_list


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "name"]


class StoreSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Store
        fields = ["code", "name", "region", "city", "address", "opened_on", "closed_on",
                  "is_active"]


class EmployeeSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Employee
        fields = ["number", "name", "store", "role", "hired_on", "left_on", "is_active"]


class _StrictBooleanWidget(BooleanWidget):
    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if value in (None, ""):
            return None
        return {"true": True, "false": False}.get(value.lower(), value)


class _StrictBooleanField(forms.NullBooleanField):
    def to_python(self, value):
        if value in (True, False, None):
            return value
        raise ValidationError(_("Must be true or false."), code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(filters.BooleanFilter):
    """``?is_active=true|false``; anything else is a 400, not an ignored filter."""

    field_class = _StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", _StrictBooleanWidget)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "number", "minimum": 0, "maximum": 100})
class ValueFilter(filters.NumberFilter):
    """A satisfaction value to compare with (``?min_value=70``): 0 to 100, as the values are.
    Anything else is a 400 with the field's message, and the schema says so (django-filter's
    own bound was an undocumented ±1e50)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 100)
        super().__init__(*args, **kwargs)


class StoreFilter(filters.FilterSet):
    region = filters.CharFilter(field_name="region__code")
    is_active = StrictBooleanFilter()

    class Meta:
        model = Store
        fields = ["region", "city", "is_active"]


class EmployeeFilter(filters.FilterSet):
    store = filters.CharFilter(field_name="store__code")
    is_active = StrictBooleanFilter()

    class Meta:
        model = Employee
        fields = ["store", "role", "is_active"]


# The chain's stores and staff, for the people who work with store data (not shoppers).
SeesStoreData = rule_permission(rules.sees_store_data)


class RegionViewSet(RejectHostileInput, viewsets.ReadOnlyModelViewSet):
    serializer_class = RegionSerializer
    permission_classes = [SeesStoreData]
    lookup_field = "code"

    def get_queryset(self):
        return region_list(user=self.request.user).order_by("code")


class StoreViewSet(RejectHostileInput, viewsets.ReadOnlyModelViewSet):
    serializer_class = StoreSerializer
    permission_classes = [SeesStoreData]
    lookup_field = "code"
    filterset_class = StoreFilter

    def get_queryset(self):
        return visible_stores(self.request.user).select_related("region").order_by("code")


class EmployeeViewSet(RejectHostileInput, viewsets.ReadOnlyModelViewSet):
    serializer_class = EmployeeSerializer
    permission_classes = [SeesStoreData]
    lookup_field = "number"
    filterset_class = EmployeeFilter

    def get_queryset(self):
        return scope_to_stores(Employee.objects.select_related("store"),
                               self.request.user).order_by("number")
