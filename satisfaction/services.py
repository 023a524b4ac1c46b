"""Write operations on the chain's core. The only functions here that change data."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from satisfaction import rules
from satisfaction.errors import ApplicationError
from satisfaction.history import attribute
from satisfaction.models import (
    CODE_PATTERN,
    CODE_RULE,
    DEFAULT_APPEAL_DAYS,
    AppealWindow,
    AppealWindowKind,
    Employee,
    EmployeeRole,
    Region,
    Role,
    Store,
    User,
)
from satisfaction.tabular import (
    RowErrors,
    Table,
    TemplateColumn,
    parse_bool,
    parse_date,
    read_tables,
    template_aliases,
)

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
STORE_TEMPLATE = [
    TemplateColumn("store_code", gettext_lazy("Store code"), "S0001",
                   gettext_lazy("1-32 letters, digits, '-', '_' or '.'"), required=True),
    TemplateColumn("store_name", gettext_lazy("Store name"), "人民路店", required=True),
    TemplateColumn("region_code", gettext_lazy("Region code"), "EAST", required=True),
    TemplateColumn("region_name", gettext_lazy("Region name"), "华东区",
                   gettext_lazy("Needed only for a region that does not exist yet.")),
    TemplateColumn("city", gettext_lazy("City"), "上海", required=True),
    TemplateColumn("address", gettext_lazy("Address"), "人民路 1 号"),
    TemplateColumn("opened_on", gettext_lazy("Opened on"), "2020-01-15",
                   gettext_lazy("A date: YYYY-MM-DD")),
    TemplateColumn("closed_on", gettext_lazy("Closed on"), "",
                   gettext_lazy("A date: YYYY-MM-DD; a store with a closing date is inactive")),
    TemplateColumn("active", pgettext_lazy("store", "Active"), "是",
                   gettext_lazy("yes/no or 1/0")),
]
EMPLOYEE_TEMPLATE = [
    TemplateColumn("employee_number", gettext_lazy("Employee number"), "E0001", required=True),
    TemplateColumn("employee_name", gettext_lazy("Employee name"), "张三", required=True),
    TemplateColumn("store_code", gettext_lazy("Store code"), "S0001", required=True),
    TemplateColumn("role", gettext_lazy("Role"), "店员",
                   gettext_lazy("clerk / pharmacist / store_manager (店员 / 药师 / 店长)"),
                   required=True),
    TemplateColumn("hired_on", gettext_lazy("Hired on"), "2024-03-01",
                   gettext_lazy("A date: YYYY-MM-DD")),
    TemplateColumn("left_on", gettext_lazy("Left on"), "",
                   gettext_lazy("A date: YYYY-MM-DD; an employee who left is inactive")),
    TemplateColumn("active", pgettext_lazy("employee", "Active"), "是",
                   gettext_lazy("yes/no or 1/0")),
]


@functools.cache
def chain_header_aliases() -> dict[str, str]:
    """``HEADER_ALIASES`` and the template's headers in every language of the site (the
    import reads back the template it hands out, whatever the user's language)."""
    return HEADER_ALIASES | template_aliases(STORE_TEMPLATE + EMPLOYEE_TEMPLATE,
                                             [code for code, _name in settings.LANGUAGES])


def _column_header(column: str) -> str:
    """A column's header as the template names it in the user's language (for a missing one)."""
    for template_column in STORE_TEMPLATE + EMPLOYEE_TEMPLATE:
        if template_column.key == column:
            return str(template_column.header)
    return column


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
    preview: list[list[str]] = field(default_factory=list)

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
        errors.add(table, number, column, _("this field is required"))
    elif not CODE_PATTERN.match(value):
        errors.add(table, number, column,
                   _("%(value)s is not a valid code: use %(rule)s")
                   % {"value": value[:40], "rule": CODE_RULE})


