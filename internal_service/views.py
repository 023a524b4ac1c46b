"""Pages of the internal satisfaction ratings: the stores rate the HQ departments."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.models import Department
from satisfaction.permissions import role_required
from satisfaction.quarters import Quarter

from . import rules, selectors, services
from .forms import RatingForm
from .models import ITEM_FIELDS


@role_required(rules.can_rate)
def rate(request: HttpRequest) -> HttpResponse:
    """The quarter's departments, each rated or still to rate, with a link to its form."""
    quarter = Quarter.current()
    rows = selectors.my_ratings(user=request.user, quarter=quarter)
    return render(request, "internal_service/rate.html", {
        "quarter": quarter, "rows": rows, "rated": sum(1 for r in rows if r.rating),
        "store": selectors.rating_store(user=request.user)})


@role_required(rules.can_rate)
@require_http_methods(["GET", "POST"])
def rate_department(request: HttpRequest, code: str) -> HttpResponse:
    department = get_object_or_404(Department, code=code, is_active=True)
    quarter = Quarter.current()
    rating = selectors.my_rating(user=request.user, quarter=quarter, department=department)
    initial = ({name: getattr(rating, name) for name in (*ITEM_FIELDS, "comment")}
               if rating else None)
    form = RatingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.rating_save(user=request.user, department=department,
                                 answers=form.answers(), comment=form.cleaned_data["comment"])
        except ApplicationError as error:
            if error.status == 403:
                raise PermissionDenied from error
            add_application_error(form, error)
        else:
            messages.success(request, _("Thank you: your rating of %(department)s is saved.")
                             % {"department": department.name})
            return redirect("internal_service:rate")
    return render(request, "internal_service/rate_department.html", {
        "quarter": quarter, "department": department, "form": form, "rating": rating},
        status=400 if form.errors else 200)
