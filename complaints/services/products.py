"""Product complaints: the medicine a product-quality complaint is about (name, specification,
manufacturer, batch, supplier) and a suspected adverse drug reaction (药品不良反应).

- ``product_validate`` checks the details before anything is saved (intake calls it with the
  complaint's other checks, so a bad product saves nothing);
- ``product_save`` writes them right after the complaint row, in the intake's transaction;
- ``complaint_product_set`` lets staff who may handle the complaint complete or correct them
  later;
- a suspected adverse reaction alerts HQ at once, whatever the grade, exactly once per
  complaint (``adr_notified_at``), in the app, by e-mail and through the group webhook;
- ``adr_mark_reported`` records that HQ reported it to the national monitoring system.

Errors name the plain field names (``medicine_name``, ``batch_no``...): the staff form has
fields of those names; the API reports them under ``product.`` (``complaints.api``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints import rules
from complaints.models import (
    AgeBand,
    Category,
    Complaint,
    ComplaintProduct,
    ReactionOutcome,
    Sex,
    normalise_batch,
)
from satisfaction.errors import ApplicationError
from satisfaction.models import User
from satisfaction.notifications import notification_send
from satisfaction.quarters import chain_zone
from satisfaction.scoping import scope_to_stores

from ._common import _conflict, _forbidden, _log
from .recipients import _detail_url, _hq_users

TEXT_LIMITS = {"medicine_name": 200, "specification": 200, "manufacturer": 200,
               "batch_no": 64, "supplier": 200, "reaction_description": 4000}


@dataclass(frozen=True)
class ProductInput:
    """The product details as an entry point collected them (blank: not given)."""

    medicine_name: str = ""
    specification: str = ""
    manufacturer: str = ""
    batch_no: str = ""
    supplier: str = ""
    suspected_adr: bool = False
    patient_age_band: str = ""
    patient_sex: str = ""
    reaction_description: str = ""
    reaction_started_on: date | None = None
    reaction_outcome: str = ""

    def is_blank(self) -> bool:
        """Nothing given at all (a form's product fieldset left empty)."""
        return not any(asdict(self).values())


#: The product fields an entry point collects, in the order forms show them.
PRODUCT_FIELDS = tuple(f.name for f in fields(ProductInput))


def received_on(moment: datetime) -> date:
    """The chain's calendar day of a receipt time (a reaction cannot begin after it)."""
    return timezone.localtime(moment, chain_zone()).date()


def _cleaned(product: ProductInput) -> dict:
    values = asdict(product)
    for name in TEXT_LIMITS:
        values[name] = (values[name] or "").strip()
    values["batch_no"] = normalise_batch(values["batch_no"])
    values["suspected_adr"] = bool(values["suspected_adr"])
    return values


def product_validate(*, category: str, product: ProductInput | None,
                     received_on: date | None = None) -> dict | None:
    """The details to save, cleaned, or an ``ApplicationError`` naming the fields.

    Product details belong to product-quality complaints only: given with another category
    they are refused (a silently dropped batch number would never reach the batch view).
    With the product category the medicine name is required; a suspected adverse reaction
    needs the reaction described; the age band, sex and outcome must be known choices; the
    reaction cannot begin after the complaint was received. ``None`` (the entry point does
    not collect products, e.g. the customer's web form) saves no product row: staff complete
    it later with ``complaint_product_set``."""
    if product is None:
        return None
    if category != Category.PRODUCT_QUALITY:
        if product.is_blank():
            return None
        raise ApplicationError(
            _("Product details are only recorded for product-quality complaints."),
            fields={"category": [_("Choose “Product quality” to record the medicine, or "
                                   "leave the product details empty.")]},
            code="product_not_allowed")
    values = _cleaned(product)
    errors: dict[str, list[str]] = {}
    if not values["medicine_name"]:
        errors["medicine_name"] = [_("Enter the name of the medicine.")]
    for name, limit in TEXT_LIMITS.items():
        if len(values[name]) > limit:
            errors[name] = [_("At most %(n)s characters.") % {"n": limit}]
    choices = {"patient_age_band": AgeBand.values, "patient_sex": Sex.values,
               "reaction_outcome": ReactionOutcome.values}
    for name, allowed in choices.items():
        if values[name] and values[name] not in allowed:
            errors[name] = [_("Choose one of the options.")]
    if values["suspected_adr"] and not values["reaction_description"]:
        errors["reaction_description"] = [
            _("Describe the reaction: a suspected adverse reaction is reported with it.")]
    started = values["reaction_started_on"]
    if started is not None and received_on is not None and started > received_on:
        errors["reaction_started_on"] = [
            _("The reaction cannot begin after the complaint was received.")]
    if errors:
        raise ApplicationError(_("The product details have invalid fields."), fields=errors,
                               code="invalid_product")
    return values


def product_save(*, complaint: Complaint, values: dict) -> ComplaintProduct:
    """Write the validated details (``product_validate``) of a new complaint and alert HQ if
    it may be an adverse reaction. Runs in the intake's transaction."""
    product = ComplaintProduct.objects.create(complaint=complaint, **values)
    if product.suspected_adr:
        _adr_alert(complaint=complaint, product=product)
    return product


def _adr_alert(*, complaint: Complaint, product: ComplaintProduct) -> bool:
    """Tell HQ about a suspected adverse reaction at once, whatever the grade: in the app, by
    e-mail and through the group webhook. Once per complaint: the conditional UPDATE of
    ``adr_notified_at`` is the claim, so two saves at once alert once. True if it alerted."""
    now = timezone.now()
    claimed = ComplaintProduct.objects.filter(
        pk=product.pk, adr_notified_at__isnull=True).update(adr_notified_at=now)
    if not claimed:
        return False
    product.adr_notified_at = now
    notification_send(
        users=_hq_users(),
        title=_("Suspected adverse drug reaction: %(ticket)s at %(store)s") % {
            "ticket": complaint.ticket_no, "store": complaint.store.name},
        body=_("%(medicine)s, batch %(batch)s. Report it to the national adverse drug "
               "reaction monitoring system.") % {
            "medicine": product.medicine_name, "batch": product.batch_no or "–"},
        url=_detail_url(complaint), kind="complaint_adr", email=True, webhook=True)
    return True


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


@transaction.atomic
def complaint_product_set(*, complaint: Complaint, user: User, product: ProductInput,
                          version: int | None = None) -> ComplaintProduct:
    """Complete or correct a product complaint's product details (whoever may handle the
    complaint). ``version``, when given, is the complaint's version read (a stale one is a
    409). Logs what changed; setting "suspected adverse reaction" later alerts HQ as at
    intake (once per complaint)."""
    # The role, and the store: a store manager handles his own stores' complaints only.
    locked = (scope_to_stores(Complaint.objects.select_for_update(), user)
              .filter(pk=complaint.pk).first())
    if locked is None or not rules.can_handle(user, complaint):
        raise _forbidden()
    if version is not None and locked.version != version:
        raise _conflict()
    if complaint.category != Category.PRODUCT_QUALITY:
        raise ApplicationError(
            _("Product details are only recorded for product-quality complaints."),
            fields={"medicine_name": [_("This complaint is not about a product.")]},
            code="product_not_allowed")
    values = product_validate(category=complaint.category, product=product,
                              received_on=received_on(complaint.received_at))
    existing = ComplaintProduct.objects.filter(complaint=complaint).first()
    if existing is None:
        existing = ComplaintProduct(complaint=complaint)
        old = dict.fromkeys(values)
    else:
        old = {name: getattr(existing, name) for name in values}
    for name, value in values.items():
        setattr(existing, name, value)
    existing.save()
    Complaint.objects.filter(pk=complaint.pk).update(version=locked.version + 1,
                                                     updated_at=timezone.now())
    complaint.version = locked.version + 1
    changes = {f"product.{name}": [_json(old[name]), _json(value)]
               for name, value in values.items() if old[name] != value}
    _log(complaint, actor=user, action="product", changes=changes)
    if existing.suspected_adr:
        _adr_alert(complaint=complaint, product=existing)
    return existing


@transaction.atomic
def adr_mark_reported(*, complaint: Complaint, user: User) -> ComplaintProduct:
    """HQ records that the suspected adverse reaction was reported to the national monitoring
    system (the first time counts; a second click changes nothing)."""
    if not rules.can_report_adr(user):
        raise _forbidden()
    product = (ComplaintProduct.objects.select_for_update()
               .filter(complaint=complaint).first())
    if product is None or not product.suspected_adr:
        raise ApplicationError(_("This complaint is not a suspected adverse reaction."),
                               code="not_adr")
    if product.adr_reported_at is None:
        product.adr_reported_at = timezone.now()
        product.save(update_fields=["adr_reported_at"])
        _log(complaint, actor=user, action="adr_reported",
             changes={"product.adr_reported_at": [None, product.adr_reported_at.isoformat()]})
    return product
