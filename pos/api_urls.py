"""POS integration routes under ``/api/v1/pos/`` (see ``docs/pos-integration.md``)."""

from django.urls import path

from pos import api

urlpatterns = [
    path("pos/transactions/", api.TransactionListCreateView.as_view(),
         name="pos-transaction-list"),
    path("pos/transactions/batch/", api.TransactionBatchView.as_view(),
         name="pos-transaction-batch"),
    path("pos/transactions/<str:store>/<str:receipt_number>/",
         api.TransactionDetailView.as_view(), name="pos-transaction-detail"),
    path("pos/stores/", api.PosStoreListView.as_view(), name="pos-store-list"),
    path("pos/stores/<str:store>/scores/", api.StoreScoresView.as_view(),
         name="pos-store-scores"),
    path("pos/metrics/", api.StoreMetricsView.as_view(), name="pos-store-metrics"),
    path("pos/complaints/", api.PosComplaintCreateView.as_view(), name="pos-complaint-create"),
]
