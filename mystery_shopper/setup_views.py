"""HQ's mystery-shopper setup (``/setup/``): scorecards item by item, and scenario scripts.

Thin: the forms read the input; ``services.scorecard_template_create_version`` holds every rule
of a scorecard and always saves a NEW version (visits keep the version they were scored on),
``services.scenarios_save`` those of the scenarios; their errors are shown on the section, item
or scenario they name. The versions, which quarter used which, and the change history come from
``selectors``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from mystery_shopper import rules, selectors, services
from mystery_shopper.forms import (
    ItemFormSet,
    ScenarioFormSet,
    ScorecardForm,
    SectionFormSet,
)
from mystery_shopper.models import Scenario, ScorecardTemplate
from satisfaction import history
from satisfaction.errors import ApplicationError
from satisfaction.permissions import role_required

setup_required = role_required(rules.can_plan_visits)

_SECTION_KEY = re.compile(r"^sections\[(\d+)\](?:\.items\[(\d+)\])?$")


@setup_required
def scorecards(request: HttpRequest) -> HttpResponse:
    """Every scorecard (its current version), and the scenario scripts."""
    return render(request, "mystery_shopper/setup/scorecards.html", {
        "scorecards": selectors.scorecard_list(),
        "scenarios": Scenario.objects.order_by("-is_active", "code")})


@setup_required
def scorecard(request: HttpRequest, code: str) -> HttpResponse:
    """One scorecard: its current items, its versions (who, when, why, visits), which version
    each quarter used, and what each version changed."""
    template = selectors.scorecard_current_get(code=code)
    return render(request, "mystery_shopper/setup/scorecard.html", {
        "template": template, "versions": selectors.scorecard_versions(code=code),
        "quarters": selectors.scorecard_quarter_versions(code=code),
        "changes": selectors.scorecard_changes(code=code)})


# --- The editor ---------------------------------------------------------------------------------


@dataclass
class SectionBlock:
    """A section form with the formset of its items (the items' prefix is the section's)."""

    form: forms.Form
    items: forms.BaseFormSet
    errors: list[str] = field(default_factory=list)


def _items_prefix(section_prefix: str) -> str:
    return f"{section_prefix}-items"


def _editor(template: ScorecardTemplate, data=None) -> tuple[ScorecardForm, forms.BaseFormSet,
                                                             list[SectionBlock]]:
    """The editor's forms, filled from ``template`` (GET) or bound to ``data`` (POST)."""
    initial = services.template_as_data(template)
    head = ScorecardForm(data, initial={
        "base_version": template.version, "name_zh": initial["name_zh"],
        "name_en": initial["name_en"], "red_line_score": template.red_line_score})
    sections = SectionFormSet(data, prefix="sections", initial=[
        {"title_zh": s["title_zh"], "title_en": s["title_en"], "ORDER": n}
        for n, s in enumerate(initial["sections"], start=1)])
    blocks = []
    for index, form in enumerate(sections.forms):
        items = initial["sections"][index]["items"] if index < len(initial["sections"]) else []
        blocks.append(SectionBlock(form, ItemFormSet(
            data, prefix=_items_prefix(form.prefix),
            initial=[item | {"ORDER": n} for n, item in enumerate(items, start=1)])))
    return head, sections, blocks


def _kept(formset: forms.BaseFormSet) -> list[forms.Form]:
    """The formset's rows in their chosen order, less the deleted and the untouched new ones."""
    return [form for form in formset.ordered_forms
            if not (form.empty_permitted and not form.has_changed())]


def _submitted(head: ScorecardForm, sections: forms.BaseFormSet, blocks: list[SectionBlock]
               ) -> tuple[dict, list[tuple[SectionBlock, list[forms.Form]]]]:
    """The scorecard as the service takes it, and which block and item form each of its
    sections and items came from (to put the service's errors back where they belong)."""
    by_form = {id(block.form): block for block in blocks}
    order: list[tuple[SectionBlock, list[forms.Form]]] = []
    for form in _kept(sections):
        block = by_form[id(form)]
        order.append((block, _kept(block.items)))
    data = {
        "name_zh": head.cleaned_data["name_zh"], "name_en": head.cleaned_data["name_en"],
        "red_line_score": float(head.cleaned_data["red_line_score"]),
        "sections": [{
            "title_zh": block.form.cleaned_data["title_zh"],
            "title_en": block.form.cleaned_data["title_en"],
            "items": [{
                "code": item.cleaned_data["code"], "text_zh": item.cleaned_data["text_zh"],
                "text_en": item.cleaned_data["text_en"], "kind": item.cleaned_data["kind"],
                "max_points": float(item.cleaned_data["max_points"]),
                "part": item.cleaned_data["part"], "evidence": item.cleaned_data["evidence"],
                "is_red_line": item.cleaned_data["is_red_line"],
                "allows_na": item.cleaned_data["allows_na"]} for item in items]}
            for block, items in order],
    }
    return data, order


def _place_errors(error: ApplicationError, head: ScorecardForm,
                  order: list[tuple[SectionBlock, list[forms.Form]]]) -> None:
    """Each of the service's messages at the section or item it names, the rest on top."""
    for key, found in error.fields.items():
        match = _SECTION_KEY.match(key)
        target: forms.Form | SectionBlock | None = None
        if match:
            s_index, i_index = int(match.group(1)), match.group(2)
            if s_index < len(order):
                block, items = order[s_index]
                if i_index is None:
                    target = block
                elif int(i_index) < len(items):
                    target = items[int(i_index)]
        for message in found:
            if isinstance(target, SectionBlock):
                target.errors.append(message)
            elif target is not None:
                target.add_error(None, message)
            else:
                head.add_error(key if key in head.fields else None, message)
    if not error.fields:
        head.add_error(None, error.message)


