"""The setup pages' forms for POS API keys (HQ). The services validate again and own the rules;
the form turns the page's inputs (store codes, regions, an expiry day) into their arguments."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pos import selectors
from pos.models import PosApiKey, throttle_rate_validator
from satisfaction.models import Region
from satisfaction.quarters import chain_zone

ALL_STORES, CHOSEN_STORES = "all", "chosen"
# Codes may be separated by spaces, new lines or commas (Chinese ones too, as pasted from a
# spreadsheet or a chat).
CODE_SEPARATORS = re.compile(r"[\s,;，；、]+")


def expiry_moment(day) -> datetime:
    """A key that "expires after" a day works through that whole day, chain time."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=chain_zone())


def expiry_day(moment: datetime | None):
    """The last day a key works (the inverse of :func:`expiry_moment`)."""
    if moment is None:
        return None
    return (timezone.localtime(moment, chain_zone()) - timedelta(microseconds=1)).date()


class PosKeyForm(forms.Form):
    """Name, stores (all, or by code list and/or region), rate, last day. ``cleaned_data``
    gains ``stores`` (Store list), ``all_stores`` and ``expiry_date`` for the services."""

    name = forms.CharField(label=_("Name"), max_length=50,
                           help_text=_("Which system uses it, e.g. the POS vendor and till."))
    scope = forms.ChoiceField(
        label=_("Stores"), widget=forms.RadioSelect, initial=CHOSEN_STORES,
        choices=[(CHOSEN_STORES, _("Chosen stores")),
                 (ALL_STORES, _("All stores (a head-office system, e.g. the call centre)"))])
    store_codes = forms.CharField(
        label=_("Store codes"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "S0001, S0002"}),
        help_text=_("Separated by spaces, commas or new lines."))
    regions = forms.ModelMultipleChoiceField(
        label=_("All stores of these regions"), queryset=Region.objects.order_by("code"),
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Adds the region's stores as they are now; a store opened later is not "
                    "added by itself."))
    throttle_rate = forms.CharField(
        label=PosApiKey._meta.get_field("throttle_rate").verbose_name,  # noqa: SLF001
        max_length=20, required=False, validators=[throttle_rate_validator],
        help_text=_("Requests allowed per key, e.g. 600/min, 20/s or 50000/day; empty uses "
                    "the default."))
    expires_on = forms.DateField(
        label=_("Works until (inclusive)"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Empty: never expires."))

    def clean_throttle_rate(self) -> str:
        return self.cleaned_data["throttle_rate"].strip()

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        # An unchanged day of an existing key may lie in the past (an expired key edited).
        if day is not None and "expires_on" in self.changed_data \
                and day < timezone.localdate(timezone=chain_zone()):
            raise forms.ValidationError(_("The last day cannot be in the past."))
        return day

    def clean(self) -> dict:
        cleaned = super().clean()
        all_stores = cleaned.get("scope") == ALL_STORES
        cleaned["all_stores"] = all_stores
        cleaned["stores"] = []
        day = cleaned.get("expires_on")
        cleaned["expiry_date"] = expiry_moment(day) if day else None
        if not all_stores:
            codes = [c for c in CODE_SEPARATORS.split(cleaned.get("store_codes") or "") if c]
            stores, unknown = selectors.stores_for_codes_and_regions(
                codes=codes, regions=cleaned.get("regions") or [])
            if unknown:
                self.add_error("store_codes", _("No store has the code(s): %(codes)s")
                               % {"codes": ", ".join(unknown)})
            cleaned["stores"] = stores
        return cleaned

    @classmethod
    def initial_for(cls, api_key: PosApiKey) -> dict:
        return {"name": api_key.name,
                "scope": ALL_STORES if api_key.all_stores else CHOSEN_STORES,
                "store_codes": "\n".join(selectors.store_codes_of_key(api_key)),
                "throttle_rate": api_key.throttle_rate,
                "expires_on": expiry_day(api_key.expiry_date)}
