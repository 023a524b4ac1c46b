"""Scoring schemes (versioned), quarterly rollups with their revisions, and the snapshots.

A quarter's values live in a :class:`Rollup` (quarter + revision). While a quarter is open the
nightly rollup recomputes its one provisional revision in place; HQ publishes it once no appeal
is open, which locks it. A later recompute of a locked quarter needs a reason and makes a new
provisional revision beside the published one; publishing that one supersedes the old. HR always
exports the published revision.
"""

from __future__ import annotations

import json
import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from satisfaction.quarters import QuarterField
from scoring import engine, evidence

_POINTS = [MinValueValidator(0), MaxValueValidator(100)]


class MissingComponent(models.TextChoices):
    RESCALE = engine.RESCALE, _("Rescale: the other component carries its points")
    ZERO = engine.ZERO, _("Zero: the missing component counts 0")


class MissingPart(models.TextChoices):
    STORE = engine.FROM_STORE, _("Use the store's value for that part (flagged)")
    ZERO = engine.ZERO, _("Count 0 (flagged)")


def default_indicator_weights() -> dict[str, float]:
    return dict(engine.DEFAULT_INDICATOR_WEIGHTS)


class Scheme(models.Model):
    """One version of the scoring scheme. Never edited once saved: HQ saves a new version."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    is_current = models.BooleanField(_("current"), default=True)
    note = models.CharField(_("what changed"), max_length=200, blank=True)
    survey_points = models.FloatField(_("sample survey points"), default=50,
                                      validators=_POINTS)
    scenario_points = models.FloatField(_("scenario survey points"), default=50,
                                        validators=_POINTS)
    indicator_weights = models.JSONField(
        _("indicator weights"), default=default_indicator_weights,
        help_text=_("Weight of each survey indicator code; codes not listed do not count."))
    grade_a_points = models.FloatField(_("deduction per grade A complaint"), default=3,
                                       validators=_POINTS)
    grade_b_points = models.FloatField(_("deduction per grade B complaint"), default=2,
                                       validators=_POINTS)
    grade_c_points = models.FloatField(_("deduction per grade C complaint"), default=1,
                                       validators=_POINTS)
    min_sample = models.PositiveIntegerField(
        _("minimum responses per store"), default=30,
        help_text=_("Fewer responses flag the store's value; they do not hide it."))
    missing_component = models.CharField(_("a store without survey or visits"), max_length=10,
                                         choices=MissingComponent.choices,
                                         default=MissingComponent.RESCALE)
    warm_service_points = models.FloatField(_("warm service points"), default=25,
                                            validators=_POINTS)
    efficacy_points = models.FloatField(_("recommended-product efficacy points"), default=25,
                                        validators=_POINTS)
    price_points = models.FloatField(_("price points"), default=25, validators=_POINTS)
    purchase_points = models.FloatField(_("purchase evaluation points"), default=25,
                                        validators=_POINTS)
    missing_part = models.CharField(_("an employee part without data"), max_length=10,
                                    choices=MissingPart.choices, default=MissingPart.STORE)
    financial_weight = models.FloatField(_("appraisal: financial"), default=50,
                                         validators=_POINTS)
    satisfaction_weight = models.FloatField(_("appraisal: customer satisfaction"), default=30,
                                            validators=_POINTS)
    other_weight = models.FloatField(_("appraisal: other"), default=20, validators=_POINTS)
    bonus_k = models.FloatField(_("bonus amplification factor"), default=1,
                                validators=[MinValueValidator(1), MaxValueValidator(8)])
    bonus_target = models.FloatField(_("bonus target value"), default=70, validators=_POINTS)
    small_sample_adjustment = models.BooleanField(
        _("shrink small samples toward the region mean"), default=False,
        help_text=_("survey % ← (n·survey % + m·region mean) / (n + m)."))
    shrinkage_m = models.PositiveIntegerField(
        _("shrinkage weight m"), null=True, blank=True,
        help_text=_("Empty: the minimum sample."))
    scenario_counts_image = models.BooleanField(
        _("count the store-image items in the scenario survey"), default=False,
        help_text=_("The mystery-shopper score is the purchase evaluation plus the "
                    "ask-then-dispense process; the store-image items (signboard, uniform, "
                    "polite phrases) are reported beside it. Tick to count them in."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("created by"))

    class Meta:
        ordering = ["-version"]
        verbose_name = _("scoring scheme")
        verbose_name_plural = _("scoring schemes")
        constraints = [models.UniqueConstraint(fields=["is_current"],
                                               condition=models.Q(is_current=True),
                                               name="scoring_one_current_scheme")]

    def __str__(self) -> str:
        return f"v{self.version}"

    def save(self, *args, **kwargs) -> None:
        # Validated on every save, whoever saves it (service, admin, shell).
        self.full_clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if abs(self.survey_points + self.scenario_points - 100) > 1e-6:
            errors.setdefault("scenario_points", []).append(
                _("Survey and scenario points must add up to 100."))
        parts = (self.warm_service_points + self.efficacy_points + self.price_points
                 + self.purchase_points)
        if abs(parts - 100) > 1e-6:
            errors.setdefault("purchase_points", []).append(
                _("The four employee parts must add up to 100."))
        appraisal = self.financial_weight + self.satisfaction_weight + self.other_weight
        if abs(appraisal - 100) > 1e-6:
            errors.setdefault("other_weight", []).append(
                _("The appraisal weights must add up to 100."))
        weights = self.indicator_weights
        if not isinstance(weights, dict) or not weights:
            errors.setdefault("indicator_weights", []).append(
                _("Give at least one indicator code with its weight."))
        else:
            bad = [code for code, weight in weights.items()
                   if not isinstance(weight, int | float) or isinstance(weight, bool)
                   or weight < 0]
            if bad:
                errors.setdefault("indicator_weights", []).append(
                    _("Weights must be numbers of 0 or more: %(codes)s")
                    % {"codes": ", ".join(sorted(map(str, bad)))})
            elif not any(w > 0 for w in weights.values()):
                errors.setdefault("indicator_weights", []).append(
                    _("At least one indicator needs a weight above 0."))
        if errors:
            raise ValidationError(errors)

    def to_params(self) -> engine.SchemeParams:
        return engine.SchemeParams(
            survey_points=self.survey_points, scenario_points=self.scenario_points,
            indicator_weights={str(k): float(v) for k, v in self.indicator_weights.items()},
            grade_points={"A": self.grade_a_points, "B": self.grade_b_points,
                          "C": self.grade_c_points},
            min_sample=self.min_sample, missing_component=self.missing_component,
            warm_service_points=self.warm_service_points, efficacy_points=self.efficacy_points,
            price_points=self.price_points, purchase_points=self.purchase_points,
            missing_part=self.missing_part, financial_weight=self.financial_weight,
            satisfaction_weight=self.satisfaction_weight, other_weight=self.other_weight,
            bonus_k=self.bonus_k, bonus_target=self.bonus_target,
            small_sample_adjustment=self.small_sample_adjustment,
            shrinkage_m=self.shrinkage_m, scenario_counts_image=self.scenario_counts_image)


class RollupStatus(models.TextChoices):
    PROVISIONAL = "provisional", _("Provisional")
    PUBLISHED = "published", _("Published (locked)")
    SUPERSEDED = "superseded", _("Superseded")


class Rollup(models.Model):
    """One revision of a quarter's values."""

    quarter = QuarterField(_("quarter"), db_index=True)
    revision = models.PositiveIntegerField(_("revision"), default=1)
    status = models.CharField(_("status"), max_length=12, choices=RollupStatus.choices,
                              default=RollupStatus.PROVISIONAL)
    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="rollups",
                               verbose_name=_("scheme"))
    reason = models.TextField(_("reason for the recompute"), blank=True)
    computed_at = models.DateTimeField(_("computed at"))
    computed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("computed by"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("published by"))
    store_count = models.PositiveIntegerField(pgettext_lazy("count", "stores"), default=0)
    employee_count = models.PositiveIntegerField(pgettext_lazy("count", "employees"),
                                                 default=0)
    seconds = models.FloatField(_("duration (s)"), default=0)
    # Revisions computed before issue 12 have no counted inputs recorded (RevisionInput):
    # their trace can only show the quarter's rows as they are now, and says so.
    evidence_recorded = models.BooleanField(_("counted inputs recorded"), default=False)

    class Meta:
        ordering = ["-quarter", "-revision"]
        verbose_name = _("rollup")
        verbose_name_plural = _("rollups")
        constraints = [
            models.UniqueConstraint(fields=["quarter", "revision"],
                                    name="scoring_rollup_quarter_revision"),
            models.UniqueConstraint(fields=["quarter"],
                                    condition=models.Q(status="provisional"),
                                    name="scoring_one_provisional_per_quarter"),
            models.UniqueConstraint(fields=["quarter"], condition=models.Q(status="published"),
                                    name="scoring_one_published_per_quarter"),
        ]

    def __str__(self) -> str:
        return f"{self.quarter} r{self.revision} ({self.get_status_display()})"

    @property
    def is_locked(self) -> bool:
        return self.status != RollupStatus.PROVISIONAL