def _valid(head: ScorecardForm, sections: forms.BaseFormSet, blocks: list[SectionBlock]) -> bool:
    """Every form checked (so every error shows at once); a deleted section's items are not:
    they go with it."""
    valid = head.is_valid()
    valid = sections.is_valid() and valid
    for block in blocks:
        if not getattr(block.form, "cleaned_data", {}).get("DELETE"):
            valid = block.items.is_valid() and valid
    return valid


@setup_required
def scorecard_edit(request: HttpRequest, code: str) -> HttpResponse:
    """Edit the current version's sections and items; saving makes a new version."""
    template = selectors.scorecard_current_get(code=code)
    if request.method != "POST":
        head, sections, blocks = _editor(template)
        return _render_editor(request, template, head, sections, blocks)
    head, sections, blocks = _editor(template, request.POST)
    if _valid(head, sections, blocks):
        data, order = _submitted(head, sections, blocks)
        current = services.template_as_data(template)
        if {**data, "code": template.code} == current:
            messages.info(request, _("Nothing was changed, so no new version was saved."))
            return redirect("mystery_shopper_setup:scorecard", code=template.code)
        try:
            created = services.scorecard_template_create_version(
                code=template.code, user=request.user, note=head.cleaned_data["note"],
                base_version=head.cleaned_data["base_version"], **data)
        except ApplicationError as exc:
            _place_errors(exc, head, order)
        else:
            messages.success(request, _("Scorecard version %(v)s saved; visits keep the "
                                        "version they were scored on.") % {"v": created.version})
            return redirect("mystery_shopper_setup:scorecard", code=template.code)
    return _render_editor(request, template, head, sections, blocks, status=400)


def _render_editor(request: HttpRequest, template: ScorecardTemplate, head: ScorecardForm,
                   sections: forms.BaseFormSet, blocks: list[SectionBlock], *,
                   status: int = 200) -> HttpResponse:
    # A new section's template: its own placeholder, so that the page's script can number the
    # section and, later, the items in it (their placeholder stays ``__prefix__``).
    empty_section = sections.form(auto_id=sections.auto_id, prefix="sections-__section__",
                                  empty_permitted=True, use_required_attribute=False)
    sections.add_fields(empty_section, None)
    empty_items = ItemFormSet(prefix=_items_prefix(empty_section.prefix))
    return render(request, "mystery_shopper/setup/scorecard_edit.html", {
        "template": template, "head": head, "sections": sections, "blocks": blocks,
        "empty_section": SectionBlock(empty_section, empty_items),
        "has_errors": status != 200}, status=status)


@setup_required
def scorecard_json(request: HttpRequest, code: str) -> HttpResponse:
    """Advanced: the current version as JSON, to copy or to save edited as a new version."""
    template = selectors.scorecard_current_get(code=code)
    text = json.dumps(services.template_as_data(template), ensure_ascii=False, indent=2)
    errors: list[str] = []
    if request.method == "POST":
        text = request.POST.get("definition", "")
        try:
            created = services.scorecard_template_from_json(
                base=template, text=text, user=request.user,
                note=request.POST.get("note", "")[:200])
        except ApplicationError as exc:
            errors = [exc.message] + [f"{key}: {' '.join(map(str, found))}"
                                      for key, found in exc.fields.items()]
        else:
            messages.success(request, _("Scorecard version %(v)s saved; visits keep the "
                                        "version they were scored on.") % {"v": created.version})
            return redirect("mystery_shopper_setup:scorecard", code=template.code)
    return render(request, "mystery_shopper/setup/scorecard_json.html", {
        "template": template, "text": text, "errors": errors}, status=400 if errors else 200)


# --- Scenarios -----------------------------------------------------------------------------------


@setup_required
def scenarios(request: HttpRequest) -> HttpResponse:
    """Edit the scenario scripts and add new ones (a scenario is made inactive, never
    deleted: visits name it)."""
    queryset = Scenario.objects.order_by("code")
    formset = ScenarioFormSet(request.POST or None, queryset=queryset, prefix="scenarios")
    status = 200
    if request.method == "POST":
        if formset.is_valid():
            rows = [form for form in formset.forms
                    if form.instance.pk or form.has_changed()]
            data = [{"pk": form.instance.pk, **form.cleaned_data} for form in rows]
            for row in data:
                row.pop("id", None)
            try:
                changed = services.scenarios_save(scenarios=data, user=request.user)
            except ApplicationError as exc:
                for key, found in exc.fields.items():
                    match = re.match(r"^scenarios\[(\d+)\]$", key)
                    for message in found:
                        if match and int(match.group(1)) < len(rows):
                            rows[int(match.group(1))].add_error(None, message)
                        else:
                            messages.error(request, message)
                if not exc.fields:
                    messages.error(request, exc.message)
            else:
                messages.success(request, _("%(n)s scenarios saved.") % {"n": changed})
                return redirect("mystery_shopper_setup:scenarios")
        status = 400
    return render(request, "mystery_shopper/setup/scenarios.html", {
        "formset": formset,
        "changes": history.changes(Scenario.history.all(),
                                   describe=lambda record: record.code)}, status=status)
