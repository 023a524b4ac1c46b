"""Demo: roll up what the other apps seeded: the previous quarter published, the current one
provisional (seed_demo runs this last).

The previous quarter is the one HR exports (only published quarters are), so it gets a sample
survey like a real quarter before it is rolled up: the surveys demo seeds only the running
campaign, and a quarter without one gave every employee "warm service / efficacy / price: no
data" and every store "no sample survey".
"""

from __future__ import annotations

from satisfaction.demo import DemoChain
from satisfaction.errors import ApplicationError
from satisfaction.quarters import Quarter
from scoring.models import AppraisalPoints
from scoring.services import quarter_publish, rollup_quarter
from surveys import demo as survey_demo


def seed(*, chain: DemoChain) -> str:
    current = Quarter.containing(chain.today)
    previous = current.previous()
    hq = chain.users["hq"]
    lines = [f"{previous} sample survey: {survey_demo.seed(chain=chain, quarter=previous)}"]
    rollup_quarter(quarter=previous, user=hq)
    try:
        rollup = quarter_publish(quarter=previous, user=hq)
        lines.append(f"{previous} published (r{rollup.revision})")
    except ApplicationError as exc:
        lines.append(f"{previous} provisional ({exc.code})")
    outcome = rollup_quarter(quarter=current, user=hq)
    lines.append(f"{current} provisional: {outcome.stores} stores, "
                 f"{outcome.employees} employees")
    AppraisalPoints.objects.bulk_create([
        AppraisalPoints(employee=employee, quarter=previous,
                        financial_points=round(chain.rng.uniform(30, 50), 1),
                        other_points=round(chain.rng.uniform(10, 20), 1),
                        imported_by=chain.users["hr"])
        for employee in chain.employees])
    lines.append(f"appraisal points of {previous} for {len(chain.employees)} employees")
    return "; ".join(lines)
