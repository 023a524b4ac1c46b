"""The pulse's forms: the answer form and the results pages' query."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from pulse import selectors
from pulse.models import COMMENT_MAX
from pulse.statements import SCALE_LABELS, STATEMENTS
from satisfaction.errors import ApplicationError
from satisfaction.forms import QuarterChoiceField
from satisfaction.models import Region, Store, User
from satisfaction.quarters import Quarter


class PulseForm(forms.Form):
    """Five statements on the 1–5 agreement scale, an optional comment and, for someone who
    works in more than one store, the store the answer is about."""

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(),
                                   empty_label=None)
    comment = forms.CharField(label=_("Anything else you want HQ to know? (optional)"),
                              required=False, max_length=COMMENT_MAX,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, stores: QuerySet[Store], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        for statement in STATEMENTS:
            self.fields[statement.code] = forms.TypedChoiceField(
                label=statement.text, coerce=int, widget=forms.RadioSelect,
                choices=list(SCALE_LABELS.items()),
                error_messages={"required": _("Choose how much you agree.")})
        self.order_fields(["store", *(s.code for s in STATEMENTS), "comment"])

    def statement_fields(self) -> list[forms.BoundField]:
        return [self[s.code] for s in STATEMENTS]

    def answers(self) -> dict[str, int]:
        return {s.code: self.cleaned_data[s.code] for s in STATEMENTS}


class PulseQueryForm(forms.Form):
    """A results page's query: an ended quarter with answers and, optionally, a region the
    reader sees; anything else is an error naming the field (400), never a guess."""

    quarter = QuarterChoiceField(label=_("Quarter"), required=False)
    region = forms.ChoiceField(label=_("Region"), required=False)

    def __init__(self, data, *, quarters: list[Quarter], regions: list[tuple[str, str]],
                 **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.fields["quarter"].quarters = [(q, str(q)) for q in quarters]
        self.fields["region"].choices = [("", _("All")), *regions]


@dataclass(frozen=True)
class PulseQuery:
    quarter: Quarter
    region: Region | None
    quarters: list[Quarter]  # the quarters the select offers, newest first
    regions: list[Region]  # the regions the reader sees


def pulse_query(params: Mapping[str, str], *, user: User) -> PulseQuery:
    """A results page's ``?quarter=&region=``: by default the newest ended quarter with
    answers and every region the reader sees; a bad value is a 400 naming the field. The
    pulse's pages and the dashboard's pulse page read their query here."""
    quarters = selectors.pulse_quarters()
    regions = list(selectors.visible_regions(user=user))
    form = PulseQueryForm(params, quarters=quarters,
                          regions=[(r.code, r.name) for r in regions])
    if not form.is_valid():
        raise ApplicationError(gettext("Check the filters of the page."), fields={
            name: [str(m) for m in errors] for name, errors in form.errors.items()})
    quarter = form.cleaned_data["quarter"] or selectors.default_quarter(quarters)
    region = next((r for r in regions if r.code == form.cleaned_data["region"]), None)
    if quarter not in quarters:
        quarters = sorted({*quarters, quarter}, reverse=True)
    return PulseQuery(quarter=quarter, region=region, quarters=quarters, regions=regions)
