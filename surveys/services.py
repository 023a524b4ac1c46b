"""The only functions that write survey data."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from satisfaction import ratelimit
from satisfaction.errors import ApplicationError
from satisfaction.history import attribute
from satisfaction.models import Employee, Region, Role, Store, User
from satisfaction.notifications import notification_send
from satisfaction.quarters import InvalidQuarterError, Quarter, chain_zone
from satisfaction.tabular import RowErrors, TemplateColumn, parse_date, read_tables
from surveys import rules, tallies
from surveys.models import (
    PUBLIC_CHANNELS,
    Answer,
    Campaign,
    Channel,
    FlagReason,
    Indicator,
    IndicatorGroup,
    Invitation,
    InvitationChannel,
    KanoClass,
    KanoTag,
    PaperBatch,
    Response,
    ResponseStatus,
    SelectionKind,
    StoreFlag,
    StoreFlagStatus,
    StoreSelection,
)
from surveys.results import (
    AbuseThresholds,
    StoreAbuseStats,
    manufactured_stores,
    max_in_window,
)
from surveys.selectors import open_campaign_for_store, weights_by_pk
from surveys.weights import indicator_weights

# --- Indicators and campaigns -------------------------------------------------------------


INDICATOR_FIELDS = ("name_zh", "name_en", "question_zh", "question_en", "kano",
                    "kano_class", "group", "order", "is_active")


def weight_not_here_error() -> ApplicationError:
    """Indicators carry no weight: the scoring scheme weighs each code (one owner)."""
    message = _("Indicator weights are set on the scoring scheme: save a new scheme version "
                "with this code's weight.")
    return ApplicationError(message, fields={"weight": [message]}, code="weight_on_scheme")


def _indicator_errors(values: dict) -> dict[str, list[str]]:
    """The rules of an indicator's editable fields, each bad field named."""
    errors: dict[str, list[str]] = {}
    for name in ("name_zh", "name_en", "question_zh", "question_en"):
        if name in values and not str(values[name] or "").strip():
            errors[name] = [_("This field is required.")]
    if "kano" in values and values["kano"] not in KanoTag.values:
        errors["kano"] = [_("Choose a Kano tag.")]
    if "kano_class" in values and values["kano_class"] not in ("", *KanoClass.values):
        errors["kano_class"] = [_("Choose a Kano class, or none to follow the tag.")]
    if "group" in values and values["group"] not in IndicatorGroup.values:
        errors["group"] = [_("Choose a screen group.")]
    if "order" in values and not (isinstance(values["order"], int)
                                  and 0 <= values["order"] <= 32767):
        errors["order"] = [_("A whole number from 0 to 32767.")]
    return errors


def _require_indicator_manager(user: User | None) -> None:
    if user is not None and not rules.can_manage_campaigns(user):
        raise ApplicationError(_("Only HQ customer relations set up survey indicators."),
                               code="forbidden", status=403)


def indicator_create(*, code: str, name_zh: str, name_en: str, question_zh: str,
                     question_en: str, kano: str, group: str = "service",
                     order: int = 100, is_active: bool = True, kano_class: str = "",
                     user: User | None = None) -> Indicator:
    """A new question. It counts (store value and results pages) once the scoring scheme
    gives its code a weight. ``user`` is who its history names (and, given, must be HQ)."""
    _require_indicator_manager(user)
    values = {"name_zh": name_zh, "name_en": name_en, "question_zh": question_zh,
              "question_en": question_en, "kano": kano, "kano_class": kano_class or "",
              "group": group, "order": order}
    errors = _indicator_errors(values)
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,40}", code or ""):
        errors["code"] = [_("Letters, digits, - and _ (at most 40).")]
    elif Indicator.objects.filter(code=code).exists():
        raise ApplicationError(_("An indicator with this code exists."),
                               fields={**errors, "code": [_("This code is taken.")]},
                               code="duplicate")
    if errors:
        raise ApplicationError(_("The indicator has invalid fields."), fields=errors)
    indicator = Indicator(code=code, is_active=bool(is_active),
                          **{k: v.strip() if isinstance(v, str) else v
                             for k, v in values.items()})
    attribute(indicator, user=user)
    indicator.save()
    return indicator


def indicator_update(*, indicator: Indicator, user: User | None = None, **changes) -> Indicator:
    """Rename, reorder, deactivate (the code stays: it is what results and the scheme's
    weights are keyed by). Reweighting is a new scheme version. ``user`` is who its history
    names (and, given, must be HQ). Saving without a change writes no history."""
    _require_indicator_manager(user)
    if "weight" in changes:
        raise weight_not_here_error()
    unknown = set(changes) - set(INDICATOR_FIELDS)
    if unknown:
        raise ApplicationError(_("These fields cannot be changed."),
                               fields={f: [_("Read-only.")] for f in sorted(unknown)})
    errors = _indicator_errors(changes)
    if errors:
        raise ApplicationError(_("The indicator has invalid fields."), fields=errors)
    changes = {k: v.strip() if isinstance(v, str) else v for k, v in changes.items()}
    # Compared with the stored row (the admin hands over an instance its form already set).
    stored = Indicator.objects.filter(pk=indicator.pk).values(*changes).first()
    if stored is not None and all(stored[name] == value for name, value in changes.items()):
        return indicator
    for name, value in changes.items():
        setattr(indicator, name, value)
    attribute(indicator, user=user)
    indicator.save()
    return indicator


def _require_campaign_manager(user: User | None) -> None:
    if user is not None and not rules.can_manage_campaigns(user):
        raise ApplicationError(_("Only HQ customer relations set up survey campaigns."),
                               code="forbidden", status=403)


@transaction.atomic
def campaign_create(*, name: str, quarter: Quarter | str, opens_on: date, closes_on: date,
                    scale_max: int = 5, ask_expectation: bool = False,
                    ask_overall: bool = False, ask_recommend: bool = False,
                    target_per_store: int = 30, stores: list[Store] | None = None,
                    store_selection: StoreSelection | None = None,
                    user: User | None = None) -> Campaign:
    """A new campaign. Its stores: ``store_selection`` (all, regions, cities or store codes;
    the setup page) or ``stores`` (a list; the API and the admin; none means all stores).
    ``user``, when given, must be HQ and is who the campaign's history names."""
    _require_campaign_manager(user)
    campaign = Campaign(name=name)
    return _campaign_save(campaign, quarter=quarter, opens_on=opens_on, closes_on=closes_on,
                          scale_max=scale_max, ask_expectation=ask_expectation,
                          ask_overall=ask_overall, ask_recommend=ask_recommend,
                          target_per_store=target_per_store, stores=stores,
                          store_selection=store_selection, user=user)


