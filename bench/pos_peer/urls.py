from django.urls import include, path

from bench.pos_peer.views import PeerReceiptView

urlpatterns = [
    path("bench/peer/receipts/", PeerReceiptView.as_view()),
    path("", include("satisfaction.urls")),
]
