"""The bare peer: DRF's defaults minus authentication, one ``get_or_create``."""

from __future__ import annotations

from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.pos_peer.models import PeerReceipt


class PeerReceiptView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def post(self, request: Request) -> Response:
        data = request.data
        receipt, created = PeerReceipt.objects.get_or_create(
            store=data["store"], receipt_number=data["receipt_number"],
            defaults={"occurred_at": data["occurred_at"], "amount": data["amount"],
                      "item_count": data["item_count"]})
        return Response({"id": receipt.pk, "store": receipt.store,
                         "receipt_number": receipt.receipt_number, "created": created},
                        status=201 if created else 200)
