"""POS integration models: store-scoped API keys and the receipts POS systems post.

See ``docs/pos-integration.md``. A receipt is identified by its store and receipt number; the
unique constraint on that pair is what makes a POS retry idempotent, even under concurrency.
Member ids are never stored: only a keyed hash (``pos.services.member_hash``).
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from rest_framework_api_key.models import AbstractAPIKey
from simple_history.models import HistoricalRecords

# A key's request rate as the throttle reads it (``pos.auth.PosKeyThrottle``: DRF's
# ``parse_rate`` takes the number and the period's first letter). The one rule: the model field,
# the setup form and the services validate with this validator.
THROTTLE_RATE_PATTERN = r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$"
throttle_rate_validator = RegexValidator(THROTTLE_RATE_PATTERN,
                                         _("A rate such as 600/min, 20/s or 50000/day."))


class PosApiKey(AbstractAPIKey):
    """An API key for one POS or call-centre system, allowed to act for a set of stores.

    Created by HQ on the setup page (the secret is shown once; only its hash is kept), revocable,
    optionally expiring. ``throttle_rate`` (e.g. ``"600/min"``) overrides the default per-key rate.
    """

    stores = models.ManyToManyField("satisfaction.Store", related_name="pos_api_keys",
                                    blank=True, verbose_name=_("stores"),
                                    help_text=_("Stores this key may post for and read."))
    all_stores = models.BooleanField(
        _("all stores"), default=False,
        help_text=_("For a head-office system (e.g. the call centre): every store of the chain."))
    throttle_rate = models.CharField(
        _("throttle rate"), max_length=20, blank=True, validators=[throttle_rate_validator],
        help_text=_("Requests allowed per key, e.g. 600/min; empty uses the default."))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    # Who created, changed or revoked a key, and when (satisfaction/history.py); not its hash,
    # and not its last use (written by the API, not a change).
    history = HistoricalRecords(excluded_fields=["hashed_key", "last_used_at"])

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("POS API key")
        verbose_name_plural = _("POS API keys")


class PosTransaction(models.Model):
    """One receipt posted by a store's POS."""

    store = models.ForeignKey("satisfaction.Store", on_delete=models.PROTECT,
                              related_name="pos_transactions", verbose_name=_("store"))
    receipt_number = models.CharField(_("receipt number"), max_length=64)
    occurred_at = models.DateTimeField(_("time"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    item_count = models.PositiveIntegerField(_("item count"))
    member_hash = models.CharField(_("member (keyed hash)"), max_length=64, blank=True)
    cashier_number = models.CharField(_("cashier employee number"), max_length=32, blank=True)
    cashier = models.ForeignKey("satisfaction.Employee", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="pos_transactions",
                                verbose_name=_("cashier"))
    api_key = models.ForeignKey(PosApiKey, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="transactions", verbose_name=_("API key"))
    received_at = models.DateTimeField(pgettext_lazy("receipt", "received at"))
    # The survey invitation this receipt got, copied so a retry returns the same one without a
    # join into the surveys app (no cross-app foreign key).
    invitation_id = models.BigIntegerField(_("survey invitation"), null=True, blank=True)
    invitation_url = models.CharField(_("invitation link"), max_length=300, blank=True)
    invitation_qr = models.CharField(_("invitation QR payload"), max_length=300, blank=True)
    invitation_expires_at = models.DateTimeField(_("invitation expires at"), null=True,
                                                 blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("POS transaction")
        verbose_name_plural = _("POS transactions")
        constraints = [
            models.UniqueConstraint(fields=["store", "receipt_number"],
                                    name="pos_transaction_store_receipt_unique"),
        ]
        indexes = [
            models.Index(fields=["store", "occurred_at"], name="pos_tx_store_time_idx"),
            models.Index(fields=["occurred_at", "member_hash"], name="pos_tx_time_member_idx",
                         condition=~models.Q(member_hash="")),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.receipt_number}"
