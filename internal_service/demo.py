"""Demo ratings: this quarter's and last quarter's ratings of every HQ department by the
managers of most stores (every region) and by S0001's clerk; logistics rated lowest, training
highest, so HQ's page has something to say."""

from __future__ import annotations

from satisfaction.demo import DemoChain, store_manager_user
from satisfaction.models import Department
from satisfaction.quarters import Quarter

from . import services
from .models import ITEM_FIELDS, DepartmentRating

# Each department's typical answer (1-5): the demo's story.
LEVEL = {"logistics": 2.6, "merchandising": 3.4, "pricing": 3.2, "it": 3.6, "hr": 3.5,
         "training": 4.2}
COMMENTS = {"logistics": "补货周期太长，希望缩短到两天内", "it": "系统稳定性有提升",
            "training": "培训内容实用，希望增加用药咨询案例"}


def seed(*, chain: DemoChain) -> str:
    rng = chain.rng
    departments = list(Department.objects.filter(is_active=True))
    raters = [store_manager_user(chain, store) for store in chain.stores
              if rng.random() < 0.8]
    if "clerk1" in chain.users:
        raters.append(chain.users["clerk1"])
    for rater in raters:
        for department in departments:
            level = LEVEL.get(department.code, 3.5)
            answers = {name: max(1, min(5, round(rng.gauss(level, 0.8))))
                       for name in ITEM_FIELDS}
            services.rating_save(user=rater, department=department, answers=answers,
                                 comment=COMMENTS.get(department.code, "")
                                 if rng.random() < 0.2 else "")
    # Last quarter's, for the quarter picker (written as they were then: a closed quarter).
    previous = Quarter.current().previous()
    last = [DepartmentRating(quarter=previous, department=rating.department,
                             rater=rating.rater, store=rating.store,
                             **{name: max(1, min(5, getattr(rating, name) + rng.choice((-1, 0))))
                                for name in ITEM_FIELDS})
            for rating in DepartmentRating.objects.filter(quarter=Quarter.current())
            .select_related("department")]
    DepartmentRating.objects.bulk_create(last, ignore_conflicts=True)
    return (f"{DepartmentRating.objects.count()} ratings of {len(departments)} HQ departments "
            f"by {len(raters)} store staff")
