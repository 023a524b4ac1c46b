"""The rating form: four questions on 1 to 5 and a comment, as large radio buttons on a phone."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ITEMS, SCALE

SCALE_CHOICES = [(value, str(value)) for value in SCALE]


class RatingForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment (optional)"), required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What works well, what should change."))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        items = {name: forms.TypedChoiceField(
            label=question, coerce=int, choices=SCALE_CHOICES,
            widget=forms.RadioSelect(attrs={"class": "scale"}),
            help_text=_("%(item)s · 1 very dissatisfied … 5 very satisfied") % {"item": label})
            for name, label, question in ITEMS}
        self.fields = {**items, **self.fields}

    def answers(self) -> dict[str, int]:
        return {name: self.cleaned_data[name] for name, _label, _question in ITEMS}
