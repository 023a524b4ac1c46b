"""The only functions that write mystery-shopper data."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mystery_shopper import calc
from mystery_shopper.evidence import sniff
from mystery_shopper.models import (
    SHOPPER_EDITABLE,
    Appeal,
    AppealStatus,
    Evidence,
    EvidenceKind,
    ItemKind,
    RedLineAlert,
    ReminderStage,
    Scenario,
    ScorecardItem,
    ScorecardPart,
    ScorecardSection,
    ScorecardTemplate,
    ShopperCity,
    StoreVisitFrequency,
    Visit,
    VisitAnswer,
    VisitEvent,
    VisitReminder,
    VisitStatus,
)
from satisfaction import history
from satisfaction.errors import ApplicationError
from satisfaction.models import AppealWindowKind, Employee, Role, Store, User
from satisfaction.notifications import Message, notification_send, notifications_send
from satisfaction.quarters import Quarter, chain_zone
from satisfaction.selectors import appeal_window_days


def _event(*, visit: Visit, action: str, actor: User | None, from_status: str = "",
           comment: str = "") -> None:
    VisitEvent.objects.create(visit=visit, action=action, from_status=from_status,
                              to_status=visit.status, actor=actor, comment=comment)


# --- Scorecards -------------------------------------------------------------------------------


def current_template(code: str = "default") -> ScorecardTemplate:
    template = ScorecardTemplate.objects.filter(code=code, is_current=True).first()
    if template is None:
        raise ApplicationError(_("There is no current scorecard."), code="no_scorecard")
    return template


#: Field lengths of a scorecard (the models'), checked here so that bad input is a field
#: error, never a database error.
_CODE = re.compile(r"^[-a-zA-Z0-9_]+$")
_MAX_POINTS = Decimal("9999.99")


def _item_errors(item: dict, codes: set[str], part_totals: dict[str, Decimal]) -> list[str]:
    """What is wrong with one item of a scorecard definition; adds its code to ``codes`` and
    its points to its part's total."""
    found = []
    try:
        maximum = Decimal(str(item.get("max_points", 1)))
    except InvalidOperation:
        maximum = Decimal(-1)
    if not maximum.is_finite() or not 0 <= maximum <= _MAX_POINTS:
        found.append(_("Maximum points must be a number from 0 to 9999.99."))
    elif item.get("part") in part_totals:
        part_totals[item["part"]] += maximum
    if item.get("part") not in ScorecardPart.values \
            or item.get("kind", ItemKind.YES_NO) not in ItemKind.values \
            or item.get("evidence", "") not in EvidenceKind.values \
            or not item.get("code") or not item.get("text_zh"):
        found.append(_("Each item needs a code, a Chinese text, a part (image, purchase, "
                       "process), a kind (yes_no, points) and an evidence of none, photo or "
                       "audio."))
    code = str(item.get("code") or "")
    if code and (len(code) > 50 or not _CODE.match(code)):
        found.append(_("An item code is 1 to 50 letters, digits, - and _."))
    if code and code in codes:
        found.append(_("Item codes must be unique in a scorecard: %(code)s is used twice.")
                     % {"code": code})
    codes.add(code)
    return found


def _scorecard_errors(*, name_zh: str, red_line_score, sections: list[dict]
                      ) -> dict[str, list[str]]:
    """Everything wrong with a scorecard definition, keyed ``sections[i]``,
    ``sections[i].items[j]`` or the scorecard's own field, every message of every item."""
    errors: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if not str(name_zh or "").strip():
        add("name_zh", _("Give the scorecard a Chinese name."))
    try:
        red_line = Decimal(str(red_line_score))
    except InvalidOperation:
        red_line = Decimal(-1)
    if not red_line.is_finite() or not 0 <= red_line <= 100:
        add("red_line_score", _("The score of a red-line failure is a percentage from 0 to "
                                "100."))
    if not sections:
        add("sections", _("A scorecard needs at least one section."))
    codes: set[str] = set()
    part_totals = dict.fromkeys(ScorecardPart.values, Decimal(0))
    for s_index, section in enumerate(sections):
        if not str(section.get("title_zh") or "").strip():
            add(f"sections[{s_index}]", _("Each section needs a Chinese title."))
        if not section.get("items"):
            add(f"sections[{s_index}]", _("A section needs at least one item."))
        for i_index, item in enumerate(section.get("items", [])):
            where = f"sections[{s_index}].items[{i_index}]"
            for message in _item_errors(item, codes, part_totals):
                add(where, message)
    if sections and not errors and \
            part_totals[ScorecardPart.PURCHASE] + part_totals[ScorecardPart.PROCESS] <= 0:
        # The mystery-shopper score is purchase + process as a % of their maximum
        # (calc.scenario_pct): with no points there it would be undefined.
        add("points", _("The purchase evaluation and the process together must be worth more "
                        "than 0 points."))
    return errors


