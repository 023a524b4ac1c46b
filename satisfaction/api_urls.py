from rest_framework.routers import DefaultRouter

from satisfaction.api import EmployeeViewSet, RegionViewSet, StoreViewSet

router = DefaultRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("stores", StoreViewSet, basename="store")
router.register("employees", EmployeeViewSet, basename="employee")

urlpatterns = router.urls