@transaction.atomic
def campaign_update(*, campaign: Campaign, user: User | None = None, **changes) -> Campaign:
    """Change a campaign. Once it has answers (``_answered_campaign_errors``) its quarter and
    scale are fixed, a store with answers cannot leave it, and its dates must still cover
    every answer: the answers were given to that campaign as it stood. The extra questions
    (overall satisfaction, would recommend) may be switched on or off at any time: answers
    already given keep theirs, and the driver analysis reads only the answers that have one."""
    _require_campaign_manager(user)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    fields = {"quarter": campaign.quarter, "opens_on": campaign.opens_on,
              "closes_on": campaign.closes_on, "scale_max": campaign.scale_max,
              "ask_expectation": campaign.ask_expectation,
              "ask_overall": campaign.ask_overall, "ask_recommend": campaign.ask_recommend,
              "target_per_store": campaign.target_per_store,
              "stores": None, "store_selection": None}
    if "name" in changes:
        campaign.name = changes.pop("name")
    unknown = set(changes) - set(fields)
    if unknown:
        raise ApplicationError(_("These fields cannot be changed."),
                               fields={f: [_("Read-only.")] for f in sorted(unknown)})
    keep_stores = "stores" not in changes and "store_selection" not in changes
    fields.update(changes)
    return _campaign_save(campaign, **fields, user=user, keep_stores=keep_stores)


def campaign_validate(*, quarter: Quarter | str, opens_on: date | None,
                      closes_on: date | None, scale_max: int, target_per_store: int
                      ) -> Quarter:
    """The rules a campaign must meet however it is saved (API, admin, setup pages); returns
    the parsed quarter or raises ``ApplicationError`` naming each bad field."""
    errors = _campaign_errors(quarter=quarter, opens_on=opens_on, closes_on=closes_on,
                              scale_max=scale_max, target_per_store=target_per_store)
    if errors:
        raise ApplicationError(_("The campaign has invalid fields."), fields=errors)
    return quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)


def _campaign_errors(*, quarter: Quarter | str, opens_on: date | None, closes_on: date | None,
                     scale_max: int, target_per_store: int) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(quarter, Quarter):
        try:
            Quarter.parse(quarter)
        except InvalidQuarterError:
            errors["quarter"] = [_("Enter a quarter like 2026Q4.")]
    if scale_max not in (5, 10):
        errors["scale_max"] = [_("The scale is 1–5 or 1–10.")]
    if opens_on and closes_on and closes_on < opens_on:
        errors["closes_on"] = [_("The campaign must close on or after its opening day.")]
    if int(target_per_store) < 1:
        errors["target_per_store"] = [_("The target must be at least 1.")]
    return errors


#: The setup form's field for each kind of store selection (where its errors are shown).
SELECTION_FIELDS = {SelectionKind.REGION: "regions", SelectionKind.CITY: "cities",
                    SelectionKind.STORE: "store_codes"}


def campaign_selection_stores(selection: StoreSelection) -> tuple[list[Store] | None,
                                                                   dict[str, list[str]]]:
    """The stores a selection means now (None: all stores) and the errors naming what does
    not exist. Regions and cities mean their active stores; store codes name stores, active
    or not (an old campaign keeps a store that has closed since)."""
    if selection.kind == SelectionKind.ALL:
        return None, {}
    field = SELECTION_FIELDS.get(selection.kind)
    if field is None:
        return None, {"store_choice": [_("Choose how to select the stores.")]}
    if not selection.values:
        return [], {field: [_("Name at least one.")]}
    if selection.kind == SelectionKind.STORE:
        found = _stores_by_code(selection.values)
        missing = [v for v in selection.values if v.upper() not in found]
        stores = list({s.pk: s for s in found.values()}.values())
    elif selection.kind == SelectionKind.REGION:
        regions = {r.code.upper(): r for r in Region.objects.filter(
            code__in=list(selection.values) + [v.upper() for v in selection.values])}
        missing = [v for v in selection.values if v.upper() not in regions]
        stores = list(Store.objects.filter(region__in=list(regions.values()),
                                           is_active=True).order_by("code"))
    else:
        present = set(Store.objects.filter(city__in=selection.values, is_active=True)
                      .values_list("city", flat=True).distinct())
        missing = [v for v in selection.values if v not in present]
        stores = list(Store.objects.filter(city__in=present, is_active=True).order_by("code"))
    errors: dict[str, list[str]] = {}
    if missing:
        errors[field] = [_("Not found: %(values)s") % {"values": ", ".join(missing[:20])}
                         + (" …" if len(missing) > 20 else "")]
    elif not stores:
        errors[field] = [_("No active store matches.")]
    return stores, errors


def _stores_by_code(codes: Iterable[str]) -> dict[str, Store]:
    """The stores of these codes, ignoring case (one query), keyed by the upper-case code."""
    wanted = {code.upper() for code in codes if code and len(code) <= 32}
    if not wanted:
        return {}
    return {store.code.upper(): store for store in Store.objects.annotate(
        code_upper=Upper("code")).filter(code_upper__in=wanted).order_by("code")}


def _answered_campaign_errors(campaign: Campaign, *, quarter: Quarter, scale_max: int,
                              opens_on: date, closes_on: date,
                              stores: list[Store] | None) -> dict[str, list[str]]:
    """What a campaign with answers may no longer change: its quarter (the answers count in
    it), its scale (they were given on it), a store that has answers (they would fall out of
    the campaign's results), dates that no longer cover an answer."""
    if campaign.pk is None:
        return {}
    answered = Response.objects.filter(campaign=campaign)
    if not answered.exists():
        return {}
    errors: dict[str, list[str]] = {}
    if quarter != campaign.quarter:
        errors["quarter"] = [_("Answers already count in %(quarter)s: the quarter cannot "
                               "change.") % {"quarter": campaign.quarter}]
    if scale_max != campaign.scale_max:
        errors["scale_max"] = [_("Answers already use this scale.")]
    if stores is not None:
        kept = {s.pk for s in stores}
        lost = list(Store.objects.filter(
            pk__in=answered.exclude(store_id__in=kept).values("store_id")).order_by("code")
            .values_list("code", flat=True)[:20])
        if lost:
            message = _("These stores already have answers and must stay in the campaign: "
                        "%(codes)s") % {"codes": ", ".join(lost)}
            errors["store_choice"] = [message]
    span = answered.aggregate(first=Min("submitted_at"), last=Max("submitted_at"))
    first = timezone.localdate(span["first"], chain_zone())
    last = timezone.localdate(span["last"], chain_zone())
    if opens_on > first:
        errors["opens_on"] = [_("The first answer came on %(day)s: open on or before it.")
                              % {"day": first}]
    if closes_on < last:
        errors["closes_on"] = [_("The last answer came on %(day)s: close on or after it.")
                               % {"day": last}]
    return errors