@transaction.atomic
def scorecard_template_create_version(*, code: str, name_zh: str, name_en: str = "",
                                      red_line_score: Decimal | float = 0,
                                      sections: list[dict], user: User | None,
                                      note: str = "", base_version: int | None = None
                                      ) -> ScorecardTemplate:
    """A new version of scorecard ``code`` (version 1 if new); visits keep their old version,
    and no version is ever edited. ``note`` says why (the change history shows it).

    ``sections``: ``[{"title_zh", "title_en", "items": [{"code", "text_zh", "text_en", "kind",
    "max_points", "part", "evidence", "is_red_line", "allows_na"}]}]``, in their order. Item
    codes are unique in the scorecard, points from 0 to 9999.99, and the purchase evaluation
    and the process together are worth more than 0 points; every bad field is reported.
    ``base_version``: the version the editor started from; if another one was saved since,
    nothing is saved (the editor would silently undo it).
    """
    errors = _scorecard_errors(name_zh=name_zh, red_line_score=red_line_score,
                               sections=sections)
    if errors:
        raise ApplicationError(_("The scorecard is not valid."), fields=errors)
    latest = (ScorecardTemplate.objects.select_for_update().filter(code=code)
              .order_by("-version").first())
    if base_version is not None and (latest.version if latest else 0) != base_version:
        raise ApplicationError(
            _("Version %(v)s of this scorecard was saved while you were editing. Open the "
              "editor again to start from it.") % {"v": latest.version if latest else 0},
            code="stale_version", status=409)
    ScorecardTemplate.objects.filter(code=code, is_current=True).update(is_current=False)
    template = ScorecardTemplate.objects.create(
        code=code, version=(latest.version + 1) if latest else 1, name_zh=name_zh[:200],
        name_en=(name_en or "")[:200], red_line_score=Decimal(str(red_line_score)),
        created_by=user, note=(note or "").strip()[:200])
    items = []
    for s_index, data in enumerate(sections):
        section = ScorecardSection.objects.create(
            template=template, position=s_index, title_zh=data["title_zh"][:200],
            title_en=(data.get("title_en") or "")[:200])
        items += [ScorecardItem(
            section=section, position=i_index, code=item["code"], text_zh=item["text_zh"][:300],
            text_en=(item.get("text_en") or "")[:300], kind=item.get("kind", ItemKind.YES_NO),
            max_points=Decimal(str(item.get("max_points", 1))), part=item["part"],
            evidence=item.get("evidence", ""), is_red_line=bool(item.get("is_red_line")),
            allows_na=bool(item.get("allows_na", not item.get("is_red_line"))))
            for i_index, item in enumerate(data["items"])]
    ScorecardItem.objects.bulk_create(items)
    return template