class Snapshot(models.Model):
    """What every stored value has: its revision, quarter, place, value, counts and flags.

    Written only by the rollup, in bulk, from the rows it has just read (115,000 a revision at
    chain scale): no database foreign-key checks, which cost the rollup 1.6 s at commit
    (docs/scaling.md); the ORM still cascades a deleted revision, store or employee. No index
    of the revision alone: the unique (rollup, store) and (rollup, employee) lead with it."""

    rollup = models.ForeignKey(Rollup, on_delete=models.CASCADE, related_name="%(class)ss",
                               verbose_name=_("rollup"), db_constraint=False, db_index=False)
    quarter = QuarterField(_("quarter"))
    store = models.ForeignKey("satisfaction.Store", on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("store"), db_constraint=False)
    region = models.ForeignKey("satisfaction.Region", on_delete=models.CASCADE,
                               related_name="+", verbose_name=_("region"), db_constraint=False)
    value = models.FloatField(_("satisfaction value"), null=True)
    deductions = models.FloatField(_("complaint deductions"), default=0)
    n_responses = models.PositiveIntegerField(_("responses"), default=0)
    n_visits = models.PositiveIntegerField(pgettext_lazy("count", "visits"), default=0)
    n_complaints = models.PositiveIntegerField(pgettext_lazy("count", "complaints"), default=0)
    flags = models.JSONField(_("flags"), default=list)
    rank_region = models.PositiveIntegerField(_("rank in region"), null=True)

    class Meta:
        abstract = True


