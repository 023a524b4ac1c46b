from rest_framework.routers import SimpleRouter

from scoring.api import EmployeeScoreViewSet, RollupViewSet, StoreScoreViewSet

router = SimpleRouter()
router.register("scoring/store-scores", StoreScoreViewSet, basename="store-score")
router.register("scoring/employee-scores", EmployeeScoreViewSet, basename="employee-score")
router.register("scoring/rollups", RollupViewSet, basename="rollup")

urlpatterns = router.urls