def scorecard_template_from_json(*, base: ScorecardTemplate, text: str,
                                 user: User | None, note: str = "") -> ScorecardTemplate:
    """A new version of ``base``'s scorecard from its edited JSON definition."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApplicationError(_("Not valid JSON: %(error)s") % {"error": exc},
                               fields={"definition": [str(exc)]}) from None
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        raise ApplicationError(_("The definition must be an object with a list of sections."),
                               fields={"definition": [_("Invalid structure.")]})
    try:
        return scorecard_template_create_version(
            code=base.code, name_zh=str(data.get("name_zh") or base.name_zh),
            name_en=str(data.get("name_en") or ""), red_line_score=data.get("red_line_score", 0),
            sections=data["sections"], user=user, note=note)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ApplicationError(_("Missing or invalid field: %(field)s") % {"field": exc},
                               fields={"definition": [str(exc)]}) from None


def template_as_data(template: ScorecardTemplate) -> dict:
    """A template in the shape ``scorecard_template_create_version`` takes (for editing)."""
    return {
        "code": template.code, "name_zh": template.name_zh, "name_en": template.name_en,
        "red_line_score": float(template.red_line_score),
        "sections": [{
            "title_zh": s.title_zh, "title_en": s.title_en,
            "items": [{"code": i.code, "text_zh": i.text_zh, "text_en": i.text_en,
                       "kind": i.kind, "max_points": float(i.max_points), "part": i.part,
                       "evidence": i.evidence, "is_red_line": i.is_red_line,
                       "allows_na": i.allows_na} for i in s.items.all()]}
            for s in template.sections.prefetch_related("items")],
    }


@transaction.atomic
def scenarios_save(*, scenarios: list[dict], user: User | None, reason: str = "") -> int:
    """Update the given scenarios (``{"pk", "code", "title_zh", "title_en", "script_zh",
    "script_en", "is_active"}``) and create those without ``pk``; returns how many rows changed.

    A scenario is never deleted (visits name it): HQ makes it inactive, and new plans stop
    using it. Codes are unique; each change is in the scenario's history with ``user``.
    """
    errors: dict[str, list[str]] = {}
    existing = {s.pk: s for s in Scenario.objects.select_for_update()}
    codes: dict[str, int | None] = {s.code: s.pk for s in existing.values()}
    for index, data in enumerate(scenarios):
        code = str(data.get("code") or "").strip()
        pk = data.get("pk")
        if pk is not None and pk not in existing:
            errors[f"scenarios[{index}]"] = [_("Unknown scenario.")]
            continue
        if not code or len(code) > 50 or not _CODE.match(code):
            errors.setdefault(f"scenarios[{index}]", []).append(
                _("A scenario code is 1 to 50 letters, digits, - and _."))
        elif codes.get(code, pk) != pk:
            errors.setdefault(f"scenarios[{index}]", []).append(
                _("Scenario codes must be unique: %(code)s is used twice.") % {"code": code})
        codes[code] = pk
        if not str(data.get("title_zh") or "").strip():
            errors.setdefault(f"scenarios[{index}]", []).append(
                _("Each scenario needs a Chinese title."))
    if errors:
        raise ApplicationError(_("The scenarios are not valid."), fields=errors)
    changed = 0
    fields = ("code", "title_zh", "title_en", "script_zh", "script_en", "is_active")
    for data in scenarios:
        scenario = existing.get(data.get("pk")) or Scenario()
        values = {"code": str(data["code"]).strip(),
                  "title_zh": str(data["title_zh"]).strip()[:200],
                  "title_en": str(data.get("title_en") or "").strip()[:200],
                  "script_zh": str(data.get("script_zh") or ""),
                  "script_en": str(data.get("script_en") or ""),
                  "is_active": bool(data.get("is_active", True))}
        if scenario.pk and all(getattr(scenario, f) == values[f] for f in fields):
            continue
        for name, value in values.items():
            setattr(scenario, name, value)
        history.attribute(scenario, user=user, reason=reason)
        scenario.save()
        changed += 1
    return changed


# --- Shoppers and planning --------------------------------------------------------------------


def visit_frequency_set(*, store: Store, quarter: Quarter, visits: int) -> None:
    if not 0 <= visits <= 31:
        raise ApplicationError(_("Visits per quarter must be between 0 and 31."),
                               fields={"visits": [_("Between 0 and 31.")]})
    StoreVisitFrequency.objects.update_or_create(store=store, quarter=quarter,
                                                 defaults={"visits": visits})


@transaction.atomic
def visit_frequency_set_many(*, store_codes: Iterable[str], quarter: Quarter,
                             visits: int) -> int:
    codes = {c.strip() for c in store_codes if c.strip()}
    stores = list(Store.objects.filter(code__in=codes))
    missing = codes - {s.code for s in stores}
    if missing:
        raise ApplicationError(_("Unknown stores: %(codes)s")
                               % {"codes": ", ".join(sorted(missing))},
                               fields={"stores": sorted(missing)})
    for store in stores:
        visit_frequency_set(store=store, quarter=quarter, visits=visits)
    return len(stores)


@dataclass
class PlanResult:
    created: int
    unassigned: int


@transaction.atomic
def visit_plan_generate(*, quarter: Quarter, user: User | None,
                        template: ScorecardTemplate | None = None) -> PlanResult:
    """Create the quarter's missing visits for every active store; running it twice adds none."""
    template = template or current_template()
    default = settings.MYSTERY_SHOPPER_DEFAULT_VISITS
    frequency = dict(StoreVisitFrequency.objects.filter(quarter=quarter)
                     .values_list("store_id", "visits"))
    live = ~Q(status=VisitStatus.CANCELLED)
    existing = dict(Visit.objects.filter(live, quarter=quarter).values("store_id")
                    .annotate(n=Count("pk")).values_list("store_id", "n"))
    # The latest shopper of each store before (or already in) this plan.
    # (ordered by date, so the dict keeps each store's latest)
    last_shopper: dict[int, int] = dict(
        Visit.objects.filter(live, shopper__isnull=False, due_on__lt=quarter.end().date())
        .order_by("store_id", "due_on", "pk").values_list("store_id", "shopper_id"))
    stores = [calc.PlanStore(store_id=pk, city=city,
                             visits_needed=max(0, frequency.get(pk, default) - existing.get(pk, 0)),
                             last_shopper_id=last_shopper.get(pk))
              for pk, city in Store.objects.filter(is_active=True).order_by("code")
              .values_list("pk", "city")]
    stores = [s for s in stores if s.visits_needed]
    cities: dict[int, set[str]] = {}
    for shopper_id, city in ShopperCity.objects.filter(
            shopper__is_active=True, shopper__role=Role.MYSTERY_SHOPPER).values_list(
            "shopper_id", "city"):
        cities.setdefault(shopper_id, set()).add(city)
    load = dict(Visit.objects.filter(live, quarter=quarter, shopper__isnull=False)
                .values("shopper_id").annotate(n=Count("pk")).values_list("shopper_id", "n"))
    plan = calc.plan_visits(stores=stores, shopper_cities=cities, first_day=quarter.first_day,
                            last_day=quarter.last_day, existing_load=load)
    visits = Visit.objects.bulk_create([
        Visit(store_id=v.store_id, quarter=quarter, template=template, shopper_id=v.shopper_id,
              due_on=v.due_on,
              status=VisitStatus.ASSIGNED if v.shopper_id else VisitStatus.UNASSIGNED)
        for v in plan.visits])
    if visits and visits[0].pk:
        VisitEvent.objects.bulk_create([
            VisitEvent(visit=v, action="planned", to_status=v.status, actor=user)
            for v in visits])
    return PlanResult(created=len(plan.visits), unassigned=len(plan.unassigned))


