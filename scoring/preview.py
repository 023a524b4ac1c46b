"""A scheme's preview: what the last published quarter would give with a candidate scheme.

The rollup's own pieces do the work: ``loader.load`` reads the quarter's inputs as
``services.rollup_quarter`` does, and ``engine.compute`` computes them twice, with the
published revision's scheme and with the candidate. Both columns count the same inputs (as
they are now), so every difference between them is the scheme's; stores whose inputs changed
since publishing (late data, appeals) are counted apart (``late_stores``), since their "old"
column differs from the published value for that reason. Nothing is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from satisfaction.errors import ApplicationError
from satisfaction.models import Store
from scoring import engine, loader
from scoring.models import Rollup, RollupStatus, Scheme, StoreScore
from scoring.services import SCHEME_FIELDS

TOP_MOVERS = 10
# A store "moves" when its value changes by at least this many points.
MOVE_THRESHOLD = 1.0
# Values closer than this are the same (both show the same figure at two decimals).
SAME_VALUE = 0.005
PREVIEW_STEPS = 4


@dataclass(frozen=True)
class Mover:
    store_id: int
    code: str
    name: str
    old: float
    new: float

    @property
    def change(self) -> float:
        return self.new - self.old


@dataclass
class SchemePreview:
    """The comparison of the published revision's scheme with the candidate, over the same
    inputs: stores (and employees) with a value under both, their means, how many move by at
    least one point, the largest movers each way. Plain data, kept as JSON in the preview
    job's result (:meth:`as_json` / :meth:`from_json`)."""

    quarter: str
    revision: int
    scheme_version: int
    stores: int
    store_mean_old: float | None
    store_mean_new: float | None
    stores_moved: int
    up: list[Mover] = field(default_factory=list)
    down: list[Mover] = field(default_factory=list)
    employees: int = 0
    employee_mean_old: float | None = None
    employee_mean_new: float | None = None
    employees_moved: int = 0
    late_stores: int = 0
    seconds: float = 0.0

    @property
    def store_mean_change(self) -> float | None:
        return _difference(self.store_mean_old, self.store_mean_new)

    @property
    def employee_mean_change(self) -> float | None:
        return _difference(self.employee_mean_old, self.employee_mean_new)

    def as_json(self) -> dict:
        data = asdict(self)
        data["up"] = [asdict(m) for m in self.up]
        data["down"] = [asdict(m) for m in self.down]
        return data

    @classmethod
    def from_json(cls, data: dict) -> SchemePreview:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["up"] = [Mover(**m) for m in data.get("up", [])]
        values["down"] = [Mover(**m) for m in data.get("down", [])]
        return cls(**values)


def _difference(old: float | None, new: float | None) -> float | None:
    return None if old is None or new is None else new - old


def last_published_rollup() -> Rollup | None:
    """The published revision of the latest published quarter."""
    return (Rollup.objects.select_related("scheme").filter(status=RollupStatus.PUBLISHED)
            .order_by("-quarter").first())


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def _paired(old: pd.DataFrame, new: pd.DataFrame, key: str) -> pd.DataFrame:
    """old/new value per key, where both have a value."""
    both = pd.DataFrame({"old": old.set_index(key)["value"].astype("float64"),
                         "new": new.set_index(key)["value"].astype("float64")})
    return both.dropna()


def _movers(pairs: pd.DataFrame) -> tuple[list[Mover], list[Mover]]:
    """The largest rises and falls, largest first; equal changes in store order (id), so the
    lists are the same on every run. A change that shows as 0.00 is no move."""
    change = pairs["new"] - pairs["old"]
    frame = pd.DataFrame({"change": change.to_numpy(), "store_id": change.index.to_numpy()})
    ups = frame[frame["change"] > SAME_VALUE].sort_values(["change", "store_id"],
                                                           ascending=[False, True])
    downs = frame[frame["change"] < -SAME_VALUE].sort_values(["change", "store_id"])
    up_ids = [int(i) for i in ups["store_id"][:TOP_MOVERS]]
    down_ids = [int(i) for i in downs["store_id"][:TOP_MOVERS]]
    stores = {s.pk: s for s in Store.objects.filter(pk__in=up_ids + down_ids)
              .only("pk", "code", "name")}

    def mover(store_id: int) -> Mover:
        store = stores[store_id]
        return Mover(store_id=store_id, code=store.code, name=store.name,
                     old=float(pairs.loc[store_id, "old"]), new=float(pairs.loc[store_id, "new"]))

    return [mover(i) for i in up_ids], [mover(i) for i in down_ids]


