from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from dashboard.models import ActionSource
from satisfaction.models import Employee, Store


class ImprovementActionForm(forms.Form):
    title = forms.CharField(label=_("Action"), max_length=200)
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
