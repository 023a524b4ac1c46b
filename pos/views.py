"""HQ's setup pages for POS API keys: list, create (the secret shown once), change, revoke.

A new key's secret exists in clear only in the create request: it is handed to the next page
through the session (never the URL), which takes it out as it shows it, so a reload or the
back button shows it no more. Every page here is ``Cache-Control: no-store`` (``never_cache``):
no browser or proxy keeps a copy of it.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from pos import rules, selectors
from pos.forms import PosKeyForm
from pos.models import PosApiKey
from pos.services import pos_api_key_create, pos_api_key_revoke, pos_api_key_update
from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.permissions import role_required

# The session entry that carries a new key's secret from the create request to the one page
# that shows it.
SHOWN_ONCE = "pos_setup_new_key"


def _service_fields(form: PosKeyForm) -> dict:
    data = form.cleaned_data
    return {"name": data["name"], "stores": data["stores"], "all_stores": data["all_stores"],
            "throttle_rate": data["throttle_rate"], "expiry_date": data["expiry_date"]}


@never_cache
@role_required(rules.can_manage_pos_keys)
def key_list(request: HttpRequest) -> HttpResponse:
    """Every key with its stores, rate, expiry, last use and state; right after a create, the
    new key's secret, once."""
    new_key = request.session.pop(SHOWN_ONCE, None)
    return render(request, "pos/setup_keys.html", {
        "keys": selectors.pos_api_key_list(), "new_key": new_key,
        "changes": selectors.pos_api_key_changes()})


@never_cache
@role_required(rules.can_manage_pos_keys)
def key_create(request: HttpRequest) -> HttpResponse:
    form = PosKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            api_key, secret = pos_api_key_create(user=request.user, **_service_fields(form))
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            request.session[SHOWN_ONCE] = {"name": api_key.name, "prefix": api_key.prefix,
                                            "secret": secret}
            return redirect("pos_setup:keys")
    return render(request, "pos/setup_key_form.html", {"form": form, "api_key": None},
                  status=400 if form.errors else 200)


@never_cache
@role_required(rules.can_manage_pos_keys)
def key_edit(request: HttpRequest, prefix: str) -> HttpResponse:
    api_key = get_object_or_404(PosApiKey, prefix=prefix)
    form = PosKeyForm(request.POST or None, initial=PosKeyForm.initial_for(api_key))
    if request.method == "POST" and form.is_valid():
        try:
            pos_api_key_update(api_key=api_key, user=request.user, **_service_fields(form))
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("The key %(name)s is saved.") % {"name": api_key.name})
            return redirect("pos_setup:keys")
    return render(request, "pos/setup_key_form.html", {"form": form, "api_key": api_key},
                  status=400 if form.errors else 200)


@never_cache
@role_required(rules.can_manage_pos_keys)
def key_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    """GET: what revoking does, and the button; POST: revoke (for good)."""
    api_key = get_object_or_404(PosApiKey, prefix=prefix)
    if request.method == "POST":
        pos_api_key_revoke(api_key=api_key, user=request.user)
        messages.success(request, _("The key %(name)s (%(prefix)s) is revoked: the API refuses "
                                    "it from now on.") % {"name": api_key.name,
                                                          "prefix": api_key.prefix})
        return redirect("pos_setup:keys")
    return render(request, "pos/setup_key_revoke.html", {"api_key": api_key})