def _campaign_save(campaign: Campaign, *, quarter, opens_on: date, closes_on: date,
                   scale_max: int, ask_expectation: bool, target_per_store: int,
                   stores: list[Store] | None, store_selection: StoreSelection | None = None,
                   ask_overall: bool = False, ask_recommend: bool = False,
                   user: User | None = None, keep_stores: bool = False) -> Campaign:
    errors = _campaign_errors(quarter=quarter, opens_on=opens_on, closes_on=closes_on,
                              scale_max=scale_max, target_per_store=target_per_store)
    if not campaign.name.strip():
        errors["name"] = [_("Give the campaign a name.")]
    if keep_stores:
        store_selection = StoreSelection.parse(campaign.store_selection)
        chosen = None if campaign.all_stores else list(campaign.stores.all())
    elif store_selection is not None:
        chosen, selection_errors = campaign_selection_stores(store_selection)
        errors.update(selection_errors)
    else:  # a list of stores (API, admin): remembered as store codes
        chosen = list(stores) if stores else None
        store_selection = StoreSelection.of(
            SelectionKind.STORE if chosen else SelectionKind.ALL,
            [s.code for s in chosen or []])
    if not errors:
        errors.update(_answered_campaign_errors(
            campaign, quarter=quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter),
            scale_max=scale_max, opens_on=opens_on, closes_on=closes_on,
            stores=None if keep_stores else chosen))
    if errors:
        raise ApplicationError(_("The campaign has invalid fields."), fields=errors)
    campaign.quarter = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    campaign.opens_on, campaign.closes_on = opens_on, closes_on
    campaign.scale_max, campaign.ask_expectation = scale_max, bool(ask_expectation)
    campaign.ask_overall, campaign.ask_recommend = bool(ask_overall), bool(ask_recommend)
    campaign.target_per_store = int(target_per_store)
    campaign.all_stores = not chosen
    campaign.store_selection = str(store_selection)
    attribute(campaign, user=user)
    campaign.save()
    if not keep_stores:
        campaign.stores.set(chosen or [])
    return campaign


def campaign_covers(campaign: Campaign, store: Store) -> bool:
    return campaign.all_stores or campaign.stores.filter(pk=store.pk).exists()


# --- Invitations --------------------------------------------------------------------------


def invitation_create(*, store: Store, transaction_ref: str = "",
                      expires_in_days: int | None = None,
                      channel: str = InvitationChannel.RECEIPT,
                      created_by: User | None = None) -> Invitation:
    """A single-use survey link for one transaction. Idempotent per (store, receipt)."""
    transaction_ref = (transaction_ref or "").strip()
    days = expires_in_days if expires_in_days is not None else settings.SURVEY_INVITATION_DAYS
    errors = {}
    if not 1 <= int(days) <= 90:
        errors["expires_in_days"] = [_("Between 1 and 90 days.")]
    if len(transaction_ref) > 64:
        errors["transaction_ref"] = [_("At most 64 characters.")]
    if channel not in InvitationChannel.values:
        errors["channel"] = [_("Unknown channel.")]
    if not store.is_active:
        errors["store"] = [_("The store is closed.")]
    if errors:
        raise ApplicationError(_("The invitation has invalid fields."), fields=errors)
    if transaction_ref:
        existing = Invitation.objects.filter(store=store, transaction_ref=transaction_ref).first()
        if existing is not None:
            return existing
    now = timezone.now()
    invitation = Invitation(
        token=secrets.token_urlsafe(16), store=store, transaction_ref=transaction_ref,
        channel=channel, created_at=now, expires_at=now + timedelta(days=int(days)),
        campaign=open_campaign_for_store(store=store, day=timezone.localdate(now)),
        created_by=created_by)
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        # The same receipt was sent twice at once: both get the one invitation.
        existing = Invitation.objects.filter(store=store, transaction_ref=transaction_ref).first()
        if existing is None:
            raise
        return existing
    return invitation


def invitation_for_token(*, token: str) -> Invitation:
    """The invitation behind a link, or an ApplicationError saying why it cannot be used."""
    invitation = Invitation.objects.select_related("store", "campaign").filter(
        token=token).first()
    if invitation is None:
        raise ApplicationError(_("This survey link is not valid."), code="token_unknown",
                               status=404)
    if invitation.used_at is not None:
        raise ApplicationError(_("This survey has already been answered. Thank you!"),
                               code="token_used", status=410)
    if invitation.is_expired:
        raise ApplicationError(_("This survey link has expired."), code="token_expired",
                               status=410)
    return invitation


# --- Responses ----------------------------------------------------------------------------


@dataclass
class ResponseInput:
    ratings: dict[str, object]
    expectations: dict[str, object] | None = None
    employee_number: str = ""
    employee_id: int | None = None
    comment: str = ""
    # The campaign's extra questions, optional: overall satisfaction (1..scale_max) and
    # would-recommend (0–10); None or "" when not answered.
    overall: object = None
    recommend: object = None


def _rating(value: object, scale_max: int, *, bottom: int = 1) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    number = int(str(value).strip())
    if str(number) != str(value).strip() or not bottom <= number <= scale_max:
        raise ValueError(value)
    return number


RECOMMEND_MAX = 10


def _clean_extra(data: ResponseInput, campaign: Campaign
                 ) -> tuple[int | None, int | None, dict[str, list[str]]]:
    """The answers to the campaign's extra questions (overall satisfaction on its scale, would
    recommend 0–10): optional for the customer, refused when the campaign does not ask them."""
    errors: dict[str, list[str]] = {}
    values: dict[str, int | None] = {"overall": None, "recommend": None}
    questions = (("overall", campaign.ask_overall, 1, campaign.scale_max),
                 ("recommend", campaign.ask_recommend, 0, RECOMMEND_MAX))
    for name, asked, bottom, top in questions:
        raw = getattr(data, name)
        if raw in (None, ""):
            continue
        if not asked:
            errors[name] = [_("This campaign does not ask this question.")]
            continue
        try:
            values[name] = _rating(raw, top, bottom=bottom)
        except (TypeError, ValueError):
            errors[name] = [_("Choose a whole number from %(bottom)s to %(top)s.")
                            % {"bottom": bottom, "top": top}]
    return values["overall"], values["recommend"], errors


