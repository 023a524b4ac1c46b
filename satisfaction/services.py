"""Write operations on the chain's core. The only functions here that change data."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from satisfaction import rules
from satisfaction.errors import ApplicationError
from satisfaction.history import attribute
from satisfaction.models import (
    CODE_PATTERN,
    CODE_RULE,
    AppealWindow,
    AppealWindowKind,
    Employee,
    EmployeeRole,
    Region,
    Role,
    Store,
    User,
)
from satisfaction.tabular import RowErrors, Table, parse_bool, parse_date, read_tables

STORE_COLUMNS_REQUIRED = ("store_code", "store_name", "region_code", "city")
EMPLOYEE_COLUMNS_REQUIRED = ("employee_number", "employee_name", "store_code", "role")

# English and Chinese headers a chain file may use, to the canonical column names.
HEADER_ALIASES = {
    "门店编码": "store_code", "门店代码": "store_code", "code": "store_code",
    "门店名称": "store_name", "store": "store_name",
    "区域编码": "region_code", "区域代码": "region_code", "region": "region_code",
    "区域名称": "region_name", "区域": "region_name",
    "城市": "city", "地址": "address",
    "开业日期": "opened_on", "opened": "opened_on", "闭店日期": "closed_on", "closed": "closed_on",
    "是否营业": "active", "在营": "active", "is_active": "active",
    "工号": "employee_number", "员工编号": "employee_number", "number": "employee_number",
    "姓名": "employee_name", "员工姓名": "employee_name",
    "岗位": "role", "角色": "role",
    "入职日期": "hired_on", "hired": "hired_on", "离职日期": "left_on", "left": "left_on",
}
_ROLE_WORDS = {
    "clerk": EmployeeRole.CLERK, "店员": EmployeeRole.CLERK, "营业员": EmployeeRole.CLERK,
    "pharmacist": EmployeeRole.PHARMACIST, "药师": EmployeeRole.PHARMACIST,
    "执业药师": EmployeeRole.PHARMACIST,
    "store_manager": EmployeeRole.STORE_MANAGER, "store manager": EmployeeRole.STORE_MANAGER,
    "manager": EmployeeRole.STORE_MANAGER, "店长": EmployeeRole.STORE_MANAGER,
}


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ChainImportResult:
    regions: ImportCounts = field(default_factory=ImportCounts)
    stores: ImportCounts = field(default_factory=ImportCounts)
    employees: ImportCounts = field(default_factory=ImportCounts)

    def summary(self) -> str:
        return _(
            "Regions: %(rc)d created. Stores: %(sc)d created, %(su)d updated, %(sn)d unchanged. "
            "Employees: %(ec)d created, %(eu)d updated, %(en)d unchanged."
        ) % {
            "rc": self.regions.created,
            "sc": self.stores.created, "su": self.stores.updated, "sn": self.stores.unchanged,
            "ec": self.employees.created, "eu": self.employees.updated,
            "en": self.employees.unchanged,
        }


def _text(row: dict, column: str) -> str:
    value = row.get(column, "")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel turns codes like 1001 into 1001.0
    return str(value).strip()


def _check_code(table: Table, number: int, column: str, value: str,
                errors: RowErrors) -> None:
    """A store code or employee number: required, and ``CODE_PATTERN`` (it is part of URLs)."""
    if not value:
        errors.add(table.name, number, column, _("this field is required"))
    elif not CODE_PATTERN.match(value):
        errors.add(table.name, number, column,
                   _("%(value)s is not a valid code: use %(rule)s")
                   % {"value": value[:40], "rule": CODE_RULE})


def _check_lengths(table: Table, number: int, row: dict, errors: RowErrors,
                   limits: dict[str, int]) -> None:
    """Text longer than its database column (PostgreSQL would refuse the whole import)."""
    for column, limit in limits.items():
        if len(_text(row, column)) > limit:
            errors.add(table.name, number, column,
                       _("at most %(n)d characters") % {"n": limit})


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length  # noqa: SLF001  (model metadata API)


# The longest value of each imported text column: its model field's max_length.
STORE_LIMITS = {"store_name": _max_length(Store, "name"), "city": _max_length(Store, "city"),
                "address": _max_length(Store, "address"),
                "region_code": _max_length(Region, "code"),
                "region_name": _max_length(Region, "name")}
EMPLOYEE_LIMITS = {"employee_name": _max_length(Employee, "name")}


def _classify(table: Table) -> str | None:
    headers = set(table.headers)
    if "employee_number" in headers:
        return "employees"
    if "store_code" in headers and "store_name" in headers:
        return "stores"
    return None


def _read_dates_and_active(table: Table, number: int, row: dict, record: dict,
                           errors: RowErrors, *, start: str, end: str) -> None:
    """The start and end dates of a store or employee, and ``active``: by default, active
    unless it has an end date (closed / left)."""
    for column in (start, end):
        try:
            record[column] = parse_date(row.get(column, ""))
        except ValueError:
            errors.add(table.name, number, column, _("not a date (use YYYY-MM-DD)"))
    try:
        record["is_active"] = parse_bool(row.get("active", ""), default=not record.get(end))
    except ValueError:
        errors.add(table.name, number, "active", _("use yes/no or 1/0"))


def _validate_stores(table: Table, errors: RowErrors, regions: dict[str, Region],
                     new_regions: dict[str, str]) -> dict[str, dict]:
    records: dict[str, dict] = {}
    for column in STORE_COLUMNS_REQUIRED:
        if column not in table.headers:
            errors.add(table.name, 1, column, _("required column is missing"))
    if errors:
        return records
    for number, row in table.rows:
        code = _text(row, "store_code")
        _check_code(table, number, "store_code", code, errors)
        _check_lengths(table, number, row, errors, STORE_LIMITS)
        record: dict = {"code": code}
        for column, key in (("store_name", "name"), ("city", "city"), ("region_code", "region")):
            value = _text(row, column)
            if not value:
                errors.add(table.name, number, column, _("this field is required"))
            record[key] = value
        if code and code in records:
            errors.add(table.name, number, "store_code",
                       _("store code %(code)s appears twice in the file") % {"code": code})
        region_code = record["region"]
        if region_code and region_code not in regions:
            region_name = _text(row, "region_name")
            if region_name:
                new_regions.setdefault(region_code, region_name)
            elif region_code not in new_regions:
                errors.add(table.name, number, "region_name",
                           _("region %(code)s is new: give its name") % {"code": region_code})
        record["address"] = _text(row, "address")
        _read_dates_and_active(table, number, row, record, errors,
                               start="opened_on", end="closed_on")
        records[code] = record
    return records


def _validate_employees(table: Table, errors: RowErrors, known_store_codes: set[str]
                        ) -> dict[str, dict]:
    records: dict[str, dict] = {}
    for column in EMPLOYEE_COLUMNS_REQUIRED:
        if column not in table.headers:
            errors.add(table.name, 1, column, _("required column is missing"))
    if errors:
        return records
    for number, row in table.rows:
        emp_number = _text(row, "employee_number")
        _check_code(table, number, "employee_number", emp_number, errors)
        _check_lengths(table, number, row, errors, EMPLOYEE_LIMITS)
        record: dict = {"number": emp_number}
        for column, key in (("employee_name", "name"), ("store_code", "store")):
            value = _text(row, column)
            if not value:
                errors.add(table.name, number, column, _("this field is required"))
            record[key] = value
        if emp_number and emp_number in records:
            errors.add(table.name, number, "employee_number",
                       _("employee number %(n)s appears twice in the file") % {"n": emp_number})
        if record["store"] and record["store"] not in known_store_codes:
            errors.add(table.name, number, "store_code",
                       _("unknown store %(code)s") % {"code": record["store"]})
        role_word = _text(row, "role").lower()
        record["role"] = _ROLE_WORDS.get(role_word)
        if record["role"] is None:
            errors.add(table.name, number, "role",
                       _("unknown role %(role)s (clerk, pharmacist, store_manager)")
                       % {"role": role_word})
        _read_dates_and_active(table, number, row, record, errors,
                               start="hired_on", end="left_on")
        records[emp_number] = record
    return records


def _upsert(model, key: str, records: dict[str, dict], fields: list[str],
            counts: ImportCounts) -> None:
    existing = model.objects.in_bulk(list(records), field_name=key)
    to_create, to_update = [], []
    for record_key, values in records.items():
        current = existing.get(record_key)
        if current is None:
            to_create.append(model(**{key: record_key}, **{f: values[f] for f in fields}))
            continue
        changed = False
        for f in fields:
            if getattr(current, f) != values[f]:
                setattr(current, f, values[f])
                changed = True
        if changed:
            to_update.append(current)
        else:
            counts.unchanged += 1
    model.objects.bulk_create(to_create, batch_size=1000)
    model.objects.bulk_update(to_update, fields, batch_size=1000)
    counts.created += len(to_create)
    counts.updated += len(to_update)


def chain_import(*, file_name: str, content: bytes) -> ChainImportResult:
    """Load stores and employees from a CSV or XLSX file, all or nothing.

    Every row is validated before anything is written; a file with any bad row raises
    ``ApplicationError`` listing each error by sheet, row and column, and changes nothing.
    Rows are upserted by store code and employee number, so importing the same file again
    changes nothing. An XLSX file may carry a stores sheet, an employees sheet, or both; a CSV
    file is one of the two, told apart by its headers.
    """
    tables = read_tables(file_name, content, HEADER_ALIASES)
    errors = RowErrors()
    store_tables = [t for t in tables if _classify(t) == "stores"]
    employee_tables = [t for t in tables if _classify(t) == "employees"]
    if not store_tables and not employee_tables:
        errors.add(tables[0].name if tables else file_name, 1, "",
                   _("no store or employee columns found (store_code, store_name / "
                     "employee_number, employee_name)"))
        errors.raise_if_any(_("Nothing was imported."))

    regions = Region.objects.in_bulk(field_name="code")
    new_regions: dict[str, str] = {}
    store_records: dict[str, dict] = {}
    for table in store_tables:
        store_records.update(_validate_stores(table, errors, regions, new_regions))
    known_codes = set(store_records) | set(Store.objects.values_list("code", flat=True))
    employee_records: dict[str, dict] = {}
    for table in employee_tables:
        employee_records.update(_validate_employees(table, errors, known_codes))
    errors.raise_if_any(_("Nothing was imported: fix these rows and upload the file again."))

    result = ChainImportResult()
    with transaction.atomic():
        if new_regions:
            Region.objects.bulk_create([Region(code=c, name=n) for c, n in new_regions.items()])
            result.regions.created = len(new_regions)
            regions = Region.objects.in_bulk(field_name="code")
        for record in store_records.values():
            record["region"] = regions[record["region"]]
        _upsert(Store, "code", store_records,
                ["name", "region", "city", "address", "opened_on", "closed_on", "is_active"],
                result.stores)
        if employee_records:
            stores = Store.objects.in_bulk(
                {r["store"] for r in employee_records.values()}, field_name="code")
            for record in employee_records.values():
                record["store"] = stores[record["store"]]
            _upsert(Employee, "number", employee_records,
                    ["name", "store", "role", "hired_on", "left_on", "is_active"],
                    result.employees)
    return result


def user_create(*, username: str, password: str | None, role: str, email: str = "",
                first_name: str = "", regions: list[Region] | None = None,
                stores: list[Store] | None = None, employee: Employee | None = None) -> User:
    """Create a login with its role and the regions or stores it may see."""
    with transaction.atomic():
        user = User(username=username, role=Role(role), email=email, first_name=first_name,
                    employee=employee, is_staff=role == Role.HQ_ADMIN)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        if regions:
            user.regions.set(regions)
        if stores:
            user.stores.set(stores)
    return user


# --- Appeal windows ---------------------------------------------------------------------------

MAX_APPEAL_DAYS = 365


def appeal_window_validate(*, kind: str, days: int) -> None:
    """A window is 1 to 365 days of a known kind (0 would close appeals before they open)."""
    errors: dict[str, list[str]] = {}
    if kind not in AppealWindowKind.values:
        errors["kind"] = [_("Choose what is appealed.")]
    if not 1 <= days <= MAX_APPEAL_DAYS:
        errors["days"] = [_("Between 1 and %(max)s days.") % {"max": MAX_APPEAL_DAYS}]
    if errors:
        raise ApplicationError(_("The appeal window has invalid fields."), fields=errors)


@transaction.atomic
def appeal_window_set(*, kind: str, days: int, user: User) -> AppealWindow:
    """HQ sets how many days a decision of ``kind`` may be appealed; the apps read it through
    ``satisfaction.selectors.appeal_window_days`` at the moment of the appeal."""
    if not rules.is_hq(user):
        raise ApplicationError(_("Only HQ may change the appeal windows."), code="forbidden",
                               status=403)
    appeal_window_validate(kind=kind, days=days)
    window = (AppealWindow.objects.select_for_update().filter(kind=kind).first()
              or AppealWindow(kind=kind))
    window.days = days
    attribute(window, user=user)  # its history names the user (updated_by), in a request or not
    window.save()
    return window
