"""HQ loads the chain in bulk: all rows or none, errors by row and column, re-import is a no-op."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from satisfaction.errors import ApplicationError
from satisfaction.models import Employee, Region, Store
from satisfaction.services import chain_import

STORES_CSV = """store_code,store_name,region_code,region_name,city,address,opened_on,active
S1001,上海人民路店,EAST,华东区,上海,人民路1号,2019-03-01,1
S1002,杭州解放路店,EAST,华东区,杭州,解放路8号,2020/5/6,yes
S1003,广州中山路店,SOUTH,华南区,广州,,,
"""

EMPLOYEES_CSV = """工号,姓名,门店编码,岗位,入职日期
E9001,王芳,S1001,店长,2019-03-01
E9002,李强,S1001,药师,2021-01-15
E9003,张敏,S1002,clerk,
"""


@pytest.fixture(autouse=True)
def _english():
    """Row errors are matched in English here; the page test checks the Chinese default."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.django_db
def test_it_imports_stores_then_employees_from_csv_with_chinese_headers():
    result = chain_import(file_name="stores.csv", content=STORES_CSV.encode())
    assert (result.regions.created, result.stores.created) == (2, 3)
    result = chain_import(file_name="staff.csv", content=EMPLOYEES_CSV.encode("utf-8-sig"))
    assert result.employees.created == 3
    manager = Employee.objects.get(number="E9001")
    assert (manager.store.code, manager.role, str(manager.hired_on)) == (
        "S1001", "store_manager", "2019-03-01")
    assert Store.objects.get(code="S1002").opened_on.isoformat() == "2020-05-06"
    assert Store.objects.get(code="S1003").region.name == "华南区"


@pytest.mark.django_db
def test_reimporting_the_same_file_changes_nothing():
    chain_import(file_name="stores.csv", content=STORES_CSV.encode())
    before = list(Store.objects.values().order_by("code"))
    again = chain_import(file_name="stores.csv", content=STORES_CSV.encode())
    assert (again.stores.created, again.stores.updated, again.stores.unchanged) == (0, 0, 3)
    assert list(Store.objects.values().order_by("code")) == before
    assert Region.objects.count() == 2


@pytest.mark.django_db
def test_a_changed_row_updates_the_store_in_place():
    chain_import(file_name="stores.csv", content=STORES_CSV.encode())
    changed = STORES_CSV.replace("人民路1号", "人民路2号")
    result = chain_import(file_name="stores.csv", content=changed.encode())
    assert (result.stores.updated, result.stores.unchanged) == (1, 2)
    assert Store.objects.get(code="S1001").address == "人民路2号"


@pytest.mark.django_db
def test_a_file_with_any_bad_row_changes_nothing_and_names_row_and_column():
    bad = STORES_CSV + "S1004,坏店,,华东区,上海,,2020-13-45,maybe\nS1001,重复,EAST,华东区,上海,,,\n"
    with pytest.raises(ApplicationError) as caught:
        chain_import(file_name="stores.csv", content=bad.encode())
    rows = caught.value.fields["rows"]
    assert any("row 5" in r and "region_code" in r for r in rows)
    assert any("row 5" in r and "opened_on" in r for r in rows)
    assert any("row 5" in r and "active" in r for r in rows)
    assert any("row 6" in r and "store_code" in r for r in rows)
    assert Store.objects.count() == 0
    assert Region.objects.count() == 0


@pytest.mark.django_db
def test_an_employee_of_an_unknown_store_or_role_rejects_the_file():
    chain_import(file_name="stores.csv", content=STORES_CSV.encode())
    bad = EMPLOYEES_CSV + "E9004,赵六,S9999,店员,\nE9005,钱七,S1001,保安,\n"
    with pytest.raises(ApplicationError) as caught:
        chain_import(file_name="staff.csv", content=bad.encode())
    rows = caught.value.fields["rows"]
    assert any("row 5" in r and "store_code" in r for r in rows)
    assert any("row 6" in r and "role" in r for r in rows)
    assert Employee.objects.count() == 0


@pytest.mark.django_db
def test_an_xlsx_workbook_with_both_sheets_imports_in_one_go():
    content = _xlsx({
        "stores": [["store_code", "store_name", "region_code", "region_name", "city"],
                   [2001, "北京朝阳路店", "NORTH", "华北区", "北京"]],
        "employees": [["employee_number", "employee_name", "store_code", "role"],
                      ["E2001", "周杰", 2001, "pharmacist"]],
    })
    result = chain_import(file_name="chain.xlsx", content=content)
    assert (result.stores.created, result.employees.created) == (1, 1)
    assert Employee.objects.get(number="E2001").store.code == "2001"


@pytest.mark.django_db
def test_an_unreadable_or_unknown_file_is_a_clear_error():
    with pytest.raises(ApplicationError):
        chain_import(file_name="chain.xlsx", content=b"not a workbook")
    with pytest.raises(ApplicationError):
        chain_import(file_name="chain.pdf", content=b"%PDF")
    with pytest.raises(ApplicationError):
        chain_import(file_name="x.csv", content=b"foo,bar\n1,2\n")


@pytest.mark.django_db
def test_the_command_imports_and_reports_bad_rows(tmp_path, capsys):
    good = tmp_path / "stores.csv"
    good.write_text(STORES_CSV, encoding="utf-8")
    call_command("import_chain", str(good))
    assert Store.objects.count() == 3
    bad = tmp_path / "bad.csv"
    bad.write_text(STORES_CSV + "S1009,,EAST,,上海\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_chain", str(bad))
    assert "row 5" in capsys.readouterr().err
    assert Store.objects.count() == 3


def test_the_import_page_shows_row_errors_and_imports_a_good_file(hq, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(hq)
    bad = SimpleUploadedFile("stores.csv", (STORES_CSV + "S1009,,EAST,,上海\n").encode())
    response = client.post("/chain/import/", {"file": bad}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "第 5 行，store_name 列：此项必填" in response.content.decode()
    assert Store.objects.count() == 0
    good = SimpleUploadedFile("stores.csv", STORES_CSV.encode())
    response = client.post("/chain/import/", {"file": good}, follow=True)
    assert Store.objects.count() == 3


def test_the_admin_store_and_employee_lists_link_to_the_one_import_page(hq, login):
    client = login(hq)
    for url in ("/admin/satisfaction/store/", "/admin/satisfaction/employee/"):
        assert 'href="/chain/import/"' in client.get(url).content.decode()
