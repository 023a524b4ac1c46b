"""Forms of the complaint pages (they collect input; the services decide)."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from satisfaction.forms import QuarterChoiceField, quarter_choices_around
from satisfaction.models import Department, Employee, Region, Role, Store, User
from satisfaction.scoping import visible_stores

from . import rules
from .models import (
    AgeBand,
    AppealKind,
    Category,
    Channel,
    ComplaintPolicy,
    EightDReport,
    Grade,
    GradePolicy,
    ReactionOutcome,
    Responsibility,
    Sex,
    Status,
    StoreHours,
)
from .selectors import grade_policies
from .services.products import PRODUCT_FIELDS, ProductInput

YES_NO = [("", "---------"), ("yes", _("Yes")), ("no", _("No"))]
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(
            attrs={"accept": "image/*,application/pdf,audio/*,video/mp4"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class PublicComplaintForm(forms.Form):
    customer_name = forms.CharField(label=_("Your name"), max_length=100, required=False)
    customer_phone = forms.CharField(
        label=_("Your phone"), max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=_("You check the status with the ticket number and its last four digits."))
    customer_email = forms.EmailField(
        label=_("Your e-mail"), max_length=254, required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("Optional: we e-mail you the handling report when your complaint is "
                    "closed."))
    category = forms.ChoiceField(label=_("What is it about?"), choices=Category.choices)
    description = forms.CharField(label=_("What happened?"), widget=forms.Textarea(
        attrs={"rows": 5}), max_length=4000)
    occurred_at = forms.DateTimeField(label=_("When did it happen?"), required=False,
                                      widget=DATETIME_INPUT)
    previous_ticket = forms.CharField(
        label=_("Earlier ticket number about the same issue"), max_length=20, required=False)
    attachments = MultipleFileField(label=_("Photos or files"))


class ProductForm(forms.Form):
    """The medicine of a product-quality complaint. Every field is optional here: the service
    (``services.products``) decides what a product complaint needs, so the form works the
    same with and without JavaScript and its errors land on these fields."""

    medicine_name = forms.CharField(label=_("Medicine name"), max_length=200, required=False)
    specification = forms.CharField(label=_("Specification"), max_length=200, required=False,
                                    help_text=_("Strength and pack, e.g. 0.25 g × 24 tablets"))
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=200, required=False)
    batch_no = forms.CharField(label=_("Batch / lot number"), max_length=64, required=False)
    supplier = forms.CharField(label=_("Supplier"), max_length=200, required=False)
    suspected_adr = forms.BooleanField(
        label=_("Suspected adverse drug reaction"), required=False,
        help_text=_("HQ is alerted at once, whatever the grade."))
    patient_age_band = forms.ChoiceField(label=_("Patient age"), required=False,
                                         choices=[("", "---------"), *AgeBand.choices])
    patient_sex = forms.ChoiceField(label=_("Patient sex"), required=False,
                                    choices=[("", "---------"), *Sex.choices])
    reaction_description = forms.CharField(
        label=_("Reaction"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What happened to the patient, after which dose."))
    reaction_started_on = forms.DateField(label=_("Reaction began on"), required=False,
                                          widget=forms.DateInput(attrs={"type": "date"}))
    reaction_outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                         choices=[("", "---------"), *ReactionOutcome.choices])

    def product_input(self) -> ProductInput:
        return ProductInput(**{name: self.cleaned_data[name] for name in PRODUCT_FIELDS})


class StaffComplaintForm(PublicComplaintForm, ProductForm):
    """Staff intake; the product fields (``ProductForm``) come last, in their own fieldset."""

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices,
                                initial=Channel.IN_STORE)
    received_at = forms.DateTimeField(label=_("Received at"), required=False,
                                      widget=DATETIME_INPUT,
                                      help_text=_("Leave empty for now."))
    employee = forms.ModelChoiceField(label=_("Employee involved"), required=False,
                                      queryset=Employee.objects.none())

    field_order = ["store", "channel", "customer_name", "customer_phone", "customer_email",
                   "category",
                   "description", "occurred_at", "received_at", "employee", "previous_ticket",
                   "attachments"]

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        stores = visible_stores(user).filter(is_active=True).order_by("code")
        self.fields["store"].queryset = stores
        self.fields["employee"].queryset = (Employee.objects.filter(
            store__in=stores.values("pk"), is_active=True).select_related("store")
            .order_by("store__code", "number"))
        self.fields["customer_name"].label = _("Customer name")
        self.fields["customer_phone"].label = _("Customer phone")
        self.fields["customer_phone"].required = False
        self.fields["customer_phone"].help_text = ""
        self.fields["customer_email"].label = _("Customer e-mail")
        self.fields["customer_email"].help_text = _(
            "The handling report is e-mailed here when the complaint is closed; without it, "
            "it is printed as a letter.")
        self.fields["category"].label = _("Category")
        self.fields["description"].label = _("Description")
        self.fields["occurred_at"].label = _("Happened at")
        if not rules.can_backdate(user):
            self.fields["received_at"].help_text = _(
                "Leave empty for now. At most %(days)s days back.") % {
                "days": ComplaintPolicy.current().backdate_days}
        if stores.count() == 1:
            self.fields["store"].initial = stores.first()

    def product(self) -> ProductInput | None:
        """The product for ``services.complaint_create``: always for a product-quality
        complaint (so a missing medicine name is an error), and for another category only if
        something was filled in (which the service refuses); else None."""
        product = self.product_input()
        if self.cleaned_data["category"] == Category.PRODUCT_QUALITY or not product.is_blank():
            return product
        return None

    def main_fields(self) -> list:
        return [field for field in self if field.name not in PRODUCT_FIELDS]

    def product_fields(self) -> list:
        return [self[name] for name in PRODUCT_FIELDS]


class ProductEditForm(ProductForm):
    """Complete or correct the product on the complaint's page."""

    version = forms.IntegerField(widget=forms.HiddenInput)