def _check_shopper_for(visit: Visit, shopper: User) -> None:
    if shopper.role != Role.MYSTERY_SHOPPER or not shopper.is_active:
        raise ApplicationError(_("Choose an active mystery shopper."),
                               fields={"shopper": [_("Not an active mystery shopper.")]})
    if not ShopperCity.objects.filter(shopper=shopper, city=visit.store.city).exists():
        raise ApplicationError(_("This shopper does not work in %(city)s.")
                               % {"city": visit.store.city},
                               fields={"shopper": [_("Not in the store's city.")]})
    neighbours = (Visit.objects.filter(store=visit.store, shopper__isnull=False)
                  .exclude(pk=visit.pk).exclude(status=VisitStatus.CANCELLED))
    before = neighbours.filter(Q(due_on__lt=visit.due_on)
                               | Q(due_on=visit.due_on, pk__lt=visit.pk)).order_by(
        "-due_on", "-pk").first()
    after = neighbours.filter(Q(due_on__gt=visit.due_on)
                              | Q(due_on=visit.due_on, pk__gt=visit.pk)).order_by(
        "due_on", "pk").first()
    if any(v is not None and v.shopper_id == shopper.pk for v in (before, after)):
        raise ApplicationError(
            _("This shopper would visit the store twice in a row."),
            fields={"shopper": [_("Same shopper as the store's neighbouring visit.")]})


@transaction.atomic
def visit_reassign(*, visit: Visit, shopper: User, user: User) -> Visit:
    visit = Visit.objects.select_for_update().select_related("store").get(pk=visit.pk)
    if visit.status not in (VisitStatus.UNASSIGNED, VisitStatus.ASSIGNED):
        raise ApplicationError(_("Only a visit that has not started can be reassigned."),
                               code="not_reassignable")
    _check_shopper_for(visit, shopper)
    previous = visit.status
    visit.shopper = shopper
    visit.status = VisitStatus.ASSIGNED
    visit.save(update_fields=["shopper", "status", "updated_at"])
    _event(visit=visit, action="reassigned", actor=user, from_status=previous)
    return visit


@transaction.atomic
def visit_cancel(*, visit: Visit, user: User, comment: str = "") -> Visit:
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.status in (VisitStatus.APPROVED, VisitStatus.CANCELLED):
        raise ApplicationError(_("An approved or cancelled visit cannot be cancelled."),
                               code="not_cancellable")
    previous = visit.status
    visit.status = VisitStatus.CANCELLED
    visit.save(update_fields=["status", "updated_at"])
    _event(visit=visit, action="cancelled", actor=user, from_status=previous, comment=comment)
    return visit


# --- Reminders -------------------------------------------------------------------------------

#: A visit is "due soon" from this many days before its due date.
REMINDER_DAYS_AHEAD = 3


@dataclass
class ReminderResult:
    due_soon: int
    overdue: int

    def as_dict(self) -> dict[str, int]:
        return {"due_soon": self.due_soon, "overdue": self.overdue}


