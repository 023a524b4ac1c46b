"""Factories for the chain's core. Domain apps keep theirs in ``tests/<app>/factories.py``."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from satisfaction.models import Employee, EmployeeRole, Region, Role, Store, User


class RegionFactory(DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"R{n:03d}")
    name = factory.Sequence(lambda n: f"区域{n}")


class StoreFactory(DjangoModelFactory):
    class Meta:
        model = Store

    code = factory.Sequence(lambda n: f"T{n:05d}")
    name = factory.Sequence(lambda n: f"测试{n}号店")
    region = factory.SubFactory(RegionFactory)
    city = "上海"
    address = "人民路1号"


class EmployeeFactory(DjangoModelFactory):
    class Meta:
        model = Employee

    number = factory.Sequence(lambda n: f"X{n:06d}")
    name = factory.Sequence(lambda n: f"员工{n}")
    store = factory.SubFactory(StoreFactory)
    role = EmployeeRole.CLERK


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.CLERK
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-2026")

    @factory.post_generation
    def regions(self, create, extracted, **kwargs):
        if create and extracted:
            self.regions.set(extracted)

    @factory.post_generation
    def departments(self, create, extracted, **kwargs):
        if create and extracted:
            self.departments.set(extracted)

    @factory.post_generation
    def stores(self, create, extracted, **kwargs):
        if create and extracted:
            self.stores.set(extracted)
        if create:
            self.save()


_RECEIPT_NUMBERS = iter(range(1, 10**9))


def make_receipt(store, *, at, member: str = "", amount: str = "20.00"):
    """One POS receipt of ``store`` at ``at`` (aware), of ``member`` (a member id, hashed as
    the POS service hashes it; empty: no member card)."""
    from decimal import Decimal

    from pos.models import PosTransaction
    from pos.services import member_hash

    return PosTransaction.objects.create(
        store=store, receipt_number=f"T{next(_RECEIPT_NUMBERS):08d}", occurred_at=at,
        amount=Decimal(amount), item_count=1, member_hash=member_hash(member) if member else "",
        received_at=at)


# --- The staff pulse (pulse/) --------------------------------------------------------------


def _ended_quarter():
    from satisfaction.quarters import Quarter

    return Quarter.current().previous()


class PulseResponseFactory(DjangoModelFactory):
    """An anonymous pulse answer; every statement ``answer`` (1–5) unless given one by one."""

    class Meta:
        model = "pulse.PulseResponse"

    class Params:
        answer = 4

    quarter = factory.LazyFunction(_ended_quarter)
    store = factory.SubFactory(StoreFactory)
    equipped = factory.SelfAttribute("answer")
    hq_support = factory.SelfAttribute("answer")
    recognition = factory.SelfAttribute("answer")
    pride = factory.SelfAttribute("answer")
    recommend = factory.SelfAttribute("answer")


def make_pulse(store, count: int, *, quarter=None, answer: int = 4, **fields) -> list:
    """``count`` pulse answers for ``store`` (by default in the last ended quarter)."""
    quarter = quarter or _ended_quarter()
    return PulseResponseFactory.create_batch(count, store=store, quarter=quarter, answer=answer,
                                             **fields)


# --- Internal customers: HQ departments, internal complaints and ratings ----------------------


def department(code: str = "logistics"):
    """One of the six default HQ departments (the data migration made them)."""
    from satisfaction.models import Department

    return Department.objects.get(code=code)


def make_department_rating(*, rater, department, quarter=None, store=None, answer: int = 4,
                           **answers):
    """A rating of ``department`` by ``rater`` (every item ``answer`` unless given), written
    directly (``internal_service.services.rating_save`` writes only the running quarter)."""
    from internal_service.models import ITEM_FIELDS, DepartmentRating
    from satisfaction.quarters import Quarter

    store = store or rater.stores.order_by("code").first()
    return DepartmentRating.objects.create(
        quarter=quarter or Quarter.current(), department=department, rater=rater, store=store,
        **{name: answers.get(name, answer) for name in ITEM_FIELDS})