def _clean_answers(data: ResponseInput, campaign: Campaign, indicators: list[Indicator]
                   ) -> tuple[dict[int, tuple[int, int | None]], dict[str, list[str]]]:
    by_code = {i.code: i for i in indicators}
    errors: dict[str, list[str]] = {}
    out_of_range = _("Choose a rating from 1 to %(top)s.") % {"top": campaign.scale_max}
    answers: dict[int, tuple[int, int | None]] = {}
    ratings = data.ratings if isinstance(data.ratings, dict) else {}
    expectations = data.expectations if isinstance(data.expectations, dict) else {}
    for code in list(ratings) + list(expectations):
        if code not in by_code:
            errors.setdefault(f"ratings.{code}", [_("Unknown indicator.")])
    for indicator in indicators:
        raw = ratings.get(indicator.code)
        if raw in (None, ""):
            errors[f"ratings.{indicator.code}"] = [
                _("Rate “%(name)s”.") % {"name": indicator.name}]
            continue
        try:
            rating = _rating(raw, campaign.scale_max)
        except (TypeError, ValueError):
            errors[f"ratings.{indicator.code}"] = [out_of_range]
            continue
        expectation = None
        raw_expectation = expectations.get(indicator.code)
        if raw_expectation not in (None, ""):
            try:
                expectation = _rating(raw_expectation, campaign.scale_max)
            except (TypeError, ValueError):
                errors[f"expectations.{indicator.code}"] = [out_of_range]
        answers[indicator.pk] = (rating, expectation)
    return answers, errors


def _employee(data: ResponseInput, store: Store) -> tuple[Employee | None, dict]:
    number = (data.employee_number or "").strip()
    if not number and not data.employee_id:
        return None, {}
    staff = Employee.objects.filter(store=store, is_active=True)
    employee = (staff.filter(number__iexact=number) if number
                else staff.filter(pk=data.employee_id)).first()
    if employee is None:
        return None, {"employee": [_("No employee of this store has that number.")]}
    return employee, {}


def entry_flag_reasons(*, entered_by: User | None, store: Store,
                       employee: Employee | None) -> list[str]:
    """Why a keyed-in response waits for HQ (no one scores themselves, seed 002 商圈调查真实):

    - ``staff_entered``: keyed in by the store's own staff (``rules.entry_held_for_review``);
    - ``self_served``: it names the person who entered it as the one who served. Held whoever
      entered it; once cleared it counts for the store, never for that employee.
    """
    if entered_by is None:
        return []
    reasons = []
    if rules.entry_held_for_review(entered_by, store):
        reasons.append(FlagReason.STAFF_ENTERED.value)
    if employee is not None and entered_by.employee_id == employee.pk:
        reasons.append(FlagReason.SELF_SERVED.value)
    return reasons


