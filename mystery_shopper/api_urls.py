from rest_framework.routers import DefaultRouter

from mystery_shopper.api import TemplateViewSet, VisitViewSet

router = DefaultRouter()
router.register("mystery-shopper/templates", TemplateViewSet, basename="ms-template")
router.register("mystery-shopper/visits", VisitViewSet, basename="ms-visit")

urlpatterns = router.urls
