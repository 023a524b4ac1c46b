from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dashboard.models import ActionSource
from satisfaction.forms import QuarterChoiceField
from satisfaction.models import Employee, Store
from satisfaction.quarters import Quarter


class ImprovementActionForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("improvement action", "Action"), max_length=200)
    indicator_code = forms.ChoiceField(label=_("Indicator it should move"))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=Employee.objects.none())
    deadline = forms.DateField(label=_("Deadline"),
                               widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.ChoiceField(label=_("Found through"), choices=ActionSource.choices)
    source_ref = forms.CharField(label=_("Reference"), max_length=100, required=False,
                                 help_text=_("Complaint ticket, visit date or other note."))
    description = forms.CharField(label=_("Details"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, store: Store, indicators: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = Employee.objects.filter(
            store=store, is_active=True).order_by("role", "number")
        self.fields["indicator_code"].choices = list(indicators.items())


class ReviewForm(forms.Form):
    note = forms.CharField(label=_("Review note"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class FiguresFilterForm(forms.Form):
    """The query of the chain's figures pages: a quarter picked from those that exist (an
    unknown or malformed one is an error on ``quarter``, never a guess) and a region."""

    quarter = QuarterChoiceField(label=_("Quarter"), required=False)
    region = forms.CharField(label=_("Region"), required=False, max_length=100)

    def __init__(self, data, *, quarters: list[tuple[Quarter, str]], **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.fields["quarter"].quarters = quarters


class RankingFilterForm(FiguresFilterForm):
    """The store list's query, read the same way by the page and by its export (the job gets
    the cleaned values). Unknown regions, cities and sorts match nothing or sort by rank, as
    the list always has; ``revision`` is ``scoring.selectors.revision_param``'s."""

    city = forms.CharField(label=_("City"), required=False, max_length=100)
    q = forms.CharField(label=_("Store code or name"), required=False, max_length=100)
    sort = forms.CharField(label=_("Sort by"), required=False, max_length=20)
