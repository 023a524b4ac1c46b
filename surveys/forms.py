"""Forms of the survey setup pages (HQ) and the paper questionnaire upload. They only read and
shape what was typed; the rules are the services' (``surveys.services``), whose errors the
views put back on the form (``satisfaction.forms.add_application_error``)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from satisfaction.forms import QuarterChoiceField, quarter_choices_around
from satisfaction.models import Region
from satisfaction.quarters import Quarter
from surveys.models import (
    Campaign,
    Indicator,
    IndicatorGroup,
    KanoClass,
    KanoTag,
    SelectionKind,
    StoreSelection,
)


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    quarter = QuarterChoiceField(label=_("Quarter"))
    store_choice = forms.ChoiceField(label=_("Stores"), choices=SelectionKind.choices,
                                     required=False, widget=forms.RadioSelect)
    regions = forms.MultipleChoiceField(label=_("Regions"), required=False,
                                        widget=forms.CheckboxSelectMultiple)
    cities = forms.CharField(label=_("Cities"), required=False, max_length=2000,
                             help_text=_("City names separated by spaces or commas."))
    store_codes = forms.CharField(
        label=_("Store codes"), required=False, max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Store codes separated by spaces, commas or new lines."))
    scale_max = forms.TypedChoiceField(label=_("Rating scale"), coerce=int,
                                       choices=[(5, _("1–5")), (10, _("1–10"))])
    ask_expectation = forms.BooleanField(
        label=_("Ask what the customer expected first (expectation question)"),
        required=False)
    ask_overall = forms.BooleanField(
        label=_("Ask overall satisfaction (on the rating scale)"), required=False,
        help_text=_("Lets the results say which indicators move satisfaction most."))
    ask_recommend = forms.BooleanField(
        label=_("Ask whether they would recommend us (0–10)"), required=False)
    target_per_store = forms.IntegerField(label=_("Target answers per store"), min_value=1,
                                          max_value=100_000, initial=30)
    opens_on = forms.DateField(label=_("Opens on"),
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    closes_on = forms.DateField(label=_("Closes on"),
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs) -> None:
        if campaign is not None and "initial" not in kwargs:
            selection = StoreSelection.parse(campaign.store_selection)
            kwargs["initial"] = {
                "name": campaign.name, "quarter": campaign.quarter,
                "store_choice": selection.kind, "scale_max": campaign.scale_max,
                "ask_expectation": campaign.ask_expectation,
                "ask_overall": campaign.ask_overall, "ask_recommend": campaign.ask_recommend,
                "target_per_store": campaign.target_per_store,
                "opens_on": campaign.opens_on, "closes_on": campaign.closes_on,
                "regions": list(selection.values) if selection.kind == "region" else [],
                "cities": " ".join(selection.values) if selection.kind == "city" else "",
                "store_codes": " ".join(selection.values) if selection.kind == "store" else ""}
        elif "initial" not in kwargs:  # a new campaign: this quarter, from today to its end
            current = Quarter.current()
            kwargs["initial"] = {"quarter": current, "opens_on": timezone.localdate(),
                                 "closes_on": current.last_day, "store_choice": ""}
        super().__init__(*args, **kwargs)
        self.fields["quarter"].quarters = quarter_choices_around(
            before=2, after=3, extra=[campaign.quarter] if campaign is not None else [])
        self.fields["regions"].choices = [(r.code, f"{r.name} ({r.code})")
                                          for r in Region.objects.order_by("code")]

    def selection(self) -> StoreSelection:
        data = self.cleaned_data
        kind = data.get("store_choice") or ""
        values = {"region": data.get("regions") or [], "city": data.get("cities") or "",
                  "store": data.get("store_codes") or ""}.get(kind, [])
        return StoreSelection.of(kind, values)

    def values(self) -> dict:
        """The service's keyword arguments (``campaign_create`` / ``campaign_update``)."""
        data = self.cleaned_data
        return {"name": data["name"].strip(), "quarter": data["quarter"],
                "store_selection": self.selection(), "scale_max": data["scale_max"],
                "ask_expectation": data["ask_expectation"],
                "ask_overall": data["ask_overall"], "ask_recommend": data["ask_recommend"],
                "target_per_store": data["target_per_store"],
                "opens_on": data["opens_on"], "closes_on": data["closes_on"]}


class IndicatorForm(forms.Form):
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=100)
    name_en = forms.CharField(label=_("Name (English)"), max_length=100)
    question_zh = forms.CharField(label=_("Question (Chinese)"), max_length=300,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    question_en = forms.CharField(label=_("Question (English)"), max_length=300,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    kano = forms.ChoiceField(label=_("Kano tag"), choices=KanoTag.choices)
    kano_class = forms.ChoiceField(
        label=_("Kano class"), required=False,
        choices=[("", _("From the tag")), *KanoClass.choices],
        help_text=_("Basic: expected, missed when absent; performance: the better, the more "
                    "satisfied; delight: pleases when present. Empty: time, quality and price "
                    "are basic, respect and care delight."))
    group = forms.ChoiceField(label=_("Questionnaire screen"), choices=IndicatorGroup.choices)
    order = forms.IntegerField(label=_("Order"), min_value=0, max_value=32767, initial=100)
    is_active = forms.BooleanField(label=_("Active (asked in the questionnaire)"),
                                   required=False, initial=True)

    FIELDS = ("name_zh", "name_en", "question_zh", "question_en", "kano", "kano_class",
              "group", "order", "is_active")

    def __init__(self, *args, indicator: Indicator | None = None, **kwargs) -> None:
        if indicator is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(indicator, name) for name in self.FIELDS}
        super().__init__(*args, **kwargs)

    def values(self) -> dict:
        data = self.cleaned_data
        return {name: data[name].strip() if isinstance(data[name], str) else data[name]
                for name in self.FIELDS}


class IndicatorCreateForm(IndicatorForm):
    code = forms.SlugField(label=_("Code"), max_length=40,
                           help_text=_("Letters, digits, - and _; it never changes (results "
                                       "and the scheme's weights are keyed by it)."))
    field_order = ["code"]

    def values(self) -> dict:
        return {"code": self.cleaned_data["code"], **super().values()}


class PaperUploadForm(forms.Form):
    file = forms.FileField(label=_("Questionnaires file (CSV or XLSX)"))