@transaction.atomic
def visit_reminders_send(*, today: date | None = None) -> ReminderResult:
    """Remind each shopper of their open visits (assigned, in progress, sent back) due within
    ``REMINDER_DAYS_AHEAD`` days, and of the overdue ones: once per visit, shopper and stage.

    The reminder rows are written first, in one bulk INSERT that skips the rows already there
    (the unique key, ``VisitReminder``), marked with this run's ``sweep``; only the rows this
    run wrote are notified, one message per shopper and stage, through the outbox
    (``notifications_send``), in the same transaction. So a second run the same day sends
    nothing, and two runs at once cannot both send: the second run's INSERT waits for the
    first's rows and skips them. Submitted, approved and cancelled visits are never reminded.
    """
    today = today or timezone.localdate(timezone=chain_zone())
    stage = Case(When(due_on__lt=today, then=Value(ReminderStage.OVERDUE)),
                 default=Value(ReminderStage.DUE_SOON), output_field=CharField())
    sent = VisitReminder.objects.filter(visit=OuterRef("pk"), shopper=OuterRef("shopper_id"),
                                        stage=OuterRef("stage"))
    due = (Visit.objects.filter(status__in=SHOPPER_EDITABLE, shopper__isnull=False,
                                shopper__is_active=True,
                                due_on__lte=today + timedelta(days=REMINDER_DAYS_AHEAD))
           .annotate(stage=stage).filter(~Exists(sent))
           .values_list("pk", "shopper_id", "stage"))
    sweep = uuid.uuid4()
    VisitReminder.objects.bulk_create(
        [VisitReminder(visit_id=pk, shopper_id=shopper_id, stage=stage_, sweep=sweep)
         for pk, shopper_id, stage_ in due.iterator(chunk_size=2000)],
        batch_size=1000, ignore_conflicts=True)
    mine = (VisitReminder.objects.filter(sweep=sweep)
            .select_related("shopper", "visit__store").order_by("shopper_id", "stage",
                                                                 "visit__due_on", "visit_id"))
    grouped: dict[tuple[int, str], list[VisitReminder]] = {}
    for reminder in mine:
        grouped.setdefault((reminder.shopper_id, reminder.stage), []).append(reminder)
    url = reverse("mystery_shopper:my_visits")
    messages = []
    for (_shopper_id, stage_), reminders in grouped.items():
        count = len(reminders)
        if stage_ == ReminderStage.OVERDUE:
            title = ngettext("%(n)s mystery-shopper visit is overdue",
                             "%(n)s mystery-shopper visits are overdue", count) % {"n": count}
        else:
            title = ngettext("%(n)s mystery-shopper visit is due within %(days)s days",
                             "%(n)s mystery-shopper visits are due within %(days)s days",
                             count) % {"n": count, "days": REMINDER_DAYS_AHEAD}
        body = "\n".join(_("%(store)s, due on %(date)s") % {
            "store": r.visit.store, "date": r.visit.due_on.isoformat()} for r in reminders)
        messages.append(Message(users=[reminders[0].shopper], title=title, body=body, url=url,
                                kind=f"mystery_{stage_}"))
    notifications_send(messages=messages)
    return ReminderResult(
        due_soon=sum(len(r) for (_s, st), r in grouped.items() if st == ReminderStage.DUE_SOON),
        overdue=sum(len(r) for (_s, st), r in grouped.items() if st == ReminderStage.OVERDUE))


# --- The shopper's report ---------------------------------------------------------------------


def _lock_for_shopper(visit: Visit, shopper: User) -> Visit:
    visit = Visit.objects.select_for_update().select_related("store", "template").get(pk=visit.pk)
    if visit.shopper_id != shopper.pk:
        raise ApplicationError(_("This is not your visit."), code="not_found", status=404)
    if visit.status not in SHOPPER_EDITABLE:
        raise ApplicationError(_("This report is locked."), code="locked", status=409)
    return visit


def _parse_value(item: ScorecardItem, raw) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ApplicationError(_("Not a number."), fields={
            f"item_{item.pk}": [_("Not a number.")]}) from None
    top = Decimal(1) if item.kind == ItemKind.YES_NO else item.max_points
    if value < 0 or value > top or (item.kind == ItemKind.YES_NO and value not in (0, 1)):
        raise ApplicationError(_("Answer out of range."), fields={
            f"item_{item.pk}": [_("Between 0 and %(max)s.") % {"max": top}]})
    return value


def _match_employee(store_id: int, badge: str) -> Employee | None:
    badge = badge.strip()
    if not badge:
        return None
    staff = Employee.objects.filter(store_id=store_id, is_active=True)
    match = staff.filter(number__iexact=badge).first()
    if match is None:
        names = list(staff.filter(name=badge)[:2])
        match = names[0] if len(names) == 1 else None
    return match


@transaction.atomic
def visit_draft_save(*, visit: Visit, shopper: User, answers: dict[int, dict] | None = None,
                     checked_in_at: datetime | None = None, latitude=None, longitude=None,
                     served_by_badge: str | None = None, notes: str | None = None) -> Visit:
    """Save what the shopper has so far (any subset); the report stays a draft.

    ``answers`` maps item id to ``{"value": 0/1/points or None, "not_applicable": bool,
    "comment": str}``.
    """
    visit = _lock_for_shopper(visit, shopper)
    previous = visit.status
    items = {i.pk: i for i in ScorecardItem.objects.filter(section__template=visit.template_id)}
    for item_id, data in (answers or {}).items():
        item = items.get(int(item_id))
        if item is None:
            raise ApplicationError(_("Unknown item."), fields={f"item_{item_id}": [
                _("Not an item of this scorecard.")]})
        not_applicable = bool(data.get("not_applicable")) and item.allows_na
        value = None if not_applicable else _parse_value(item, data.get("value"))
        VisitAnswer.objects.update_or_create(
            visit=visit, item=item, defaults={
                "value": value, "not_applicable": not_applicable,
                "comment": (data.get("comment") or "")[:500]})
    fields = ["status", "updated_at"]
    if checked_in_at is not None:
        visit.checked_in_at = checked_in_at
        visit.visited_on = timezone.localtime(checked_in_at, chain_zone()).date()
        fields += ["checked_in_at", "visited_on"]
    if latitude is not None and longitude is not None:
        try:
            visit.latitude = round(Decimal(str(latitude)), 6)
            visit.longitude = round(Decimal(str(longitude)), 6)
        except InvalidOperation:
            pass
        else:
            fields += ["latitude", "longitude"]
    if served_by_badge is not None:
        visit.served_by_badge = served_by_badge.strip()[:100]
        visit.employee = _match_employee(visit.store_id, visit.served_by_badge)
        fields += ["served_by_badge", "employee"]
    if notes is not None:
        visit.notes = notes
        fields.append("notes")
    if visit.status == VisitStatus.ASSIGNED:
        visit.status = VisitStatus.DRAFT
    visit.save(update_fields=fields)
    if previous != visit.status:
        _event(visit=visit, action="started", actor=shopper, from_status=previous)
    return visit


