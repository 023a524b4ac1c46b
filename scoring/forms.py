from __future__ import annotations

import json

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from satisfaction.quarters import InvalidQuarterError, Quarter, chain_zone
from scoring import export
from scoring.models import Scheme


class QuarterField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return Quarter.parse(value)
        except InvalidQuarterError:
            raise forms.ValidationError(_("Use a quarter like 2026Q4.")) from None


class RollupForm(forms.Form):
    quarter = QuarterField(label=_("Quarter"), max_length=8)
    reason = forms.CharField(label=_("Reason (required for a published quarter)"),
                             required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PublishForm(forms.Form):
    quarter = QuarterField(label=_("Quarter"), max_length=8)


class AppraisalImportForm(forms.Form):
    file = forms.FileField(label=_("Appraisal points file (CSV or XLSX)"))


class ExportForm(forms.Form):
    """The HR export: a published quarter (the latest by default), a format, a language.

    Only published quarters are offered; any other (a crafted request) is a form error naming
    it. ``published`` lists the offered revisions; empty, the page says nothing can be exported
    yet instead of showing the form.
    """

    quarter = forms.TypedChoiceField(
        label=_("Quarter"), coerce=Quarter.parse,
        error_messages={"invalid_choice": _(
            "%(value)s is not a published quarter: only a published quarter can be exported.")})
    format = forms.ChoiceField(label=_("Format"), choices=list(export.FORMATS.items()),
                               help_text=_("XLSX: employees, stores and what the export is. "
                                           "CSV: the employee sheet alone."))
    language = forms.ChoiceField(label=_("Language of the export"),
                                 choices=list(export.LANGUAGES.items()))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.published = export.published_rollups()
        self.fields["quarter"].choices = [
            (str(rollup.quarter), _("%(quarter)s (revision %(revision)s, published %(date)s)")
             % {"quarter": rollup.quarter, "revision": rollup.revision,
                "date": timezone.localtime(rollup.published_at, chain_zone()).date()
                if rollup.published_at else "–"})
            for rollup in self.published]
        if self.published:
            self.fields["quarter"].initial = str(self.published[0].quarter)


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
