"""POS integration routes under ``/api/v1/pos/`` (see ``docs/pos-integration.md``)."""

from django.urls import path

from satisfaction import pos_api

urlpatterns = [
    path("pos/transactions/", pos_api.TransactionListCreateView.as_view(),
         name="pos-transaction-list"),
    path("pos/transactions/batch/", pos_api.TransactionBatchView.as_view(),
         name="pos-transaction-batch"),
    path("pos/transactions/<str:store>/<str:receipt_number>/",
         pos_api.TransactionDetailView.as_view(), name="pos-transaction-detail"),
    path("pos/stores/", pos_api.PosStoreListView.as_view(), name="pos-store-list"),
    path("pos/stores/<str:store>/scores/", pos_api.StoreScoresView.as_view(),
         name="pos-store-scores"),
    path("pos/metrics/", pos_api.StoreMetricsView.as_view(), name="pos-store-metrics"),
    path("pos/complaints/", pos_api.PosComplaintCreateView.as_view(), name="pos-complaint-create"),
]