class StoreScore(Snapshot):
    survey_pct = models.FloatField(_("sample survey %"), null=True)
    survey_pct_raw = models.FloatField(_("sample survey % before adjustment"), null=True)
    scenario_pct = models.FloatField(_("scenario survey %"), null=True)
    survey_points = models.FloatField(_("sample survey points"), default=0)
    scenario_points = models.FloatField(_("scenario survey points"), default=0)
    ci_low = models.FloatField(_("95% CI low"), null=True)
    ci_high = models.FloatField(_("95% CI high"), null=True)
    rank_chain = models.PositiveIntegerField(_("rank in chain"), null=True)
    indicators = models.JSONField(_("indicators"), default=dict)

    class Meta:
        ordering = ["rank_chain", "store_id"]
        verbose_name = _("store score")
        verbose_name_plural = _("store scores")
        constraints = [models.UniqueConstraint(fields=["rollup", "store"],
                                               name="scoring_store_score_unique")]
        indexes = [models.Index(fields=["rollup", "region", "rank_region"]),
                   models.Index(fields=["store", "quarter"])]

    def __str__(self) -> str:
        return f"{self.store_id} {self.quarter}: {self.value}"


class EmployeeScore(Snapshot):
    employee = models.ForeignKey("satisfaction.Employee", on_delete=models.CASCADE,
                                 related_name="+", verbose_name=_("employee"),
                                 db_constraint=False, db_index=False)  # (employee, quarter)
    role = models.CharField(pgettext_lazy("employee", "role"), max_length=20)
    own_value = models.FloatField(_("own value"), null=True)
    warm_service_pct = models.FloatField(_("warm service %"), null=True)
    efficacy_pct = models.FloatField(_("recommended-product efficacy %"), null=True)
    price_pct = models.FloatField(_("price %"), null=True)
    purchase_pct = models.FloatField(_("purchase evaluation %"), null=True)
    warm_service_points = models.FloatField(_("warm service points"), default=0)
    efficacy_points = models.FloatField(_("efficacy points"), default=0)
    price_points = models.FloatField(_("price points"), default=0)
    purchase_points = models.FloatField(_("purchase evaluation points"), default=0)
    satisfaction_points = models.FloatField(_("satisfaction appraisal points"), null=True)
    bonus_factor = models.FloatField(_("bonus factor"), null=True)
    rank_store = models.PositiveIntegerField(_("rank in store"), null=True)

    class Meta:
        ordering = ["store_id", "rank_store", "employee_id"]
        verbose_name = _("employee score")
        verbose_name_plural = _("employee scores")
        constraints = [models.UniqueConstraint(fields=["rollup", "employee"],
                                               name="scoring_employee_score_unique")]
        indexes = [models.Index(fields=["rollup", "store"]),
                   models.Index(fields=["employee", "quarter"])]

    def __str__(self) -> str:
        return f"{self.employee_id} {self.quarter}: {self.value}"