def evidence_add(*, visit: Visit, user: User, upload, item: ScorecardItem | None = None,
                 appeal: Appeal | None = None, client_id: uuid.UUID | None = None) -> Evidence:
    """Store an uploaded photo or audio file after checking its content and size."""
    limit = int(settings.UPLOAD_MAX_BYTES)
    field = f"evidence_{item.pk}" if item else "evidence"
    if upload.size > limit:
        raise ApplicationError(_("The file is larger than %(mb)s MB.")
                               % {"mb": round(limit / 1024 / 1024, 1)},
                               fields={field: [_("File too large.")]})
    head = upload.read(262)
    upload.seek(0)
    sniffed = sniff(head)
    if sniffed is None:
        raise ApplicationError(
            _("Only photos (JPEG, PNG, HEIC, GIF, WebP) and audio (MP3, M4A, AAC, AMR, WAV, OGG) "
              "are accepted."),
            fields={field: [_("Not an accepted photo or audio file.")]}, code="bad_file_type")
    evidence = Evidence(visit=visit, item=item, appeal=appeal, kind=sniffed.kind,
                        content_type=sniffed.content_type, extension=sniffed.extension,
                        size=upload.size, uploaded_by=user, client_id=client_id)
    evidence.file.save("upload", ContentFile(upload.read()), save=False)
    evidence.save()
    return evidence


@transaction.atomic
def visit_evidence_add(*, visit: Visit, shopper: User, upload,
                       item: ScorecardItem | None = None) -> Evidence:
    return visit_evidence_add_once(visit=visit, shopper=shopper, upload=upload, item=item)[0]


@transaction.atomic
def visit_evidence_add_once(*, visit: Visit, shopper: User, upload,
                            item: ScorecardItem | None = None,
                            client_id: uuid.UUID | None = None) -> tuple[Evidence, bool]:
    """Store the shopper's photo or recording; ``(evidence, created)``.

    ``client_id`` is the id the phone gave the file when it queued it: a file sent again with
    the same id (the answer to the first upload was lost, or two syncs raced) is the file
    already stored, returned as it is. Uploads to one visit are serialised by the visit's row
    lock, and the column is unique besides.
    """
    visit = _lock_for_shopper(visit, shopper)
    if client_id is not None:
        existing = Evidence.objects.filter(client_id=client_id).first()
        if existing is not None:
            if existing.visit_id != visit.pk or existing.appeal_id is not None:
                raise ApplicationError(_("This file id is already used."),
                                       fields={"client_id": [_("Already used.")]},
                                       code="conflict", status=409)
            return existing, False
    if item is not None and item.section.template_id != visit.template_id:
        raise ApplicationError(_("Unknown item."), fields={"item": [_("Not in this scorecard.")]})
    evidence = evidence_add(visit=visit, user=shopper, upload=upload, item=item,
                            client_id=client_id)
    if visit.status == VisitStatus.ASSIGNED:
        visit.status = VisitStatus.DRAFT
        visit.save(update_fields=["status", "updated_at"])
        _event(visit=visit, action="started", actor=shopper, from_status=VisitStatus.ASSIGNED)
    return evidence, True


@transaction.atomic
def visit_evidence_delete(*, evidence: Evidence, shopper: User) -> None:
    _lock_for_shopper(evidence.visit, shopper)
    evidence.file.delete(save=False)
    evidence.delete()