class AdrReportedForm(forms.Form):
    """HQ's "reported to the monitoring system" button (no fields to fill in)."""


class ProductPeriodForm(forms.Form):
    """The period of the product-complaint page and the adverse-reaction export."""

    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))


class AdrExportForm(ProductPeriodForm):
    format = forms.ChoiceField(label=_("File type"), required=False, initial="xlsx",
                               choices=[("xlsx", "Excel (XLSX)"), ("csv", "CSV")])


def grade_choices() -> list[tuple[str, str]]:
    """Each grade with HQ's definition of it and its examples, from the grade's current policy
    version (``GradePolicy.definition`` / ``examples``, in the page's language): a grading
    now is graded under that version."""
    policies = grade_policies()
    choices = []
    for value, label in Grade.choices:
        policy = policies[value]
        examples = policy.examples()
        choices.append((value, format_html(
            "<strong>{}</strong> <span class='hint'>{}</span>{}", label, policy.definition(),
            format_html(" <span class='hint' data-testid='examples-{}'>{} {}</span>", value,
                        _("Examples:"), examples) if examples else "")))
    return choices


class TriageForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    grade = forms.ChoiceField(label=_("Grade"), widget=forms.RadioSelect, choices=[])
    substantiated = forms.ChoiceField(label=_("Substantiated"), choices=YES_NO,
                                      help_text=_("Only substantiated complaints deduct points."))
    responsibility = forms.ChoiceField(label=_("Responsibility"),
                                       choices=[("", "---------"), *Responsibility.choices])
    owner = forms.ModelChoiceField(label=_("Handling owner"), queryset=User.objects.none(),
                                   required=False)

    def __init__(self, *args, store: Store, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grade"].choices = grade_choices()
        self.fields["owner"].queryset = User.objects.filter(is_active=True).filter(
            Q(role=Role.HQ_ADMIN)
            | Q(role=Role.REGIONAL_MANAGER, regions=store.region_id)
            | Q(role__in=(Role.STORE_MANAGER, Role.CLERK), stores=store)
            | Q(role__in=(Role.STORE_MANAGER, Role.CLERK), employee__store=store),
        ).distinct().order_by("role", "username")


class ActionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(ActionForm):
    remedy = forms.CharField(label=_("Remedy"), widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=4000)
    customer_satisfied = forms.ChoiceField(label=_("Is the customer satisfied with it?"),
                                           choices=YES_NO)


class EightDForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = EightDReport
        fields = [*EightDReport.SECTIONS, "customer_summary"]
        widgets = {name: forms.Textarea(attrs={"rows": 3})
                   for name in [*EightDReport.SECTIONS, "customer_summary"]}


class AppealForm(forms.Form):
    kind = forms.ChoiceField(label=_("Appeal against"), choices=AppealKind.choices)
    requested_grade = forms.ChoiceField(label=_("Requested grade"), required=False,
                                        choices=[("", "---------"), *Grade.choices])
    requested_substantiated = forms.ChoiceField(label=_("Requested substantiation"),
                                                required=False, choices=YES_NO)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=4000)


