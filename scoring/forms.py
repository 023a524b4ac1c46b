from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from satisfaction.forms import QuarterChoiceField
from satisfaction.quarters import Quarter
from scoring import export, selectors
from scoring.models import Scheme
from scoring.selectors import QuarterOption


def _options(options: list[QuarterOption] | None) -> list[QuarterOption]:
    return selectors.quarter_options() if options is None else options


class RollupForm(forms.Form):
    """Recompute a quarter: any quarter that exists, labelled with its state."""

    quarter = QuarterChoiceField(label=_("Quarter"))
    reason = forms.CharField(label=_("Reason (required for a published quarter)"),
                             required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, options: list[QuarterOption] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quarter"].quarters = selectors.quarter_choices(_options(options))


class QuarterPickForm(forms.Form):
    """The quarter a value page shows (``?quarter=``): the quarters with values."""

    quarter = QuarterChoiceField(label=_("Quarter"))

    def __init__(self, *args, quarters: list[tuple[Quarter, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quarter"].quarters = quarters
        self.fields["quarter"].widget.attrs["data-autosubmit"] = ""


class AppraisalImportForm(forms.Form):
    file = forms.FileField(label=_("Appraisal points file (CSV or XLSX)"))


class ExportForm(forms.Form):
    """The HR export: a published quarter (the latest by default), a format, a language.

    Only published quarters are offered (``selectors.quarter_options``); any other (a crafted
    request) is a form error naming it. ``published`` lists the offered quarters; empty, the
    page says nothing can be exported yet instead of showing the form.
    """

    quarter = QuarterChoiceField(
        label=_("Quarter"),
        error_messages={"invalid_choice": _(
            "%(value)s is not a published quarter: only a published quarter can be exported.")})
    format = forms.ChoiceField(label=_("Format"), choices=list(export.FORMATS.items()),
                               help_text=_("XLSX: employees, stores and what the export is. "
                                           "CSV: the employee sheet alone."))
    language = forms.ChoiceField(label=_("Language of the export"),
                                 choices=list(export.LANGUAGES.items()))

    def __init__(self, *args, options: list[QuarterOption] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.published = [o for o in _options(options)
                          if o.state == selectors.QUARTER_PUBLISHED]
        self.fields["quarter"].quarters = [(o.quarter, o.label) for o in self.published]
        if self.published:
            self.fields["quarter"].initial = self.published[0].quarter


class WeightsField(forms.CharField):
    """Indicator weights as ``code: weight`` lines (or JSON)."""

    widget = forms.Textarea(attrs={"rows": 8})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{code}: {weight:g}" for code, weight in value.items())
        return value

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if text.startswith("{"):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise forms.ValidationError(_("Not valid JSON.")) from None
        weights = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            code, _sep, number = line.partition(":")
            try:
                weights[code.strip()] = float(number)
            except ValueError:
                raise forms.ValidationError(
                    _("Write one indicator per line as code: weight (%(line)s).")
                    % {"line": line.strip()}) from None
        return weights


class SchemeForm(forms.ModelForm):
    indicator_weights = WeightsField(label=_("Indicator weights"))

    class Meta:
        model = Scheme
        fields = ["note", "survey_points", "scenario_points", "indicator_weights",
                  "grade_a_points", "grade_b_points", "grade_c_points", "min_sample",
                  "missing_component", "warm_service_points", "efficacy_points", "price_points",
                  "purchase_points", "missing_part", "financial_weight", "satisfaction_weight",
                  "other_weight", "bonus_k", "bonus_target", "small_sample_adjustment",
                  "shrinkage_m", "scenario_counts_image"]

    def _post_clean(self) -> None:
        # The service validates the whole new version (and assigns it a number).
        pass
