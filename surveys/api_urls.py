from rest_framework.routers import DefaultRouter

from surveys.api import CampaignViewSet, IndicatorViewSet, InvitationViewSet, ResponseViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("surveys/indicators", IndicatorViewSet, basename="survey-indicator")
router.register("surveys/campaigns", CampaignViewSet, basename="survey-campaign")
router.register("surveys/responses", ResponseViewSet, basename="survey-response")
router.register("surveys/invitations", InvitationViewSet, basename="survey-invitation")

urlpatterns = router.urls