def report_errors(visit: Visit) -> dict[str, list[str]]:
    """What stops the report being submitted, keyed ``item_<id>`` or a visit field."""
    errors: dict[str, list[str]] = {}
    answers = {a.item_id: a for a in visit.answers.all()}
    with_evidence = {(e.item_id, e.kind) for e in visit.evidence.all() if e.appeal_id is None}
    for item in ScorecardItem.objects.filter(section__template=visit.template_id):
        answer = answers.get(item.pk)
        key = f"item_{item.pk}"
        if answer is None or not answer.is_answered:
            errors.setdefault(key, []).append(_("Answer this item."))
            continue
        if item.evidence and not answer.not_applicable \
                and (item.pk, item.evidence) not in with_evidence:
            errors.setdefault(key, []).append(
                _("A photo is required.") if item.evidence == EvidenceKind.PHOTO
                else _("An audio recording is required."))
    if visit.checked_in_at is None:
        errors["checked_in_at"] = [_("Check in at the store.")]
    if not visit.served_by_badge:
        errors["served_by_badge"] = [_("Who served you (badge name or number)?")]
    return errors


@transaction.atomic
def visit_submit(*, visit: Visit, shopper: User) -> Visit:
    visit = _lock_for_shopper(visit, shopper)
    errors = report_errors(visit)
    if errors:
        raise ApplicationError(_("The report is not complete."), fields=errors,
                               code="incomplete")
    previous = visit.status
    visit.status = VisitStatus.SUBMITTED
    visit.submitted_at = timezone.now()
    visit.save(update_fields=["status", "submitted_at", "updated_at"])
    _event(visit=visit, action="submitted", actor=shopper, from_status=previous)
    return visit


# --- Review, scores, store follow-up, appeals -------------------------------------------------


def visit_compute_score(visit: Visit) -> calc.VisitScore:
    answers = {a.item_id: a for a in visit.answers.all()}
    results = []
    for item in ScorecardItem.objects.filter(section__template=visit.template_id):
        answer = answers.get(item.pk)
        results.append(calc.ItemResult(
            part=item.part, max_points=float(item.max_points),
            value=None if answer is None or answer.value is None else float(answer.value),
            yes_no=item.kind == ItemKind.YES_NO,
            not_applicable=bool(answer and answer.not_applicable),
            is_red_line=item.is_red_line))
    return calc.visit_score(results, red_line_score=float(visit.template.red_line_score))


def _store_score(visit: Visit) -> None:
    score = visit_compute_score(visit)
    visit.points = Decimal(str(round(score.points, 2)))
    visit.points_possible = Decimal(str(round(score.possible, 2)))
    visit.score_pct = score.score_pct
    for part in calc.PARTS:
        setattr(visit, f"{part}_points", score.part_points[part])
        setattr(visit, f"{part}_max", score.part_max[part])
    visit.red_line = score.red_line


def _hq_users() -> list[User]:
    return list(User.objects.filter(Q(role=Role.HQ_ADMIN) | Q(is_superuser=True),
                                    is_active=True))


def _alert_red_line(visit: Visit) -> None:
    """Alert HQ once: the unique alert row is written first, a second call sends nothing."""
    try:
        with transaction.atomic():
            RedLineAlert.objects.create(visit=visit)
    except IntegrityError:
        return
    notification_send(
        users=_hq_users(), kind="mystery_red_line", webhook=True,
        title=_("Red line failed at %(store)s") % {"store": visit.store},
        body=_("An approved mystery-shopper visit on %(date)s failed a red-line item.")
        % {"date": visit.visited_on},
        url=reverse("mystery_shopper:review_detail", args=[visit.pk]))


@transaction.atomic
def visit_approve(*, visit: Visit, reviewer: User, comment: str = "") -> Visit:
    visit = Visit.objects.select_for_update().select_related("store", "template").get(pk=visit.pk)
    if visit.status != VisitStatus.SUBMITTED:
        raise ApplicationError(_("Only a submitted report can be approved."),
                               code="not_submitted", status=409)
    _store_score(visit)
    visit.status = VisitStatus.APPROVED
    visit.approved_at = timezone.now()
    visit.review_comment = comment
    visit.visited_on = visit.visited_on or visit.due_on
    visit.save()
    _event(visit=visit, action="approved", actor=reviewer, from_status=VisitStatus.SUBMITTED,
           comment=comment)
    if visit.red_line:
        _alert_red_line(visit)
    managers = User.objects.filter(stores=visit.store, role=Role.STORE_MANAGER, is_active=True)
    notification_send(users=managers, kind="mystery_report", email=False,
                      title=_("New mystery-shopper report for %(store)s") % {"store": visit.store},
                      url=reverse("mystery_shopper:store_visit", args=[visit.pk]))
    return visit


@transaction.atomic
def visit_return(*, visit: Visit, reviewer: User, comment: str) -> Visit:
    if not comment.strip():
        raise ApplicationError(_("Say what the shopper must fix."),
                               fields={"comment": [_("Required when sending back.")]})
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.status != VisitStatus.SUBMITTED:
        raise ApplicationError(_("Only a submitted report can be sent back."),
                               code="not_submitted", status=409)
    visit.status = VisitStatus.RETURNED
    visit.review_comment = comment
    visit.save(update_fields=["status", "review_comment", "updated_at"])
    _event(visit=visit, action="returned", actor=reviewer, from_status=VisitStatus.SUBMITTED,
           comment=comment)
    if visit.shopper_id:
        notification_send(users=[visit.shopper], kind="mystery_returned", email=False,
                          title=_("Your report was sent back"), body=comment,
                          url=reverse("mystery_shopper:report", args=[visit.pk]))
    return visit