def _late_stores(rollup: Rollup, recomputed: pd.DataFrame) -> int:
    """Stores whose value under the revision's own scheme is no longer the published one."""
    published = pd.DataFrame.from_records(
        StoreScore.objects.filter(rollup=rollup).values_list("store_id", "value").iterator(
            chunk_size=5000), columns=["store_id", "published"]).set_index("store_id")
    now = recomputed.set_index("store_id")["value"].astype("float64")
    joined = published.join(now.rename("now"), how="outer")
    a = joined["published"].astype("float64").to_numpy()
    b = joined["now"].to_numpy()
    same = (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= SAME_VALUE)
    return int((~same).sum())


def scheme_preview(*, candidate: engine.SchemeParams, rollup: Rollup | None = None,
                   data: engine.EngineInput | None = None,
                   progress: Callable[[int, int], None] | None = None) -> SchemePreview | None:
    """The last published quarter (or ``rollup``) recomputed with ``candidate`` beside its own
    scheme; None when no quarter is published. ``data`` lets tests pass the frames; otherwise
    the quarter's inputs are loaded as the rollup loads them. ``progress(done, total)`` is told
    of each of the four steps (load, the two computations, the comparison)."""
    started = time.perf_counter()

    def step(done: int) -> None:
        if progress is not None:
            progress(done, PREVIEW_STEPS)

    rollup = rollup or last_published_rollup()
    if rollup is None:
        return None
    step(0)
    if data is None:
        data = loader.load(quarter=rollup.quarter, weights=candidate.indicator_weights)
    step(1)
    old = engine.compute(data, rollup.scheme.to_params())
    step(2)
    new = engine.compute(data, candidate)
    step(3)
    stores = _paired(old.stores, new.stores, "store_id")
    employees = _paired(old.employees, new.employees, "employee_id")
    up, down = _movers(stores)
    return SchemePreview(
        quarter=str(rollup.quarter), revision=rollup.revision,
        scheme_version=rollup.scheme.version, stores=len(stores),
        store_mean_old=_mean(stores["old"]), store_mean_new=_mean(stores["new"]),
        stores_moved=int(((stores["new"] - stores["old"]).abs() >= MOVE_THRESHOLD).sum()),
        up=up, down=down, employees=len(employees),
        employee_mean_old=_mean(employees["old"]), employee_mean_new=_mean(employees["new"]),
        employees_moved=int(((employees["new"] - employees["old"]).abs()
                             >= MOVE_THRESHOLD).sum()),
        late_stores=_late_stores(rollup, old.stores),
        seconds=round(time.perf_counter() - started, 3))


def candidate_params(*, base: Scheme, values: dict) -> engine.SchemeParams:
    """The candidate scheme's numbers: ``base`` (the current version) with ``values`` over it,
    validated by the model as a saved version would be (``Scheme.clean``), never saved.
    Invalid: ``ApplicationError`` with the fields, as ``services.scheme_create_version``
    raises it."""
    unknown = set(values) - set(SCHEME_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown scheme fields: %(f)s") % {"f": ", ".join(unknown)})
    scheme = Scheme(**{f: getattr(base, f) for f in SCHEME_FIELDS} | values,
                    version=base.version + 1)
    try:
        scheme.full_clean(exclude=["version", "is_current"], validate_unique=False,
                          validate_constraints=False)
    except ValidationError as exc:
        raise ApplicationError(_("The scheme is not valid."), fields=exc.message_dict,
                               code="invalid_scheme") from exc
    return scheme.to_params()