def response_create(*, store: Store, campaign: Campaign, data: ResponseInput, channel: str,
                    invitation: Invitation | None = None, duration_seconds: int | None = None,
                    device_hash: str = "", language: str = "",
                    entered_by: User | None = None, paper_batch: PaperBatch | None = None,
                    flag_reasons: list[str] | None = None,
                    now: datetime | None = None, paper_key: str = "") -> Response:
    """Validate and save one response with its answers, all or nothing.

    A response keyed in by staff (``entered_by``) records who did; it is held for HQ when
    ``entry_flag_reasons`` says so (status flagged: it does not count until cleared)."""
    now = now or timezone.now()
    if channel not in Channel.values:
        raise ApplicationError(_("Unknown channel."), fields={"channel": [_("Unknown channel.")]})
    if not store.is_active:
        raise ApplicationError(_("This store is not taking surveys."),
                               fields={"store": [_("The store is closed.")]}, code="store_closed")
    if not campaign.is_open_on(timezone.localdate(now)):
        raise ApplicationError(_("This survey campaign is closed."),
                               fields={"campaign": [_("The campaign is not open today.")]},
                               code="campaign_closed")
    if not campaign_covers(campaign, store):
        raise ApplicationError(_("This store is not part of the campaign."),
                               fields={"store": [_("Not in this campaign.")]},
                               code="store_not_in_campaign")
    indicators = list(Indicator.objects.filter(is_active=True).order_by("order", "code"))
    answers, errors = _clean_answers(data, campaign, indicators)
    overall, recommend, extra_errors = _clean_extra(data, campaign)
    errors.update(extra_errors)
    employee, employee_errors = _employee(data, store)
    errors.update(employee_errors)
    comment = (data.comment or "").strip()
    if len(comment) > 2000:
        errors["comment"] = [_("At most 2000 characters.")]
    if errors:
        raise ApplicationError(_("Please correct the answers marked below."), fields=errors)
    reasons = list(flag_reasons or [])
    reasons += entry_flag_reasons(entered_by=entered_by, store=store, employee=employee)
    with transaction.atomic():
        if invitation is not None:
            claimed = Invitation.objects.filter(
                pk=invitation.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
            if not claimed:
                raise ApplicationError(_("This survey has already been answered. Thank you!"),
                                       code="token_used", status=409)
            if invitation.campaign_id is None:
                Invitation.objects.filter(pk=invitation.pk).update(campaign=campaign)
        response = Response(
            campaign=campaign, store=store, employee=employee, channel=channel,
            invitation=invitation, paper_batch=paper_batch, submitted_at=now,
            duration_seconds=duration_seconds, comment=comment, language=language[:10],
            overall=overall, recommend=recommend,
            device_hash=device_hash, entered_by=entered_by,
            self_served=FlagReason.SELF_SERVED.value in reasons, paper_key=paper_key[:80],
            status=ResponseStatus.FLAGGED if reasons else ResponseStatus.COUNTED,
            flag_reasons=",".join(reasons))
        try:
            with transaction.atomic():
                response.save()
        except IntegrityError:  # the unique invitation is the last guard
            raise ApplicationError(_("This survey has already been answered. Thank you!"),
                                   code="token_used", status=409) from None
        Answer.objects.bulk_create([
            Answer(response=response, indicator_id=indicator_id, rating=rating,
                   expectation=expectation)
            for indicator_id, (rating, expectation) in answers.items()])
        response_tallies_keep(response=response)
    return response


def response_tallies_keep(*, response: Response) -> None:
    """What is kept beside a response just saved with its answers: its weighted score under
    its campaign's weights, and its answers in the tallies when it counts (docs/architecture.md,
    "Survey tallies"). Called in the transaction that saved it."""
    tallies.score_responses([response.pk], score_weights(campaign=response.campaign))
    if response.is_counted:
        tallies.responses_counted([response.pk])


def score_weights(*, campaign: Campaign) -> dict[int, float]:
    """The weights (indicator pk → weight) a response of ``campaign`` is scored with: the
    scheme's for the campaign's quarter (``surveys.weights``)."""
    return weights_by_pk(indicator_weights(quarter=campaign.quarter).weights)


@transaction.atomic
def response_scores_refresh(*, quarter: Quarter, weights: Mapping[str, float]) -> int:
    """Score again, under ``weights`` (indicator code → weight), the quarter's responses kept
    under other weights (after HQ reweights the indicators, or ones never scored); returns how
    many. The rollup calls it first: what it then reads is scored under its own weights."""
    by_pk = weights_by_pk(weights)
    campaign_ids = list(Campaign.objects.filter(quarter=quarter).values_list("pk", flat=True))
    if not campaign_ids:
        return 0
    key = tallies.weights_key(by_pk)
    stale = (f"r.campaign_id IN ({', '.join(['%s'] * len(campaign_ids))}) "
             f"AND {tallies.STALE_SCORE_SQL}")
    if not Response.objects.filter(campaign_id__in=campaign_ids).exclude(
            score_key=key).exists():  # the usual case: one scan, no write
        return 0
    return tallies.score(stale, [*campaign_ids, key], by_pk, bulk=True)


@transaction.atomic
def survey_tallies_rebuild(*, campaigns: list[Campaign] | None = None) -> int:
    """Recompute the tallies and the response scores of ``campaigns`` (every campaign when
    None) from the answers; returns the number of campaigns. For data written around the
    services (a bulk load, a repair) and to check the kept tallies (they must be equal)."""
    campaigns = list(Campaign.objects.all() if campaigns is None else campaigns)
    for campaign in campaigns:
        tallies.rebuild([campaign.pk])
        tallies.score("r.campaign_id = %s", [campaign.pk], score_weights(campaign=campaign),
                      bulk=True)
    return len(campaigns)


def device_fingerprint(*, ip: str, user_agent: str) -> str:
    """A keyed hash of the client's address and browser: no personal data kept."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{ip}|{user_agent}".encode(), hashlib.sha256).hexdigest()[:32]


def public_flag_reasons(*, store: Store, device_hash: str, duration_seconds: int | None,
                        questions: int, now: datetime) -> list[str]:
    reasons = []
    minimum = settings.SURVEY_MIN_SECONDS_PER_QUESTION * max(questions, 1)
    if duration_seconds is None:
        reasons.append(FlagReason.UNTIMED.value)
    elif duration_seconds < minimum:
        reasons.append(FlagReason.SPEEDER.value)
    window = timedelta(minutes=settings.SURVEY_BURST_WINDOW_MINUTES)
    recent = Response.objects.filter(store=store, device_hash=device_hash,
                                     submitted_at__gte=now - window).count()
    if device_hash and recent >= settings.SURVEY_BURST_COUNT:
        reasons.append(FlagReason.BURST.value)
    return reasons


def public_response_submit(*, store: Store, campaign: Campaign, data: ResponseInput,
                           invitation: Invitation | None, duration_seconds: int | None,
                           ip: str, user_agent: str, language: str) -> Response:
    """A customer's answer from the store QR link or a receipt invitation (no login).

    Accepted answers are counted per store and client (``ratelimit.SURVEY_SUBMISSIONS``): over
    the limit the answer is refused before it is saved; one refused for a mistake costs nothing.
    """
    now = timezone.now()
    device_hash = device_fingerprint(ip=ip, user_agent=user_agent)
    questions = Indicator.objects.filter(is_active=True).count()
    reasons = public_flag_reasons(store=store, device_hash=device_hash,
                                  duration_seconds=duration_seconds, questions=questions, now=now)
    try:
        with ratelimit.counted_if_accepted(ratelimit.SURVEY_SUBMISSIONS, store.pk, ip):
            return response_create(
                store=store, campaign=campaign, data=data,
                channel=Channel.RECEIPT if invitation else Channel.QR, invitation=invitation,
                duration_seconds=duration_seconds, device_hash=device_hash, language=language,
                flag_reasons=reasons, now=now)
    except ratelimit.RateLimitedError:
        raise ApplicationError(_("Too many answers from this device. Please try again later."),
                               code="throttled", status=429) from None


@transaction.atomic
def paper_batch_create(*, store: Store, campaign: Campaign, rows: list[ResponseInput],
                       entered_by: User, note: str = "") -> PaperBatch:
    """Trade-area paper questionnaires keyed in together: every row or none."""
    if not rows:
        raise ApplicationError(_("Key in at least one questionnaire."),
                               fields={"rows": [_("No questionnaire entered.")]})
    batch = PaperBatch.objects.create(campaign=campaign, store=store, entered_by=entered_by,
                                      note=note[:200])
    errors: list[str] = []
    for number, row in enumerate(rows, start=1):
        try:
            with transaction.atomic():
                response_create(store=store, campaign=campaign, data=row,
                                channel=Channel.PAPER, entered_by=entered_by,
                                paper_batch=batch)
        except ApplicationError as exc:
            if exc.code in ("campaign_closed", "store_not_in_campaign", "store_closed"):
                raise
            details = "; ".join(f"{'; '.join(m)}" for m in exc.fields.values()) or exc.message
            errors.append(_("Questionnaire %(n)s: %(errors)s") % {"n": number,
                                                                   "errors": details})
    if errors:
        raise ApplicationError(_("Nothing was saved: correct the questionnaires below."),
                               fields={"rows": errors}, code="invalid_rows")
    return batch


# --- Review of flagged answers ------------------------------------------------------------


def _require_hq(user: User) -> None:
    if not rules.can_review_flags(user):
        raise ApplicationError(_("Only HQ customer relations can review flagged answers."),
                               code="forbidden", status=403)


@transaction.atomic
def response_review(*, user: User, response_ids: list[int], clear: bool) -> int:
    """HQ clears flagged responses (they count) or rejects them (they never count). This is
    also the review of questionnaires keyed in by the store's own staff; a cleared
    self-served one counts for the store only (``surveys.selectors``)."""
    _require_hq(user)
    status = ResponseStatus.CLEARED if clear else ResponseStatus.REJECTED
    # Locked, so that two reviewers clearing the same response count it once.
    ids = list(Response.objects.select_for_update().filter(
        pk__in=response_ids, status=ResponseStatus.FLAGGED).values_list("pk", flat=True))
    updated = Response.objects.filter(pk__in=ids).update(
        status=status, reviewed_by=user, reviewed_at=timezone.now())
    if clear:
        tallies.responses_counted(ids)
    return updated


@transaction.atomic
def store_flag_review(*, user: User, flag: StoreFlag, clear: bool) -> StoreFlag:
    _require_hq(user)
    flag = StoreFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.status != StoreFlagStatus.OPEN:
        raise ApplicationError(_("This store has already been reviewed."), code="reviewed")
    now = timezone.now()
    flag.status = StoreFlagStatus.CLEARED if clear else StoreFlagStatus.CONFIRMED
    flag.reviewed_by, flag.reviewed_at = user, now
    flag.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    held = list(Response.objects.select_for_update().filter(
        campaign=flag.campaign, store=flag.store, status=ResponseStatus.FLAGGED,
        flag_reasons__contains=FlagReason.STORE.value).values_list("pk", flat=True))
    Response.objects.filter(pk__in=held).update(
        status=ResponseStatus.CLEARED if clear else ResponseStatus.REJECTED,
        reviewed_by=user, reviewed_at=now)
    if clear:
        tallies.responses_counted(held)
    return flag


def _abuse_stats(campaign: Campaign) -> list[StoreAbuseStats]:
    responses = Response.objects.filter(campaign=campaign).exclude(
        status=ResponseStatus.REJECTED)
    counts = {r["store_id"]: r for r in responses.values("store_id", "store__region_id").annotate(
        n=Count("pk"), public=Count("pk", filter=Q(channel__in=PUBLIC_CHANNELS)))}
    ratings = {r["response__store_id"]: r for r in Answer.objects.filter(
        response__in=responses).values("response__store_id").annotate(
        n=Count("pk"), top=Count("pk", filter=Q(rating=campaign.scale_max)))}
    devices: dict[int, int] = {}
    for row in responses.filter(channel__in=PUBLIC_CHANNELS).exclude(device_hash="").values(
            "store_id", "device_hash").annotate(n=Count("pk")):
        devices[row["store_id"]] = max(devices.get(row["store_id"], 0), row["n"])
    moments: dict[int, list[float]] = {}
    for store_id, moment in responses.filter(channel__in=PUBLIC_CHANNELS).values_list(
            "store_id", "submitted_at"):
        moments.setdefault(store_id, []).append(moment.timestamp())
    window = settings.SURVEY_CLUSTER_WINDOW_MINUTES * 60
    return [StoreAbuseStats(
        store_id=store_id, region_id=row["store__region_id"], responses=row["n"],
        public_responses=row["public"], ratings=ratings.get(store_id, {}).get("n", 0),
        top_ratings=ratings.get(store_id, {}).get("top", 0),
        max_one_device=devices.get(store_id, 0),
        max_in_window=max_in_window(moments.get(store_id, []), window))
        for store_id, row in counts.items()]


def store_anomaly_scan(*, campaign: Campaign, thresholds: AbuseThresholds | None = None
                       ) -> list[StoreFlag]:
    """Flag stores whose answers look manufactured; each store once per campaign, HQ told once."""
    flagged = manufactured_stores(_abuse_stats(campaign), thresholds)
    created = []
    for store_id, reasons in flagged.items():
        with transaction.atomic():
            flag, is_new = StoreFlag.objects.get_or_create(
                campaign=campaign, store_id=store_id, defaults={"reasons": reasons})
            if not is_new:
                continue
            held = list(Response.objects.select_for_update().filter(
                campaign=campaign, store_id=store_id, status=ResponseStatus.COUNTED,
            ).values_list("pk", flat=True))
            Response.objects.filter(pk__in=held).update(
                status=ResponseStatus.FLAGGED, flag_reasons=FlagReason.STORE.value)
            tallies.responses_withdrawn(held)
            created.append(flag)
    if created:
        hq_users = User.objects.filter(role=Role.HQ_ADMIN, is_active=True)
        codes = ", ".join(sorted(Store.objects.filter(
            pk__in=[f.store_id for f in created]).values_list("code", flat=True)))
        notification_send(
            users=hq_users, kind="surveys.store_flag",
            title=_("Survey answers look manufactured at %(n)s store(s)") % {"n": len(created)},
            body=_("Campaign %(campaign)s: %(stores)s. Their answers are held back until you "
                   "review them.") % {"campaign": campaign, "stores": codes},
            url=reverse("surveys:review"))
    return created


def open_campaigns_scan() -> int:
    """Scan every campaign open today (the periodic task)."""
    today = timezone.localdate()
    total = 0
    for campaign in Campaign.objects.filter(opens_on__lte=today,
                                            closes_on__gte=today - timedelta(days=1)):
        total += len(store_anomaly_scan(campaign=campaign))
    return total


# --- Paper questionnaires from a file -----------------------------------------------------

PAPER_STORE, PAPER_DATE, PAPER_SERVED_BY = "store_code", "date", "served_by"
PAPER_FORM_NO, PAPER_COMMENT = "form_no", "comment"
PAPER_OVERALL, PAPER_RECOMMEND = "overall", "recommend"
PAPER_LANGUAGES = ("zh-hans", "en")


def _rating_key(code: str) -> str:
    return f"rating:{code}"


def _expectation_key(code: str) -> str:
    return f"expect:{code}"


def paper_columns(indicators: list[Indicator]) -> list[TemplateColumn]:
    """The columns of the paper questionnaire file, headed in the current language: store,
    date, who served, the form's number, one rating per active indicator, then the optional
    expectation of each, the optional overall satisfaction and would-recommend (when the
    campaign asks them), and a comment."""
    columns = [
        TemplateColumn(PAPER_STORE, _("Store code"), "S0001", _("The store the form is from."),
                       required=True),
        TemplateColumn(PAPER_DATE, _("Date"), timezone.localdate().isoformat(),
                       _("The day the customer filled in the form (2026-11-24); a campaign "
                         "must cover the store on that day."), required=True),
        TemplateColumn(PAPER_SERVED_BY, _("Served by"), "",
                       _("Employee number of who served the customer (optional).")),
        TemplateColumn(PAPER_FORM_NO, _("Form no."), "",
                       _("The number printed on the form (optional). Uploading a form number "
                         "again leaves that form as it is.")),
    ]
    columns += [TemplateColumn(_rating_key(i.code), i.name, 5,
                               _("Rating of “%(question)s”: a whole number from 1 to the "
                                 "campaign's top (5 or 10).") % {"question": i.question},
                               required=True) for i in indicators]
    columns += [TemplateColumn(_expectation_key(i.code),
                               _("Expectation: %(name)s") % {"name": i.name}, "",
                               _("What the customer expected, on the same scale (optional)."))
                for i in indicators]
    columns += [
        TemplateColumn(PAPER_OVERALL, _("Overall satisfaction"), "",
                       _("How satisfied overall, on the campaign's scale (optional; only when "
                         "the campaign asks it).")),
        TemplateColumn(PAPER_RECOMMEND, _("Would recommend (0–10)"), "",
                       _("How likely to recommend the store, 0 to 10 (optional; only when the "
                         "campaign asks it).")),
    ]
    columns.append(TemplateColumn(PAPER_COMMENT, _("Comment"), "",
                                  _("What the customer wrote (optional).")))
    return columns


def _normalised(header: str) -> str:
    # As satisfaction.tabular reads a header: trimmed, lower case, spaces as underscores.
    return str(header).strip().lower().replace(" ", "_")


def paper_aliases(indicators: list[Indicator]) -> dict[str, str]:
    """Every header the import reads, in English and in Chinese (with or without the " *"
    the XLSX template puts after a required column), and each indicator's code."""
    aliases: dict[str, str] = {}
    for language in PAPER_LANGUAGES:
        with translation.override(language):
            for column in paper_columns(indicators):
                for header in (column.header, f"{column.header} *", f"{column.header}*"):
                    aliases[_normalised(header)] = column.key
    for indicator in indicators:
        aliases[_normalised(indicator.code)] = _rating_key(indicator.code)
        aliases[f"{_normalised(indicator.code)}_expectation"] = _expectation_key(indicator.code)
    for key in (PAPER_STORE, PAPER_DATE, PAPER_SERVED_BY, PAPER_FORM_NO, PAPER_COMMENT,
                PAPER_OVERALL, PAPER_RECOMMEND, "store", "employee_number"):
        aliases.setdefault(key, {"store": PAPER_STORE,
                                 "employee_number": PAPER_SERVED_BY}.get(key, key))
    return aliases


@dataclass
class PaperImportResult:
    created: int = 0
    unchanged: int = 0
    held: int = 0
    rows: list[list[str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    campaign_ids: set[int] = field(default_factory=set)


def _paper_day(value: object, today: date) -> tuple[date | None, str]:
    try:
        day = parse_date(value)
    except (TypeError, ValueError):
        return None, _("Not a date such as 2026-11-24.")
    if day is None:
        return None, _("Give the date the form was filled in.")
    if day > today:
        return None, _("The date is in the future.")
    return day, ""


def _paper_key(*, form_no: str, day: date, data: ResponseInput, seen: dict[str, int],
               store_id: int) -> str:
    """Which form a row is, so that uploading it again changes nothing: its number when
    given, else a digest of its answers and its place among identical rows of the file."""
    if form_no:
        return f"no:{form_no}"
    identity = (day.isoformat(), data.employee_number.upper(), sorted(data.ratings.items()),
                sorted((data.expectations or {}).items()), data.comment)
    if data.overall or data.recommend:  # a form without them keeps the key it always had
        identity += (str(data.overall or ""), str(data.recommend or ""))
    digest = hashlib.sha256(repr(identity).encode()).hexdigest()[:40]
    seen_key = f"{store_id}:{digest}"
    seen[seen_key] = seen.get(seen_key, 0) + 1
    return f"d:{digest}:{seen[seen_key]}"


def _paper_field_column(name: str) -> str:
    """The file's column of a field ``response_create`` names in its errors."""
    if name.startswith("ratings."):
        return _rating_key(name.split(".", 1)[1])
    if name.startswith("expectations."):
        return _expectation_key(name.split(".", 1)[1])
    return {"employee": PAPER_SERVED_BY, "comment": PAPER_COMMENT, "store": PAPER_STORE,
            "campaign": PAPER_DATE, "overall": PAPER_OVERALL,
            "recommend": PAPER_RECOMMEND}.get(name, "")


def paper_import(*, user: User, file_name: str, content: bytes, dry_run: bool,
                 progress: Callable[[int, int], None] | None = None) -> PaperImportResult:
    """Paper questionnaires from a CSV or XLSX file, one row per form, all or nothing.

    Each row goes through ``response_create`` (the rules of a rating, of who served, of the
    campaign), as keyed-in forms do, with the rules of paper entry: ``user`` may enter for the
    row's store (``rules.can_enter_for_store``: a store manager only their own store, HQ any),
    the campaign is the one covering the store on the row's date, and forms keyed in by the
    store's own staff wait for HQ (``entry_flag_reasons``). Every bad cell of every row is
    listed by row number and by the header the file uses.

    A form already imported (same number, or the same answers at the same place among identical
    rows; ``Response.paper_key``) is left unchanged. ``dry_run`` writes nothing and returns the
    errors with the counts; otherwise any error raises and nothing is saved.
    """
    indicators = list(Indicator.objects.filter(is_active=True).order_by("order", "code"))
    tables = read_tables(file_name, content, paper_aliases(indicators))
    known = {column.key for column in paper_columns(indicators)}
    problems = RowErrors()
    if not tables:
        raise ApplicationError(_("The file is empty."), code="empty_file")
    # The sheet of the forms: the first with a store column (the template's second sheet
    # only explains the columns).
    table = next((t for t in tables if PAPER_STORE in t.headers), tables[0])
    required = [c for c in paper_columns(indicators) if c.required]
    missing = [str(c.header) for c in required if c.key not in table.headers]
    if missing:
        raise ApplicationError(
            _("Nothing was imported: the file lacks these columns: %(columns)s. Download the "
              "template to see them.") % {"columns": ", ".join(missing)},
            fields={"rows": [_("Missing column: %(column)s") % {"column": c} for c in missing]},
            code="missing_columns")
    unknown = [table.header_label(h) for h in table.headers if h and h not in known]
    if unknown:
        raise ApplicationError(
            _("Nothing was imported: these columns are not in the template: %(columns)s.")
            % {"columns": ", ".join(unknown)},
            fields={"rows": [_("Unknown column: %(column)s") % {"column": c} for c in unknown]},
            code="unknown_columns")
    if not table.rows:
        raise ApplicationError(_("The file has no questionnaires: fill in one row per form."),
                               code="empty_file")
    run = _PaperRun(user=user, table=table, indicators=indicators, note=file_name,
                    problems=problems)
    with transaction.atomic():
        run.all_rows(progress)
        # A dry run, or a file with errors, leaves nothing behind.
        transaction.set_rollback(dry_run or bool(problems))
    result = run.result
    result.errors = [str(error) for error in problems.errors]
    if problems and not dry_run:
        raise ApplicationError(_("Nothing was imported: fix these rows and upload the file "
                                 "again."), fields={"rows": result.errors}, code="invalid_rows")
    return result


class _PaperRun:
    """One import of paper forms: the file's rows, the lookups they share, the result."""

    def __init__(self, *, user: User, table, indicators: list[Indicator], note: str,
                 problems: RowErrors) -> None:
        self.user, self.table, self.indicators = user, table, indicators
        self.note, self.problems = note, problems
        self.result = PaperImportResult()
        self.allowed: dict[int, bool] = {}
        self.campaigns: dict[tuple[int, date], Campaign | None] = {}
        self.batches: dict[tuple[int, int], PaperBatch] = {}
        self.seen: dict[str, int] = {}
        self.today, self.now = timezone.localdate(), timezone.now()
        self.stores = _stores_by_code(str(values.get(PAPER_STORE, "")).strip()
                                      for _n, values in table.rows)

    def all_rows(self, progress: Callable[[int, int], None] | None) -> None:
        total = len(self.table.rows)
        for done, (number, values) in enumerate(self.table.rows, start=1):
            self.row(number, values)
            if progress is not None and (done % 50 == 0 or done == total):
                progress(done, total)

    def bad(self, number: int, column: str, message: str) -> None:
        self.problems.add(self.table, number, column, message)

    def store(self, number: int, values: dict) -> Store | None:
        code = str(values.get(PAPER_STORE, "")).strip()
        store = self.stores.get(code.upper()) if code else None
        if not code:
            self.bad(number, PAPER_STORE, _("Give the store code."))
        elif store is None:
            self.bad(number, PAPER_STORE,
                     _("No store has the code %(code)s.") % {"code": code[:40]})
        elif not self.allowed.setdefault(store.pk, rules.can_enter_for_store(self.user, store)):
            self.bad(number, PAPER_STORE, _("You may not enter questionnaires for store "
                                            "%(code)s.") % {"code": store.code})
            return None
        return store

    def campaign(self, number: int, store: Store | None, day: date | None) -> Campaign | None:
        if store is None or day is None:
            return None
        if (store.pk, day) not in self.campaigns:
            self.campaigns[(store.pk, day)] = open_campaign_for_store(store=store, day=day)
        campaign = self.campaigns[(store.pk, day)]
        if campaign is None:
            self.bad(number, PAPER_DATE, _("No survey campaign covers store %(code)s on "
                                           "%(day)s.") % {"code": store.code, "day": day})
        return campaign

    def row(self, number: int, values: dict) -> None:
        store = self.store(number, values)
        day, day_error = _paper_day(values.get(PAPER_DATE), self.today)
        if day_error:
            self.bad(number, PAPER_DATE, day_error)
        campaign = self.campaign(number, store, day)
        form_no = _cell_text(values.get(PAPER_FORM_NO))
        if len(form_no) > 60:
            self.bad(number, PAPER_FORM_NO, _("At most 60 characters."))
        data = ResponseInput(
            ratings={i.code: _cell_text(values.get(_rating_key(i.code)))
                     for i in self.indicators},
            expectations={i.code: _cell_text(values.get(_expectation_key(i.code)))
                          for i in self.indicators},
            employee_number=_cell_text(values.get(PAPER_SERVED_BY)),
            comment=_cell_text(values.get(PAPER_COMMENT)),
            overall=_cell_text(values.get(PAPER_OVERALL)),
            recommend=_cell_text(values.get(PAPER_RECOMMEND)))
        if campaign is None:
            # The row cannot be saved; still list its bad cells (ratings on the larger scale:
            # without the campaign the top of the scale is not known).
            anything = Campaign(scale_max=10, ask_overall=True, ask_recommend=True)
            _answers, errors = _clean_answers(data, anything, self.indicators)
            errors.update(_clean_extra(data, anything)[2])
            if store is not None:
                errors.update(_employee(data, store)[1])
            self.bad_fields(number, errors)
            return
        key = _paper_key(form_no=form_no[:60], day=day, data=data, seen=self.seen,
                         store_id=store.pk)
        self.save(number, store=store, campaign=campaign, day=day, data=data, key=key)

    def bad_fields(self, number: int, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            for message in messages:
                self.bad(number, _paper_field_column(name), message)

    def save(self, number: int, *, store: Store, campaign: Campaign, day: date,
             data: ResponseInput, key: str) -> None:
        summary = [_("row %(n)s") % {"n": number}, "",
                   " · ".join([store.code, day.isoformat(), data.employee_number or "—",
                               " ".join(str(data.ratings[i.code]) for i in self.indicators)])]
        if Response.objects.filter(campaign=campaign, store=store, paper_key=key).exists():
            self.result.unchanged += 1
            summary[1] = _("unchanged (imported before)")
            self.result.rows.append(summary)
            return
        batch = self.batches.get((store.pk, campaign.pk))
        if batch is None:
            batch = self.batches[(store.pk, campaign.pk)] = PaperBatch.objects.create(
                campaign=campaign, store=store, entered_by=self.user, note=self.note[:200])
        moment = min(self.now, datetime.combine(day, time(12), tzinfo=chain_zone()))
        try:
            with transaction.atomic():
                response = response_create(
                    store=store, campaign=campaign, data=data, channel=Channel.PAPER,
                    entered_by=self.user, paper_batch=batch, now=moment, paper_key=key)
        except ApplicationError as exc:
            self.bad_fields(number, exc.fields or {"": [exc.message]})
            return
        held = response.status == ResponseStatus.FLAGGED
        self.result.created += 1
        self.result.held += held
        self.result.campaign_ids.add(campaign.pk)
        summary[1] = _("create, waits for HQ review") if held else _("create")
        self.result.rows.append(summary)


def _cell_text(value: object) -> str:
    """A cell as text: a whole number read from XLSX as 5.0 is "5"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
