"""REST API of the chain's core: regions, stores, employees — scoped like the pages."""

from __future__ import annotations

from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from satisfaction import rules
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


class StoreFilter(filters.FilterSet):
    region = filters.CharFilter(field_name="region__code")

    class Meta:
        model = Store
        fields = ["region", "city", "is_active"]


class EmployeeFilter(filters.FilterSet):
    store = filters.CharFilter(field_name="store__code")

    class Meta:
        model = Employee
        fields = ["store", "role", "is_active"]


# The chain's stores and staff, for the people who work with store data (not shoppers).
SeesStoreData = rule_permission(rules.sees_store_data)


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RegionSerializer
    permission_classes = [SeesStoreData]
    lookup_field = "code"

    def get_queryset(self):
        return region_list(user=self.request.user).order_by("code")


class StoreViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StoreSerializer
    permission_classes = [SeesStoreData]
    lookup_field = "code"
    filterset_class = StoreFilter

    def get_queryset(self):
        return visible_stores(self.request.user).select_related("region").order_by("code")


class EmployeeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = EmployeeSerializer
    permission_classes = [SeesStoreData]
    lookup_field = "number"
    filterset_class = EmployeeFilter

    def get_queryset(self):
        return scope_to_stores(Employee.objects.select_related("store"),
                               self.request.user).order_by("number")