class AppraisalPoints(models.Model):
    """Financial and other appraisal points of an employee for a quarter, imported by HR."""

    employee = models.ForeignKey("satisfaction.Employee", on_delete=models.CASCADE,
                                 related_name="+", verbose_name=_("employee"))
    quarter = QuarterField(_("quarter"))
    financial_points = models.FloatField(_("financial points"), validators=_POINTS)
    other_points = models.FloatField(_("other points"), validators=_POINTS)
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("imported by"))

    class Meta:
        ordering = ["quarter", "employee_id"]
        verbose_name = _("appraisal points")
        verbose_name_plural = _("appraisal points")
        constraints = [models.UniqueConstraint(fields=["employee", "quarter"],
                                               name="scoring_appraisal_employee_quarter")]

    def __str__(self) -> str:
        return f"{self.employee_id} {self.quarter}"


class ExportLog(models.Model):
    """Every HR export: who, when, which quarter and revision, how many rows."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("user"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    quarter = QuarterField(_("quarter"))
    rollup = models.ForeignKey(Rollup, null=True, on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("rollup"))
    file_format = models.CharField(_("format"), max_length=4)
    language = models.CharField(_("language"), max_length=10)
    row_count = models.PositiveIntegerField(_("rows"))

    class Meta:
        ordering = ["-at"]
        verbose_name = _("export log entry")
        verbose_name_plural = _("export log")

    def __str__(self) -> str:
        return f"{self.quarter} {self.file_format} {self.at:%Y-%m-%d %H:%M}"


class InputKind(models.IntegerChoices):
    """The kinds of a revision's inputs (the values are ``scoring.evidence``'s)."""

    RESPONSE = evidence.RESPONSE, _("Survey response")
    VISIT = evidence.VISIT, _("Mystery-shopper visit")
    COMPLAINT = evidence.COMPLAINT, _("Complaint")


class RevisionInput(models.Model):
    """One visit or complaint a revision counted, frozen with the figure it contributed.

    Written by the rollup with its snapshot rows (COPY on PostgreSQL), one row per approved
    visit and substantiated graded complaint, so the trace of a value lists what *that
    revision* counted whatever arrives later; the survey responses it counted are frozen
    apart, many to a row (:class:`RevisionResponses`). Narrow on purpose: a composite primary
    key instead of a surrogate id, no database foreign-key checks (the rows are written in
    bulk from rows just read).

    - ``store``: the store whose value counted it; ``employee``: the employee whose value
      counted it (empty: the store's value only, e.g. a response naming no one);
    - ``figure``: what it gave the store's component: a visit's scenario %, a complaint's
      deduction points (revisions frozen before issue 16 also had a row per response: their
      responses were regrouped into :class:`RevisionResponses` by migration 0006);
    - ``employee_figure``: what it gave the employee's part where that differs in kind (a
      visit's purchase-evaluation %); empty otherwise.
    """

    # The key is the one index a store's trace needs (rollup, store), then kind and record;
    # the employee's trace has a partial index of its own.
    pk = models.CompositePrimaryKey("rollup", "store", "kind", "object_id")
    # No index of their own: the primary key and the employee index lead with them.
    rollup = models.ForeignKey(Rollup, on_delete=models.CASCADE, db_constraint=False,
                               db_index=False, related_name="inputs", verbose_name=_("rollup"))
    kind = models.PositiveSmallIntegerField(_("kind"), choices=InputKind.choices)
    object_id = models.BigIntegerField(_("record"))
    store = models.ForeignKey("satisfaction.Store", on_delete=models.DO_NOTHING,
                              db_constraint=False, db_index=False, related_name="+",
                              verbose_name=_("store"))
    employee = models.ForeignKey("satisfaction.Employee", null=True, on_delete=models.DO_NOTHING,
                                 db_constraint=False, db_index=False, related_name="+",
                                 verbose_name=_("employee"))
    figure = models.FloatField(_("figure"), null=True)
    employee_figure = models.FloatField(_("figure for the employee"), null=True)

    class Meta:
        verbose_name = _("counted input")
        verbose_name_plural = _("counted inputs")
        indexes = [models.Index(fields=["rollup", "employee"], name="scoring_input_employee",
                                condition=models.Q(employee__isnull=False))]

    def __str__(self) -> str:
        return f"r{self.rollup_id} {self.get_kind_display()} #{self.object_id}"


class NumberListField(models.Field):
    """A list of numbers (``None`` for an empty one) in one column, exactly: a PostgreSQL
    array of ``base`` (``bigint[]`` or ``double precision[]``, built by ``array_agg``),
    JSON text elsewhere (Python's float repr round-trips a double). Not for lookups inside
    the list: the readers expand it (``scoring.selectors``)."""

    BASES = ("bigint", "double precision")

    def __init__(self, *args, base: str = "bigint", **kwargs) -> None:
        if base not in self.BASES:
            raise ValueError(f"base must be one of {self.BASES}")
        self.base = base
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["base"] = self.base
        return name, path, args, kwargs

    def db_type(self, connection) -> str:
        return f"{self.base}[]" if connection.vendor == "postgresql" else "text"

    def _element(self, value) -> int | float | None:
        if value is None:
            return None
        if self.base == "bigint":
            return int(value)
        number = float(value)
        if math.isnan(number):
            return None  # pandas' empty figure
        return number

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        values = [self._element(v) for v in value]
        if connection.vendor == "postgresql":
            # An array literal: repr() of a double is exact, and an empty or all-empty list
            # needs no element type for the driver to guess.
            return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"
        return json.dumps(values)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if isinstance(value, str):
            return json.loads(value)
        return list(value)

    def to_python(self, value):
        if value is None or isinstance(value, list):
            return value
        if isinstance(value, str):
            return json.loads(value)
        return [self._element(v) for v in value]


class RevisionResponses(models.Model):
    """The survey responses a revision counted for one store and one employee (or none),
    frozen with their scores: one row per (revision, store, employee) instead of one per
    response (chain scale: about 115,000 rows a revision instead of a million; issue 16).

    Written by the rollup with its snapshot rows: on PostgreSQL one ``INSERT … SELECT`` of the
    groups the load staged (``scoring.loader``), elsewhere from the counted-responses frame.

    - ``store``: the store whose value counted them;
    - ``employee_key``: the employee whose value counted them, 0 for none (the store's value
      only: the responses name no one, name the person who keyed them in, or name someone who
      gets no value). A key rather than a nullable foreign key so that (revision, store,
      employee) is the primary key: one index fewer to fill for every row a rollup writes;
    - ``response_ids``: the responses' ids; ``figures``: their weighted 0–100 scores in the
      same order (empty when a response rated no weighted indicator). In no particular order:
      the readers order them by id.
    """

    NO_EMPLOYEE = 0

    # The key is the index a store's trace reads (rollup, store); the employee's trace has a
    # partial index of its own. No database foreign-key checks (written in bulk from rows just
    # read), as the snapshot and the other inputs.
    pk = models.CompositePrimaryKey("rollup", "store", "employee_key")
    rollup = models.ForeignKey(Rollup, on_delete=models.CASCADE, db_constraint=False,
                               db_index=False, related_name="response_groups",
                               verbose_name=_("rollup"))
    store = models.ForeignKey("satisfaction.Store", on_delete=models.DO_NOTHING,
                              db_constraint=False, db_index=False, related_name="+",
                              verbose_name=_("store"))
    employee_key = models.BigIntegerField(_("employee"))
    response_ids = NumberListField(_("responses"), base="bigint")
    figures = NumberListField(_("scores"), base="double precision")

    class Meta:
        verbose_name = _("counted responses")
        verbose_name_plural = _("counted responses")
        indexes = [models.Index(fields=["rollup", "employee_key"],
                                name="scoring_responses_employee",
                                condition=~models.Q(employee_key=0))]

    def __str__(self) -> str:
        return f"r{self.rollup_id} store {self.store_id}: {len(self.response_ids or [])}"

    @property
    def employee_id(self) -> int | None:
        return self.employee_key or None
