from django.urls import path
from rest_framework.routers import DefaultRouter

from .api import ComplaintFiguresView, ComplaintViewSet

router = DefaultRouter()
router.register("complaints", ComplaintViewSet, basename="complaint")

urlpatterns = [
    path("complaint-figures/", ComplaintFiguresView.as_view(), name="complaint-figures"),
    *router.urls,
]
