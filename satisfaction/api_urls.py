from rest_framework.routers import APIRootView, DefaultRouter

from satisfaction.api import EmployeeViewSet, RegionViewSet, StoreViewSet
from satisfaction.api_errors import RejectHostileInput


class ApiRootView(RejectHostileInput, APIRootView):
    """The browsable API's index at /api/v1/ (this router's root comes first there)."""


router = DefaultRouter()
router.APIRootView = ApiRootView
router.register("regions", RegionViewSet, basename="region")
router.register("stores", StoreViewSet, basename="store")
router.register("employees", EmployeeViewSet, basename="employee")

urlpatterns = router.urls
