"""Forms of HQ's mystery-shopper setup (the scorecard editor, scenarios) and of the exports.

The forms check the shape of what was typed; the rules of a valid scorecard (codes unique,
points, at least one item per section) are the services', whose errors are shown at the
section or item they name (``setup_views``).
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mystery_shopper.models import EvidenceKind, ItemKind, ScorecardPart
from mystery_shopper.models import Scenario as ScenarioModel
from satisfaction.forms import QuarterChoiceField
from satisfaction.quarters import Quarter

_CODE_HELP = _("Letters, digits, - and _ (the item's key in exports and the API).")


class ScorecardForm(forms.Form):
    """The scorecard's own fields, the version it was opened at, and why it is changed."""

    base_version = forms.IntegerField(widget=forms.HiddenInput)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    red_line_score = forms.DecimalField(
        label=_("Score of a red-line failure (%)"), min_value=Decimal(0),
        max_value=Decimal(100), max_digits=5, decimal_places=2,
        help_text=_("The visit's score when any red-line item fails, whatever the points."))
    note = forms.CharField(label=_("Reason for the change"), max_length=200, required=False,
                           help_text=_("Shown in the change history."))


class _RowForm(forms.Form):
    """A row of an ordered formset. Moving a row (its ORDER) or ticking delete on a new row
    does not make a blank new row "changed": it stays ignored instead of failing as empty."""

    def has_changed(self) -> bool:
        return any(name not in ("ORDER", "DELETE") for name in self.changed_data)


class SectionForm(_RowForm):
    title_zh = forms.CharField(label=_("Section title (Chinese)"), max_length=200)
    title_en = forms.CharField(label=_("Section title (English)"), max_length=200,
                               required=False)


class ItemForm(_RowForm):
    code = forms.SlugField(label=_("Code"), max_length=50, help_text=_CODE_HELP)
    text_zh = forms.CharField(label=_("Text (Chinese)"), max_length=300)
    text_en = forms.CharField(label=_("Text (English)"), max_length=300, required=False)
    # Initial values, so that a new row left blank counts as unchanged (and is ignored).
    part = forms.ChoiceField(label=_("Part of the score"), choices=ScorecardPart.choices,
                             initial=ScorecardPart.IMAGE)
    kind = forms.ChoiceField(label=pgettext_lazy("scorecard item", "Kind"),
                             choices=ItemKind.choices, initial=ItemKind.YES_NO)
    max_points = forms.DecimalField(label=_("Maximum points"), min_value=Decimal(0),
                                    max_value=Decimal("9999.99"), max_digits=6,
                                    decimal_places=2, initial=Decimal(1))
    evidence = forms.ChoiceField(label=_("Evidence required"), choices=EvidenceKind.choices,
                                 required=False, initial=EvidenceKind.NONE)
    allows_na = forms.BooleanField(label=_("N/A allowed"), required=False, initial=True)
    is_red_line = forms.BooleanField(label=_("Red line"), required=False,
                                     help_text=_("A no fails the whole visit."))


def _ordered_formset(form: type[forms.Form]) -> type[forms.BaseFormSet]:
    # New rows are added in the page (static/mystery_shopper/setup.js); absolute_max bounds
    # what a forged management form can ask the server to build.
    return forms.formset_factory(form, extra=0, can_order=True, can_delete=True,
                                 max_num=200, absolute_max=200, validate_max=True)


SectionFormSet = _ordered_formset(SectionForm)
ItemFormSet = _ordered_formset(ItemForm)


class ScenarioForm(forms.ModelForm):
    """A scenario script; saved through ``services.scenarios_save``, never ``form.save()``."""

    class Meta:
        model = ScenarioModel
        fields = ["code", "title_zh", "title_en", "script_zh", "script_en", "is_active"]
        widgets = {"script_zh": forms.Textarea(attrs={"rows": 3}),
                   "script_en": forms.Textarea(attrs={"rows": 3})}

    def validate_unique(self) -> None:
        """Uniqueness is the service's check (it sees every row of the submission at once)."""


ScenarioFormSet = forms.modelformset_factory(
    ScenarioModel, form=ScenarioForm, extra=1, can_delete=False, max_num=500,
    absolute_max=500)


class QuarterForm(forms.Form):
    """The quarter a page shows, picked from the quarters offered (``satisfaction.forms``)."""

    quarter = QuarterChoiceField(label=_("Quarter"))

    def __init__(self, *args, quarters: list[tuple[Quarter, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quarter"].quarters = quarters


class ExportForm(forms.Form):
    """Which quarter and which file (the quarter field is added by the view: the quarters
    that have visits)."""

    format = forms.ChoiceField(label=_("File"), choices=[("xlsx", "Excel (XLSX)"),
                                                         ("csv", "CSV")], initial="xlsx")