def _approved_for_store(visit: Visit) -> Visit:
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.status != VisitStatus.APPROVED:
        raise ApplicationError(_("Only approved reports can be followed up."),
                               code="not_approved", status=409)
    return visit


@transaction.atomic
def visit_acknowledge(*, visit: Visit, user: User, coaching: str = "") -> Visit:
    visit = _approved_for_store(visit)
    now = timezone.now()
    if visit.acknowledged_at is None:
        visit.acknowledged_at = now
        visit.acknowledged_by = user
        _event(visit=visit, action="acknowledged", actor=user)
    if coaching.strip():
        visit.coaching = coaching.strip()
        visit.coached_at = now
        _event(visit=visit, action="coached", actor=user, comment=visit.coaching)
    visit.save(update_fields=["acknowledged_at", "acknowledged_by", "coaching", "coached_at",
                              "updated_at"])
    return visit


def appeal_deadline(visit: Visit) -> datetime | None:
    """An approved report may be appealed for HQ's window (``satisfaction.AppealWindow``, kind
    ``mystery_shopper``) from its approval."""
    if visit.approved_at is None:
        return None
    days = appeal_window_days(kind=AppealWindowKind.MYSTERY_SHOPPER)
    return visit.approved_at + timedelta(days=days)


@transaction.atomic
def appeal_raise(*, visit: Visit, user: User, reason: str, uploads: Iterable = ()) -> Appeal:
    visit = _approved_for_store(visit)
    if not reason.strip():
        raise ApplicationError(_("Give the reason for the appeal."),
                               fields={"reason": [_("Required.")]})
    deadline = appeal_deadline(visit)
    if deadline is None or timezone.now() > deadline:
        raise ApplicationError(_("The appeal window for this report has closed."),
                               code="appeal_window_closed")
    if visit.appeals.exists():
        raise ApplicationError(_("This report has already been appealed."),
                               code="already_appealed", status=409)
    appeal = Appeal.objects.create(visit=visit, raised_by=user, reason=reason.strip(),
                                   score_before=visit.score_pct)
    for upload in uploads:
        evidence_add(visit=visit, user=user, upload=upload, appeal=appeal)
    _event(visit=visit, action="appealed", actor=user, comment=reason.strip())
    notification_send(users=_hq_users(), kind="mystery_appeal", email=False,
                      title=_("Appeal on a mystery-shopper report of %(store)s")
                      % {"store": visit.store},
                      url=reverse("mystery_shopper:appeal_decide", args=[appeal.pk]))
    return appeal


@transaction.atomic
def appeal_decide(*, appeal: Appeal, user: User, note: str,
                  corrections: dict[int, dict] | None = None) -> Appeal:
    """Uphold the report (no corrections) or change its answers and recompute the score."""
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if appeal.status != AppealStatus.OPEN:
        raise ApplicationError(_("This appeal has already been decided."), code="decided",
                               status=409)
    if not note.strip():
        raise ApplicationError(_("Record the decision."), fields={"note": [_("Required.")]})
    visit = Visit.objects.select_for_update().select_related("template", "store").get(
        pk=appeal.visit_id)
    items = {i.pk: i for i in ScorecardItem.objects.filter(section__template=visit.template_id)}
    changed = False
    for item_id, data in (corrections or {}).items():
        item = items.get(int(item_id))
        if item is None:
            continue
        not_applicable = bool(data.get("not_applicable")) and item.allows_na
        value = None if not_applicable else _parse_value(item, data.get("value"))
        answer, _created = VisitAnswer.objects.get_or_create(visit=visit, item=item)
        if (answer.value, answer.not_applicable) != (value, not_applicable):
            answer.value, answer.not_applicable = value, not_applicable
            answer.save(update_fields=["value", "not_applicable"])
            changed = True
    if changed:
        _store_score(visit)
        visit.save()
    appeal.status = AppealStatus.CHANGED if changed else AppealStatus.UPHELD
    appeal.decided_by = user
    appeal.decided_at = timezone.now()
    appeal.decision_note = note.strip()
    appeal.score_after = visit.score_pct
    appeal.save()
    _event(visit=visit, action=f"appeal_{appeal.status}", actor=user, comment=appeal.decision_note)
    if appeal.raised_by_id:
        notification_send(users=[appeal.raised_by], kind="mystery_appeal_decided", email=False,
                          title=_("Your appeal was decided"), body=appeal.decision_note,
                          url=reverse("mystery_shopper:store_visit", args=[visit.pk]))
    return appeal
