from __future__ import annotations

from django.db import models


class PeerReceipt(models.Model):
    """A receipt identified by (store, receipt number), as the POS receipt is."""

    store = models.CharField(max_length=32)
    receipt_number = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    item_count = models.PositiveIntegerField()

    class Meta:
        app_label = "pos_peer"
        constraints = [models.UniqueConstraint(fields=["store", "receipt_number"],
                                               name="pos_peer_store_receipt_unique")]