def _check_lengths(table: Table, number: int, row: dict, errors: RowErrors,
                   limits: dict[str, int]) -> None:
    """Text longer than its database column (PostgreSQL would refuse the whole import)."""
    for column, limit in limits.items():
        if len(_text(row, column)) > limit:
            errors.add(table, number, column,
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
            errors.add(table, number, column, _("not a date (use YYYY-MM-DD)"))
    try:
        record["is_active"] = parse_bool(row.get("active", ""), default=not record.get(end))
    except ValueError:
        errors.add(table, number, "active", _("use yes/no or 1/0"))


def _validate_stores(table: Table, errors: RowErrors, regions: dict[str, int],
                     new_regions: dict[str, str]) -> dict[str, dict]:
    records: dict[str, dict] = {}
    for column in STORE_COLUMNS_REQUIRED:
        if column not in table.headers:
            errors.add(table, 1, _column_header(column), _("required column is missing"))
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
                errors.add(table, number, column, _("this field is required"))
            record[key] = value
        if code and code in records:
            errors.add(table, number, "store_code",
                       _("store code %(code)s appears twice in the file") % {"code": code})
        region_code = record["region"]
        if region_code and region_code not in regions:
            region_name = _text(row, "region_name")
            if region_name:
                new_regions.setdefault(region_code, region_name)
            elif region_code not in new_regions:
                errors.add(table, number, "region_name",
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
            errors.add(table, 1, _column_header(column), _("required column is missing"))
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
                errors.add(table, number, column, _("this field is required"))
            record[key] = value
        if emp_number and emp_number in records:
            errors.add(table, number, "employee_number",
                       _("employee number %(n)s appears twice in the file") % {"n": emp_number})
        if record["store"] and record["store"] not in known_store_codes:
            errors.add(table, number, "store_code",
                       _("unknown store %(code)s") % {"code": record["store"]})
        role_word = _text(row, "role").lower()
        record["role"] = _ROLE_WORDS.get(role_word)
        if record["role"] is None:
            errors.add(table, number, "role",
                       _("unknown role %(role)s (clerk, pharmacist, store_manager)")
                       % {"role": role_word})
        _read_dates_and_active(table, number, row, record, errors,
                               start="hired_on", end="left_on")
        records[emp_number] = record
    return records


def _plan(model, key: str, records: dict[str, dict], fields: list[str], counts: ImportCounts,
          ) -> tuple[list, list]:
    """The rows of ``model`` to create and to update for ``records`` (by ``key``), counting
    each kind; ``fields`` are attribute names (``region_id``), so no related row is loaded."""
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
    counts.created += len(to_create)
    counts.updated += len(to_update)
    return to_create, to_update


def _save_plan(model, fields: list[str], to_create: list, to_update: list) -> None:
    model.objects.bulk_create(to_create, batch_size=1000)
    model.objects.bulk_update(to_update, fields, batch_size=1000)


STORE_FIELDS = ["name", "region_id", "city", "address", "opened_on", "closed_on", "is_active"]
EMPLOYEE_FIELDS = ["name", "store_id", "role", "hired_on", "left_on", "is_active"]
PREVIEW_ROWS = 200


def chain_import(*, file_name: str, content: bytes, dry_run: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> ChainImportResult:
    """Load stores and employees from a CSV or XLSX file, all or nothing.

    Every row is validated before anything is written; a file with any bad row raises
    ``ApplicationError`` listing each bad cell by sheet, row and the header the file used,
    and changes nothing. Rows are upserted by store code and employee number, so importing the
    same file again changes nothing. An XLSX file may carry a stores sheet, an employees sheet,
    or both; a CSV file is one of the two, told apart by its headers. A ``dry_run`` validates
    and counts what would be created, updated and left unchanged, and writes nothing.
    """
    report = progress or (lambda done, total: None)
    report(0, 4)
    tables = read_tables(file_name, content, chain_header_aliases())
    errors = RowErrors()
    store_tables = [t for t in tables if _classify(t) == "stores"]
    employee_tables = [t for t in tables if _classify(t) == "employees"]
    if not store_tables and not employee_tables:
        errors.add(tables[0].name if tables else file_name, 1, "",
                   _("no store or employee columns found (%(store)s, %(name)s / "
                     "%(number)s, %(employee)s)") % {
                       "store": _column_header("store_code"), "name": _column_header("store_name"),
                       "number": _column_header("employee_number"),
                       "employee": _column_header("employee_name")})
        errors.raise_if_any(_("Nothing was imported."))
    report(1, 4)

    regions = dict(Region.objects.values_list("code", "pk"))
    new_regions: dict[str, str] = {}
    store_records: dict[str, dict] = {}
    for table in store_tables:
        store_records.update(_validate_stores(table, errors, regions, new_regions))
    known_codes = set(store_records) | set(Store.objects.values_list("code", flat=True))
    employee_records: dict[str, dict] = {}
    for table in employee_tables:
        employee_records.update(_validate_employees(table, errors, known_codes))
    errors.raise_if_any(_("Nothing was imported: fix these rows and upload the file again."))
    report(2, 4)

    result = ChainImportResult()
    with transaction.atomic():
        result.regions.created = len(new_regions)
        if new_regions and not dry_run:
            Region.objects.bulk_create([Region(code=c, name=n) for c, n in new_regions.items()])
            regions = dict(Region.objects.values_list("code", "pk"))
        for record in store_records.values():
            record["region_id"] = regions.get(record.pop("region"))  # None: new in a dry run
        store_plan = _plan(Store, "code", store_records, STORE_FIELDS, result.stores)
        if not dry_run:
            _save_plan(Store, STORE_FIELDS, *store_plan)
        report(3, 4)
        employee_plan: tuple[list, list] = ([], [])
        if employee_records:
            stores = dict(Store.objects.filter(code__in={r["store"] for r in
                                                        employee_records.values()})
                          .values_list("code", "pk"))
            for record in employee_records.values():
                record["store_id"] = stores.get(record.pop("store"))
            employee_plan = _plan(Employee, "number", employee_records, EMPLOYEE_FIELDS,
                                  result.employees)
            if not dry_run:
                _save_plan(Employee, EMPLOYEE_FIELDS, *employee_plan)
        report(4, 4)
    result.preview = _preview(store_plan, employee_plan)
    return result


def _preview(store_plan: tuple[list, list], employee_plan: tuple[list, list]) -> list[list[str]]:
    """The first rows an import creates or changes, for the dry run's page."""
    rows = []
    for label, (created, updated), key in ((_("Store"), store_plan, "code"),
                                           (_("Employee"), employee_plan, "number")):
        rows += [[label, _("create"), getattr(row, key), row.name] for row in created]
        rows += [[label, _("update"), getattr(row, key), row.name] for row in updated]
    return rows[:PREVIEW_ROWS]


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


@transaction.atomic
def appeal_windows_set(*, days: dict[str, int], user: User) -> int:
    """Set several kinds' windows at once, all or none; only the ones that change are written
    (and so recorded in the history). Returns how many changed."""
    current = dict(AppealWindow.objects.values_list("kind", "days"))
    changed = 0
    for kind, value in days.items():
        if current.get(kind, DEFAULT_APPEAL_DAYS) != value:
            appeal_window_set(kind=kind, days=value, user=user)
            changed += 1
    return changed
