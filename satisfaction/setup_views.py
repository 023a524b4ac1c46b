"""HQ's setup area (``/setup/``): the index of every setting HQ runs the chain with, and the
core's own settings (the appeal windows). Each app owns the pages of its own settings
(``<app>/setup_urls.py``); the index only links them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from satisfaction import history, rules
from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.models import AppealWindow, AppealWindowKind
from satisfaction.permissions import role_required
from satisfaction.selectors import appeal_window_days
from satisfaction.services import MAX_APPEAL_DAYS, appeal_windows_set


@role_required(rules.can_set_up)
def setup_index(request: HttpRequest) -> HttpResponse:
    return render(request, "satisfaction/setup.html")


class AppealWindowsForm(forms.Form):
    """One number of days per kind of appeal."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in AppealWindowKind.choices:
            self.fields[kind] = forms.IntegerField(
                label=label, min_value=1, max_value=MAX_APPEAL_DAYS,
                initial=appeal_window_days(kind=kind),
                help_text=gettext_lazy("Days a store may appeal, from the decision."))


@role_required(rules.can_set_up)
@require_http_methods(["GET", "POST"])
def appeal_windows(request: HttpRequest) -> HttpResponse:
    """How long a store may appeal a complaint's grading or a mystery-shopper report."""
    form = AppealWindowsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appeal_windows_set(days={kind: form.cleaned_data[kind]
                                     for kind in AppealWindowKind.values}, user=request.user)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("The appeal windows are saved."))
            return redirect("setup_appeal_windows")
    return render(request, "satisfaction/setup_appeal_windows.html", {
        "form": form, "changes": history.changes(AppealWindow.history.all())},
        status=400 if form.errors else 200)
