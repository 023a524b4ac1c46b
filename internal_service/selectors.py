"""Reads of the internal satisfaction ratings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Avg, Count, ExpressionWrapper, F, FloatField
from django.db.models.query import QuerySet

from satisfaction.models import Department, Store, User
from satisfaction.quarters import Quarter

from . import calc
from .models import ITEM_FIELDS, DepartmentRating


def rating_store(*, user: User) -> Store | None:
    """The store a rater rates for: their employee record's, else the first of their stores
    (by code)."""
    if user.employee_id and user.employee.store.is_active:
        return user.employee.store
    return user.stores.filter(is_active=True).order_by("code").first()


@dataclass
class RatingRow:
    department: Department
    rating: DepartmentRating | None


def my_ratings(*, user: User, quarter: Quarter) -> list[RatingRow]:
    """Every active department with ``user``'s rating of the quarter (None: not rated yet):
    two queries."""
    mine = {r.department_id: r for r in DepartmentRating.objects.filter(quarter=quarter,
                                                                         rater=user)}
    return [RatingRow(department, mine.get(department.pk))
            for department in Department.objects.filter(is_active=True)]


def my_rating(*, user: User, quarter: Quarter, department: Department
              ) -> DepartmentRating | None:
    return DepartmentRating.objects.filter(quarter=quarter, rater=user,
                                           department=department).first()


def _score():
    total = sum((F(name) for name in ITEM_FIELDS[1:]), F(ITEM_FIELDS[0]))
    return ExpressionWrapper((total - calc.SUM_OFFSET) * calc.SUM_FACTOR,
                             output_field=FloatField())


@dataclass
class DepartmentFigures:
    """A department's internal satisfaction of a quarter: over the chain, per region (by id),
    and the mean of each item (1–5) over the chain."""

    chain: calc.Satisfaction
    regions: dict[int, calc.Satisfaction]
    items: dict[str, float | None]


def department_satisfaction(*, quarter: Quarter, departments: Iterable[Department]
                            ) -> dict[int, DepartmentFigures]:
    """Per department (by id), its ratings of the quarter: n, the mean 0–100 score and its 95%
    interval, over the chain and per region of the raters' stores, and each item's mean.
    Two grouped queries, whatever the number of ratings."""
    ids = [d.pk for d in departments]
    ratings: QuerySet = DepartmentRating.objects.filter(quarter=quarter, department_id__in=ids)
    score = _score()
    # The sample sd from the mean of the squares (portable: SQLite's STDDEV_SAMP fails on one
    # value, where the interval is simply undefined).
    stats = {"n": Count("pk"), "mean": Avg(score), "mean_sq": Avg(score * score)}
    chain = (ratings.values("department_id")
             .annotate(**stats, **{f"item_{name}": Avg(name) for name in ITEM_FIELDS})
             .order_by("department_id"))
    result = {pk: DepartmentFigures(calc.satisfaction(n=0, mean=None, sd=None), {},
                                    dict.fromkeys(ITEM_FIELDS)) for pk in ids}
    for row in chain:
        figures = result[row["department_id"]]
        figures.chain = calc.satisfaction(
            n=row["n"], mean=row["mean"],
            sd=calc.sample_sd(n=row["n"], mean=row["mean"], mean_sq=row["mean_sq"]))
        figures.items = {name: None if row[f"item_{name}"] is None
                         else round(row[f"item_{name}"], 2) for name in ITEM_FIELDS}
    by_region = (ratings.values("department_id", "store__region_id").annotate(**stats)
                 .order_by("department_id", "store__region_id"))
    for row in by_region:
        result[row["department_id"]].regions[row["store__region_id"]] = calc.satisfaction(
            n=row["n"], mean=row["mean"],
            sd=calc.sample_sd(n=row["n"], mean=row["mean"], mean_sq=row["mean_sq"]))
    return result