class AppealDecisionForm(forms.Form):
    appeal = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(label=_("Decision"), choices=[
        ("accept", _("Accept the appeal")), ("reject", _("Reject the appeal"))])
    decision_reason = forms.CharField(label=_("Reason"), max_length=4000,
                                      widget=forms.Textarea(attrs={"rows": 2}))


class RecurrenceForm(forms.Form):
    # The check the page showed (its days after closing): a check answered meanwhile by
    # someone else is then an error, not an answer to the next one.
    interval_days = forms.IntegerField(required=False, min_value=1, max_value=32767,
                                       widget=forms.HiddenInput)
    recurred = forms.ChoiceField(label=_("Has the problem recurred?"), choices=YES_NO)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class TicketLookupForm(forms.Form):
    ticket_no = forms.CharField(label=_("Ticket number"), max_length=20)
    phone_last4 = forms.RegexField(label=_("Last four digits of your phone"),
                                   regex=r"^\d{4}$", max_length=4,
                                   widget=forms.TextInput(attrs={"inputmode": "numeric"}))


#: Quarters the figures page offers: this one and the seven before it (two years).
FIGURE_QUARTERS_BACK = 7


class FigureFilterForm(forms.Form):
    quarter = QuarterChoiceField(label=_("Quarter"), required=False)
    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    level = forms.ChoiceField(label=_("Per"), required=False, choices=[
        ("store", _("Store")), ("region", _("Region")), ("chain", pgettext_lazy("scope", "Chain"))])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quarter"].quarters = quarter_choices_around(before=FIGURE_QUARTERS_BACK,
                                                                 after=0)


# --- The complaint list's filters (the list page and its export) -----------------------------

class ComplaintFilterForm(forms.Form):
    """The complaint list's filters, read from the query string. The page and its export both
    read them here and hand them to ``selectors.complaint_list``: one set of filters."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    grade = forms.ChoiceField(label=_("Grade"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    store = forms.CharField(label=_("Store code"), required=False, max_length=32)
    q = forms.CharField(label=_("Ticket or text"), required=False, max_length=200)
    overdue = forms.BooleanField(label=_("Overdue"), required=False)
    mine = forms.BooleanField(label=_("Mine"), required=False)
    batch = forms.CharField(label=_("Batch / lot number"), required=False, max_length=64)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All statuses")),
                                         ("open", pgettext_lazy("complaint status", "Open")),
                                         *Status.choices]
        self.fields["grade"].choices = [("", _("All grades")), ("-", _("Not graded")),
                                        *Grade.choices]
        self.fields["category"].choices = [("", _("All categories")), *Category.choices]

    def filters(self) -> dict:
        """The ``selectors.complaint_list`` arguments of the valid fields (an invalid one, e.g.
        a status that does not exist, filters nothing; ``errors`` names it)."""
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in self.fields}
        return {"status": data["status"] or "", "grade": data["grade"] or "",
                "category": data["category"] or "", "store_code": (data["store"] or "").strip(),
                "query": (data["q"] or "").strip(), "overdue": bool(data["overdue"]),
                "mine": bool(data["mine"]), "batch": (data["batch"] or "").strip()}


class ComplaintExportForm(ComplaintFilterForm):
    format = forms.ChoiceField(label=_("File type"), choices=[("xlsx", "Excel (XLSX)"),
                                                               ("csv", "CSV")])


# --- HQ setup --------------------------------------------------------------------------------
# The fields take the model's labels; the services check the ranges (one owner of each rule)
# and their messages land on these fields.

def _model_fields(model, names: list[str], **widgets) -> dict[str, forms.Field]:
    return forms.fields_for_model(model, fields=names, widgets=widgets)


class ComplaintPolicyForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_model_fields(
            ComplaintPolicy, ["warn_fraction", "ungraded_resolution_hours",
                              "internal_resolution_hours", "backdate_days",
                              "pause_while_waiting", "business_hours_clock"],
            warn_fraction=forms.NumberInput(attrs={"step": "0.05"})))
        # Empty: kept (``services.complaint_policy_update``).
        self.fields["internal_resolution_hours"].required = False
        self.fields["warn_fraction"].help_text = _(
            "A share of the resolution time, greater than 0 and less than 1: 0.75 warns when "
            "three quarters of the time have run.")


class RecurrenceDaysField(forms.CharField):
    """Days after closing as HQ types them ("30, 60, 90") -> a list of whole numbers; which
    lists are allowed is the service's rule (``services.setup.recurrence_days_errors``)."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(day) for day in value)
        return value

    def to_python(self, value) -> list[int]:
        text = super().to_python(value)
        parts = text.replace("，", ",").replace("、", ",").replace(" ", ",").split(",")
        try:
            return [int(part) for part in parts if part.strip()]
        except ValueError as error:
            raise forms.ValidationError(
                _("Enter whole days separated by commas, e.g. 30, 60, 90."),
                code="invalid") from error


class GradePolicyForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        textarea = forms.Textarea(attrs={"rows": 3})
        self.fields.update(_model_fields(
            GradePolicy, ["definition_zh", "definition_en", "examples_zh", "examples_en",
                          "resolution_hours", "first_response_hours",
                          "escalation_interval_hours", "requires_8d"],
            definition_zh=textarea, definition_en=textarea, examples_zh=textarea,
            examples_en=textarea))
        for name in ("examples_zh", "examples_en"):
            self.fields[name].help_text = _("Optional: typical complaints of this grade, shown "
                                            "to HQ when grading.")
        self.fields["first_response_hours"].help_text = _("Leave empty for no first-response "
                                                          "deadline.")
        self.fields["recurrence_days"] = RecurrenceDaysField(
            label=_("Recurrence checks (days after closing)"), max_length=100,
            help_text=_("1 to 5 days after closing, ascending, separated by commas, e.g. "
                        "30, 60, 90. The owner confirms at each that the problem has not "
                        "recurred."))


class StoreHoursSearchForm(forms.Form):
    q = forms.CharField(label=_("Store code or name"), required=False, max_length=100)
    region = forms.ModelChoiceField(label=_("Region"), required=False,
                                    queryset=Region.objects.order_by("code"))


TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class StoreHoursForm(forms.Form):
    """Set opening hours for one store, a list of stores, or every store of a region."""

    stores = forms.CharField(label=_("Store codes"), required=False, max_length=20000,
                             help_text=_("One or more codes, separated by spaces or commas."))
    region = forms.ModelChoiceField(label=_("or every store of the region"), required=False,
                                    queryset=Region.objects.order_by("code"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_model_fields(StoreHours, ["opens_at", "closes_at", "open_24h"],
                                         opens_at=TIME_INPUT, closes_at=TIME_INPUT))
        for name in ("opens_at", "closes_at"):
            # Not needed for a 24-hour store: the service says which is missing.
            self.fields[name].required = False

    def store_codes(self) -> list[str]:
        return self.cleaned_data["stores"].replace(",", " ").replace("，", " ").split()


# --- Internal complaints (a store's complaint to an HQ department) ------------------------------

class InternalComplaintForm(forms.Form):
    """A store manager or staff member files a complaint to an HQ department."""

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    department = forms.ModelChoiceField(label=_("HQ department"),
                                        queryset=Department.objects.none(),
                                        empty_label=None)
    description = forms.CharField(
        label=_("What went wrong?"), widget=forms.Textarea(attrs={"rows": 5}), max_length=4000,
        help_text=_("What happened, when, and what the store needs: e.g. the order, the "
                    "delivery date, the item or the system concerned."))
    attachments = MultipleFileField(label=_("Photos or documents"))

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        stores = visible_stores(user).filter(is_active=True).order_by("code")
        self.fields["store"].queryset = stores
        self.fields["department"].queryset = Department.objects.filter(is_active=True)
        if stores.count() == 1:
            self.fields["store"].initial = stores.first()
            self.fields["store"].widget = forms.HiddenInput()


class InternalFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[
        ("", _("All")), ("open", pgettext_lazy("complaint status", "Open")), *Status.choices])
    department = forms.CharField(required=False, max_length=32)
    overdue = forms.BooleanField(required=False)
    mine = forms.BooleanField(required=False)


class InternalResolveForm(ActionForm):
    remedy = forms.CharField(label=_("What the department did"),
                             widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


class InternalConfirmForm(ActionForm):
    satisfied = forms.ChoiceField(label=_("Is the store satisfied with the resolution?"),
                                  choices=YES_NO)
