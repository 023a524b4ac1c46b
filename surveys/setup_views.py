"""HQ's setup pages for surveys (``/setup/``): campaigns and indicators, with their history.

Thin: forms read the input, the services (``campaign_create`` / ``campaign_update``,
``indicator_create`` / ``indicator_update``) hold every rule and their errors go back on the
form; the history comes from ``surveys.selectors``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.permissions import role_required
from surveys import rules
from surveys.forms import CampaignForm, IndicatorCreateForm, IndicatorForm
from surveys.models import Campaign, Indicator
from surveys.selectors import (
    campaign_changes,
    campaign_setup_list,
    campaign_state,
    indicator_changes,
    response_count,
)
from surveys.services import (
    campaign_create,
    campaign_update,
    indicator_create,
    indicator_update,
)


def _state_labels() -> dict[str, str]:
    return {"running": _("running"), "upcoming": _("upcoming"), "closed": _("closed")}


@role_required(rules.can_set_up_surveys)
def campaigns_view(request: HttpRequest) -> HttpResponse:
    """Every campaign with its state and answers, the newest first; the recent changes."""
    page = Paginator(campaign_setup_list(), 50).get_page(request.GET.get("page"))
    labels = _state_labels()
    rows = [(c, campaign_state(c), labels[campaign_state(c)]) for c in page]
    return render(request, "surveys/setup/campaigns.html", {
        "page": page, "rows": rows, "changes": campaign_changes(limit=10)})


@role_required(rules.can_set_up_surveys)
def campaign_create_view(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaign_create(user=request.user, **form.values())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Campaign “%(name)s” created for %(stores)s.") % {
                "name": campaign.name, "stores": _store_summary(campaign)})
            return redirect("surveys_setup:campaign_edit", pk=campaign.pk)
    return render(request, "surveys/setup/campaign_form.html", {"form": form, "campaign": None},
                  status=400 if form.errors else 200)


@role_required(rules.can_set_up_surveys)
def campaign_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = CampaignForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaign_update(campaign=campaign, user=request.user, **form.values())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Campaign “%(name)s” saved.") % {"name": campaign.name})
            return redirect("surveys_setup:campaign_edit", pk=campaign.pk)
    state = campaign_state(campaign)
    return render(request, "surveys/setup/campaign_form.html", {
        "form": form, "campaign": campaign, "answers": response_count(campaign=campaign),
        "state": state, "state_label": _state_labels()[state],
        "store_summary": _store_summary(campaign),
        "changes": campaign_changes(campaign=campaign)},
        status=400 if form.errors else 200)


def _store_summary(campaign: Campaign) -> str:
    if campaign.all_stores:
        return _("all stores")
    return _("%(n)s stores") % {"n": campaign.stores.count()}


@role_required(rules.can_set_up_surveys)
def indicators_view(request: HttpRequest) -> HttpResponse:
    """The indicators in questionnaire order, a form for a new one, the recent changes."""
    form = IndicatorCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            indicator = indicator_create(user=request.user, **form.values())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Indicator “%(name)s” added. It counts in the score "
                                        "once the scoring scheme gives it a weight.")
                             % {"name": indicator.name})
            return redirect("surveys_setup:indicators")
    return render(request, "surveys/setup/indicators.html", {
        "indicators": Indicator.objects.order_by("order", "code"), "form": form,
        "changes": indicator_changes(limit=10)}, status=400 if form.errors else 200)


@role_required(rules.can_set_up_surveys)
def indicator_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    indicator = get_object_or_404(Indicator, pk=pk)
    form = IndicatorForm(request.POST or None, indicator=indicator)
    if request.method == "POST" and form.is_valid():
        try:
            indicator_update(indicator=indicator, user=request.user, **form.values())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Indicator “%(name)s” saved.") % {"name": indicator.name})
            return redirect("surveys_setup:indicator_edit", pk=indicator.pk)
    return render(request, "surveys/setup/indicator_form.html", {
        "form": form, "indicator": indicator, "changes": indicator_changes(indicator=indicator)},
        status=400 if form.errors else 200)
