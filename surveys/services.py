"""The only functions that write survey data."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from satisfaction import ratelimit
from satisfaction.errors import ApplicationError
from satisfaction.history import attribute
from satisfaction.models import Employee, Role, Store, User
from satisfaction.notifications import notification_send
from satisfaction.quarters import InvalidQuarterError, Quarter
from surveys import rules
from surveys.models import (
    PUBLIC_CHANNELS,
    Answer,
    Campaign,
    Channel,
    FlagReason,
    Indicator,
    Invitation,
    InvitationChannel,
    PaperBatch,
    Response,
    ResponseStatus,
    StoreFlag,
    StoreFlagStatus,
)
from surveys.results import (
    AbuseThresholds,
    StoreAbuseStats,
    manufactured_stores,
    max_in_window,
)
from surveys.selectors import open_campaign_for_store

# --- Indicators and campaigns -------------------------------------------------------------


INDICATOR_FIELDS = ("name_zh", "name_en", "question_zh", "question_en", "kano", "group",
                    "order", "is_active")


def weight_not_here_error() -> ApplicationError:
    """Indicators carry no weight: the scoring scheme weighs each code (one owner)."""
    message = _("Indicator weights are set on the scoring scheme: save a new scheme version "
                "with this code's weight.")
    return ApplicationError(message, fields={"weight": [message]}, code="weight_on_scheme")


def indicator_create(*, code: str, name_zh: str, name_en: str, question_zh: str,
                     question_en: str, kano: str, group: str = "service",
                     order: int = 100, user: User | None = None) -> Indicator:
    """A new question. It counts (store value and results pages) once the scoring scheme
    gives its code a weight. ``user`` is who its history names."""
    if Indicator.objects.filter(code=code).exists():
        raise ApplicationError(_("An indicator with this code exists."),
                               fields={"code": [_("This code is taken.")]}, code="duplicate")
    indicator = Indicator(
        code=code, name_zh=name_zh, name_en=name_en, question_zh=question_zh,
        question_en=question_en, kano=kano, group=group, order=order)
    attribute(indicator, user=user)
    indicator.save()
    return indicator


def indicator_update(*, indicator: Indicator, user: User | None = None, **changes) -> Indicator:
    """Rename, reorder, deactivate (the code stays: it is what results and the scheme's
    weights are keyed by). Reweighting is a new scheme version. ``user`` is who its history
    names."""
    if "weight" in changes:
        raise weight_not_here_error()
    unknown = set(changes) - set(INDICATOR_FIELDS)
    if unknown:
        raise ApplicationError(_("These fields cannot be changed."),
                               fields={f: [_("Read-only.")] for f in sorted(unknown)})
    for name, value in changes.items():
        setattr(indicator, name, value)
    attribute(indicator, user=user)
    indicator.save()
    return indicator


@transaction.atomic
def campaign_create(*, name: str, quarter: Quarter | str, opens_on: date, closes_on: date,
                    scale_max: int = 5, ask_expectation: bool = False,
                    target_per_store: int = 30, stores: list[Store] | None = None) -> Campaign:
    campaign = Campaign(name=name)
    return _campaign_save(campaign, quarter=quarter, opens_on=opens_on, closes_on=closes_on,
                          scale_max=scale_max, ask_expectation=ask_expectation,
                          target_per_store=target_per_store, stores=stores)


@transaction.atomic
def campaign_update(*, campaign: Campaign, **changes) -> Campaign:
    fields = {"quarter": campaign.quarter, "opens_on": campaign.opens_on,
              "closes_on": campaign.closes_on, "scale_max": campaign.scale_max,
              "ask_expectation": campaign.ask_expectation,
              "target_per_store": campaign.target_per_store,
              "stores": None if campaign.all_stores else list(campaign.stores.all())}
    if "name" in changes:
        campaign.name = changes.pop("name")
    unknown = set(changes) - set(fields)
    if unknown:
        raise ApplicationError(_("These fields cannot be changed."),
                               fields={f: [_("Read-only.")] for f in sorted(unknown)})
    if "scale_max" in changes and changes["scale_max"] != campaign.scale_max \
            and campaign.responses.exists():
        raise ApplicationError(_("The rating scale cannot change once answers exist."),
                               fields={"scale_max": [_("Answers already use this scale.")]})
    fields.update(changes)
    return _campaign_save(campaign, **fields)


def campaign_validate(*, quarter: Quarter | str, opens_on: date | None,
                      closes_on: date | None, scale_max: int, target_per_store: int
                      ) -> Quarter:
    """The rules a campaign must meet however it is saved (API, admin, setup pages); returns
    the parsed quarter or raises ``ApplicationError`` naming each bad field."""
    errors: dict[str, list[str]] = {}
    parsed = None
    try:
        parsed = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    except InvalidQuarterError:
        errors["quarter"] = [_("Enter a quarter like 2026Q4.")]
    if scale_max not in (5, 10):
        errors["scale_max"] = [_("The scale is 1–5 or 1–10.")]
    if opens_on and closes_on and closes_on < opens_on:
        errors["closes_on"] = [_("The campaign must close on or after its opening day.")]
    if int(target_per_store) < 1:
        errors["target_per_store"] = [_("The target must be at least 1.")]
    if errors:
        raise ApplicationError(_("The campaign has invalid fields."), fields=errors)
    return parsed


def _campaign_save(campaign: Campaign, *, quarter, opens_on: date, closes_on: date,
                   scale_max: int, ask_expectation: bool, target_per_store: int,
                   stores: list[Store] | None) -> Campaign:
    campaign.quarter = campaign_validate(quarter=quarter, opens_on=opens_on,
                                         closes_on=closes_on, scale_max=scale_max,
                                         target_per_store=target_per_store)
    campaign.opens_on, campaign.closes_on = opens_on, closes_on
    campaign.scale_max, campaign.ask_expectation = scale_max, bool(ask_expectation)
    campaign.target_per_store = int(target_per_store)
    campaign.all_stores = not stores
    campaign.save()
    campaign.stores.set(stores or [])
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


def _rating(value: object, scale_max: int) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    number = int(str(value).strip())
    if str(number) != str(value).strip() or not 1 <= number <= scale_max:
        raise ValueError(value)
    return number


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
                    now: datetime | None = None) -> Response:
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
            device_hash=device_hash, entered_by=entered_by,
            self_served=FlagReason.SELF_SERVED.value in reasons,
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
    return response


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
    return Response.objects.filter(pk__in=response_ids, status=ResponseStatus.FLAGGED).update(
        status=status, reviewed_by=user, reviewed_at=timezone.now())


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
    Response.objects.filter(campaign=flag.campaign, store=flag.store,
                            status=ResponseStatus.FLAGGED,
                            flag_reasons__contains=FlagReason.STORE.value).update(
        status=ResponseStatus.CLEARED if clear else ResponseStatus.REJECTED,
        reviewed_by=user, reviewed_at=now)
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
            Response.objects.filter(campaign=campaign, store_id=store_id,
                                    status=ResponseStatus.COUNTED).update(
                status=ResponseStatus.FLAGGED, flag_reasons=FlagReason.STORE.value)
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
