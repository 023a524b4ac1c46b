"""The one rule for which stores a user may see.

Every page and API query that touches store data goes through :func:`visible_stores` (or the
helpers built on it), so a store manager asking for another store's object gets a 404, never its
rows. The rule (docs/domain.md "Who uses it"):

- HQ customer relations and HR: every store (HR read-only: write permissions are separate);
- regional manager: the stores of their regions;
- store manager and clerk: their linked stores (and their employee record's store);
- mystery shopper: no store dashboards at all; their own visits are scoped by the visit's
  shopper in ``mystery_shopper``;
- HQ department head: no store at all; the departments they head (:func:`headed_departments`)
  scope what they see of internal complaints and the departments' figures;
- anonymous or inactive: nothing.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import router
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from satisfaction.compiled import Stand, bind, compile_once
from satisfaction.models import Department, Employee, Role, Store, User

M = TypeVar("M", bound=Model)

ALL_STORE_ROLES = frozenset({Role.HQ_ADMIN, Role.HR})


def sees_all_stores(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active
                and (user.is_superuser or user.role in ALL_STORE_ROLES))


def visible_stores(user: User) -> QuerySet[Store]:
    stores = Store.objects.all()
    if not (user.is_authenticated and user.is_active):
        return stores.none()
    if sees_all_stores(user):
        return stores
    # The links (user to region, user to store) are read from their own tables, not through
    # ``user.regions`` / ``user.stores``: those join back to the regions or stores and build a
    # related manager per call, a fifth of the store page's scope check.
    if user.role == Role.REGIONAL_MANAGER:
        return stores.filter(region__in=User.regions.through.objects.filter(user_id=user.pk)
                             .values("region_id"))
    if user.role in (Role.STORE_MANAGER, Role.CLERK):
        # Two key subqueries, not a join on the staff: no duplicate rows to remove with
        # DISTINCT (which would compare every column of every store row found).
        condition = Q(pk__in=User.stores.through.objects.filter(user_id=user.pk)
                      .values("store_id"))
        if user.employee_id:
            condition |= Q(pk__in=Employee.objects.filter(pk=user.employee_id)
                           .values("store_id"))
        return stores.filter(condition)
    return stores.none()


def visible_store_ids(user: User) -> QuerySet:
    """A subquery of store ids, for ``filter(store__in=...)`` without a join explosion."""
    return visible_stores(user).values("pk")


def scope_to_stores(queryset: QuerySet[M], user: User, store_field: str = "store") -> QuerySet[M]:
    """Restrict any queryset whose rows belong to a store to the stores ``user`` may see."""
    if sees_all_stores(user):
        return queryset
    return queryset.filter(**{f"{store_field}__in": visible_store_ids(user)})


# The statement of "the store with this code, if ``user`` may see it", per database alias and
# per shape of the rule: what ``visible_stores`` branches on (role, superuser, active, whether
# the user has an employee record). Its other inputs, the user's and employee's ids and the
# code, are parameters (satisfaction.compiled).
_store_by_code: dict = {}


def get_visible_store_or_404(user: User, *, code: object) -> Store:
    """The store with ``code`` if ``user`` may see it (``visible_stores``), else 404. Every
    page under a store asks this on each request: the statement is the ORM's, compiled once
    per shape of the rule (``satisfaction.compiled``)."""
    if code is None or not user.is_authenticated:  # an anonymous user has no shape: 404
        raise Http404
    alias = router.db_for_read(Store)
    # What visible_stores branches on; the stand-in user is built from it, so the key and the
    # statement cannot disagree.
    shape = (user.role, user.is_superuser, user.is_active, bool(user.employee_id))

    def build() -> QuerySet[Store]:
        role, is_superuser, is_active, has_employee = shape
        stand_in = User(pk=Stand.USER_ID, role=role, is_superuser=is_superuser,
                        is_active=is_active,
                        employee_id=Stand.EMPLOYEE_ID if has_employee else None)
        return visible_stores(stand_in).filter(code=Stand.CODE).order_by()

    statement = compile_once(_store_by_code, shape, alias, build)
    if statement is None:  # the rule gives this shape no store (inactive, shopper, …)
        raise Http404
    sql, template = statement
    params = bind(template, {Stand.USER_ID: user.pk, Stand.EMPLOYEE_ID: user.employee_id,
                             Stand.CODE: str(code)})
    found = list(Store.objects.db_manager(alias).raw(sql, params))
    if not found:
        raise Http404
    return found[0]


def get_scoped_or_404(queryset: QuerySet[M], user: User, store_field: str = "store",
                      **lookup) -> M:
    try:
        return scope_to_stores(queryset, user, store_field).get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404 from None


def headed_departments(user: User) -> QuerySet[Department]:
    """The HQ departments whose internal complaints and figures ``user`` answers for: every
    department for HQ (and a superuser), their own for a department head, none otherwise."""
    departments = Department.objects.all()
    if not (user.is_authenticated and user.is_active):
        return departments.none()
    if user.is_superuser or user.role == Role.HQ_ADMIN:
        return departments
    if user.role == Role.DEPARTMENT_HEAD:
        return departments.filter(pk__in=user.departments.all())
    return departments.none()
