"""The demo chain: 3 regions, 30 stores, about 200 employees and the demo logins.

Deterministic for a given ``seed``. Each app adds its own demo data in ``<app>/demo.py`` with a
function ``seed(*, chain: DemoChain) -> str``; the ``seed_demo`` command runs them in order
after :func:`build_chain`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from satisfaction.models import Department, Employee, EmployeeRole, Region, Role, Store, User
from satisfaction.services import user_create

REGIONS = [
    ("EAST", "华东区", ["上海", "杭州", "南京", "苏州"]),
    ("SOUTH", "华南区", ["广州", "深圳", "东莞"]),
    ("NORTH", "华北区", ["北京", "天津", "石家庄"]),
]
STORE_NAME_PARTS = ["人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "长江路", "东风路",
                    "胜利路", "文化路", "光明路", "朝阳路", "青年路", "幸福路", "振兴路"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜"
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
         "鹏辉建国晓燕文博婷雪梅宇浩然欣怡子轩")


@dataclass
class DemoChain:
    rng: random.Random
    password: str
    today: date
    regions: list[Region] = field(default_factory=list)
    stores: list[Store] = field(default_factory=list)
    employees: list[Employee] = field(default_factory=list)
    users: dict[str, User] = field(default_factory=dict)

    def staff_of(self, store: Store) -> list[Employee]:
        return [e for e in self.employees if e.store_id == store.pk]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def build_chain(*, seed: int, password: str, today: date) -> DemoChain:
    rng = random.Random(seed)
    chain = DemoChain(rng=rng, password=password, today=today)
    store_number = 0
    employee_number = 0
    for code, name, cities in REGIONS:
        region = Region.objects.create(code=code, name=name)
        chain.regions.append(region)
        for _position in range(10):
            store_number += 1
            city = cities[(store_number - 1) % len(cities)]
            street = STORE_NAME_PARTS[rng.randrange(len(STORE_NAME_PARTS))]
            store = Store.objects.create(
                code=f"S{store_number:04d}", name=f"{city}{street}店", region=region, city=city,
                address=f"{city}市{street}{rng.randint(1, 999)}号",
                opened_on=today - timedelta(days=rng.randint(400, 4000)))
            chain.stores.append(store)
            roles = ([EmployeeRole.STORE_MANAGER] + [EmployeeRole.PHARMACIST] * rng.choice((1, 2))
                     + [EmployeeRole.CLERK] * rng.randint(3, 5))
            for role in roles:
                employee_number += 1
                chain.employees.append(Employee(
                    number=f"E{employee_number:05d}", name=_name(rng), store=store, role=role,
                    hired_on=today - timedelta(days=rng.randint(30, 3000))))
    Employee.objects.bulk_create(chain.employees)
    chain.employees = list(Employee.objects.order_by("number"))

    first_store = chain.stores[0]
    manager = next(e for e in chain.staff_of(first_store) if e.role == EmployeeRole.STORE_MANAGER)
    clerk = next(e for e in chain.staff_of(first_store) if e.role == EmployeeRole.CLERK)
    chain.users["hq"] = user_create(username="hq", password=password, role=Role.HQ_ADMIN,
                                    first_name="客户关系部", email="hq@example.com")
    chain.users["hq"].is_superuser = True
    chain.users["hq"].save(update_fields=["is_superuser"])
    for index, region in enumerate(chain.regions, start=1):
        chain.users[f"region{index}"] = user_create(
            username=f"region{index}", password=password, role=Role.REGIONAL_MANAGER,
            first_name=f"{region.name}经理", regions=[region])
    for index, store in enumerate(chain.stores[:3], start=1):
        store_manager = next(e for e in chain.staff_of(store)
                             if e.role == EmployeeRole.STORE_MANAGER)
        chain.users[f"store{index}"] = user_create(
            username=f"store{index}", password=password, role=Role.STORE_MANAGER,
            first_name=store_manager.name, stores=[store], employee=store_manager)
    assert chain.users["store1"].employee == manager
    chain.users["clerk1"] = user_create(username="clerk1", password=password, role=Role.CLERK,
                                        first_name=clerk.name, stores=[first_store],
                                        employee=clerk)
    for index in (1, 2, 3):
        chain.users[f"shopper{index}"] = user_create(
            username=f"shopper{index}", password=password, role=Role.MYSTERY_SHOPPER,
            first_name=f"神秘顾客{index}")
    chain.users["hr"] = user_create(username="hr", password=password, role=Role.HR,
                                    first_name="人力资源部")
    for department in Department.objects.filter(is_active=True):
        # One head per HQ department (dept-logistics, dept-it, ...): internal complaints get
        # an owner at once (complaints.services.internal_owner).
        head = user_create(username=f"dept-{department.code}", password=password,
                           role=Role.DEPARTMENT_HEAD, first_name=f"{department.name_zh}负责人")
        head.departments.set([department])
        chain.users[head.username] = head
    return chain


def store_manager_user(chain: DemoChain, store: Store) -> User:
    """The login of ``store``'s manager: the demo login for the first three stores, else one
    made here without a password (it answers the internal satisfaction questionnaire and files
    internal complaints in the demo, nobody logs in with it)."""
    existing = User.objects.filter(role=Role.STORE_MANAGER, stores=store).order_by("pk").first()
    if existing is not None:
        return existing
    manager = next(e for e in chain.staff_of(store) if e.role == EmployeeRole.STORE_MANAGER)
    return user_create(username=f"manager-{store.code}", password=None,
                       role=Role.STORE_MANAGER, first_name=manager.name, stores=[store],
                       employee=manager)


DEMO_LOGINS = [
    ("hq", "HQ customer relations (also Django admin)"),
    ("region1", "regional manager of 华东区"),
    ("store1", "store manager of S0001"),
    ("clerk1", "clerk at S0001"),
    ("shopper1", "mystery shopper"),
    ("hr", "HR"),
    ("dept-logistics", ("HQ department head: logistics / replenishment (dept-it, dept-pricing, "
                        "... for the others)")),
]


@dataclass(frozen=True)
class CustomerLink:
    store_code: str | None
    label: str
    path: str


def customer_links(*, stores: int = 3) -> list[CustomerLink]:
    """The pages a customer opens without logging in, for the first few active stores: the
    counter QR questionnaire and the complaint form of each, and the ticket status check.

    What ``seed_demo`` prints and what the login page lists when ``DEBUG`` is on, so someone
    trying the demo finds the customer's side of the product."""
    codes = Store.objects.filter(is_active=True).order_by("code").values_list("code", flat=True)
    links = []
    for code in codes[:stores]:
        links.append(CustomerLink(code, _("Questionnaire (counter QR code)"),
                                  reverse("surveys_public:store", args=[code])))
        links.append(CustomerLink(code, _("Complaint form"),
                                  reverse("complaints_public:complain", args=[code])))
    links.append(CustomerLink(None, _("Complaint status check"),
                              reverse("complaints_public:ticket")))
    return links
