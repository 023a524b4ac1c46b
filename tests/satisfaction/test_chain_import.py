"""HQ loads the chain in bulk: all rows or none, errors by row and column, re-import is a no-op."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from satisfaction.errors import ApplicationError
from satisfaction.models import Employee, Job, Region, Store
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
    # Each cell is named by the header the file used (Chinese here), not the internal key.
    assert any("row 5" in r and "门店编码" in r for r in rows)
    assert any("row 6" in r and "岗位" in r for r in rows)
    assert not any("column store_code" in r or "column role" in r for r in rows)
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


def test_the_import_page_checks_the_file_first_then_imports_it(
        hq, login, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(hq)
    bad = SimpleUploadedFile("stores.csv", (STORES_CSV + "S1009,,EAST,,上海\n").encode())
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/chain/import/", {"file": bad}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = client.get(started.url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "第 5 行，store_name 列：此项必填" in response.content.decode()
    assert Store.objects.count() == 0
    good = SimpleUploadedFile("stores.csv", STORES_CSV.encode())
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/chain/import/", {"file": good})
    text = client.get(started.url).content.decode()
    assert "新增 3，更改 0，不变 0" in text
    assert Store.objects.count() == 0  # the dry run writes nothing
    job = Job.objects.filter(kind="satisfaction.chain_import").order_by("-pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/jobs/{job.public_id}/import")
    assert Store.objects.count() == 3


def test_the_template_in_either_language_imports_as_it_is(hq, login):
    """The template's headers are read back in both languages, and its example row imports."""
    client = login(hq)
    for language in ("zh-hans", "en"):
        Employee.objects.all().delete()
        Store.objects.all().delete()
        response = client.get("/chain/import/template?format=xlsx",
                              HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        result = chain_import(file_name="template.xlsx", content=response.content)
        assert (result.stores.created, result.employees.created) == (1, 1)
    csv_template = client.get("/chain/import/template?format=csv&table=stores",
                              HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode("utf-8-sig")
    assert csv_template.startswith("门店编码,门店名称,区域编码")


def test_the_admin_store_and_employee_lists_link_to_the_one_import_page(hq, login):
    client = login(hq)
    for url in ("/admin/satisfaction/store/", "/admin/satisfaction/employee/"):
        assert 'href="/chain/import/"' in client.get(url).content.decode()


# --- Codes and files that are not text -----------------------------------------------------

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def _rows_of(content: bytes, file_name: str = "stores.csv") -> list[str]:
    with pytest.raises(ApplicationError) as caught:
        chain_import(file_name=file_name, content=content)
    return caught.value.fields.get("rows", [])


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["S10/01", "S 1001", "-S1001", ".hidden", "S1001?", "门店1",
                                  "S" * 33])
def test_a_store_code_outside_the_pattern_rejects_the_file(code):
    content = (STORES_CSV + f'"{code}",坏店,EAST,华东区,上海,,,\n').encode()
    rows = _rows_of(content)
    assert any("row 5" in r and "store_code" in r and "not a valid code" in r for r in rows)
    assert Store.objects.count() == 0


@pytest.mark.django_db
def test_the_pattern_allows_letters_digits_dot_dash_underscore():
    content = ("store_code,store_name,region_code,region_name,city\n"
               "sh-001_A.2,上海店,EAST,华东区,上海\n" + "Z" * 32 + ",长编码店,EAST,华东区,上海\n")
    assert chain_import(file_name="stores.csv", content=content.encode()).stores.created == 2


@pytest.mark.django_db
def test_an_empty_store_code_or_an_employee_number_with_a_space_rejects_the_file():
    rows = _rows_of((STORES_CSV + ",无编码店,EAST,华东区,上海,,,\n").encode())
    assert any("row 5" in r and "store_code" in r and "required" in r for r in rows)
    chain_import(file_name="stores.csv", content=STORES_CSV.encode())
    rows = _rows_of((EMPLOYEES_CSV + "E 9004,赵六,S1001,店员,\n").encode(), "staff.csv")
    assert any("row 5" in r and "工号" in r and "not a valid code" in r for r in rows)
    assert Employee.objects.count() == 0


@pytest.mark.django_db
def test_values_longer_than_their_column_are_row_errors_not_a_database_error():
    content = (STORES_CSV + f"S1004,{'店' * 101},EAST,华东区,{'城' * 65},{'路' * 256},,\n").encode()
    rows = _rows_of(content)
    for column in ("store_name", "city", "address"):
        assert any("row 5" in r and column in r and "at most" in r for r in rows), column
    assert Store.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "message"), [
    (PNG, "it is a PNG file"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00", "it is a PDF file"),
    (STORES_CSV.replace("人民路1号", "人民路\x001号").encode(), "binary data (NUL bytes)"),
    ("store_code,store_name\nS1,店\n".encode("utf-16"), "UTF-16"),
    (b"store_code,store_name\n\xff\xfe\xfd,x\n", "not UTF-8 or GB18030"),
    (b'store_code,store_name\nS1,"' + b"x" * 200_000 + b'"\n', "not a readable CSV table"),
])
def test_a_csv_that_is_not_text_is_a_clear_error(content, message):
    with pytest.raises(ApplicationError) as caught:
        chain_import(file_name="stores.csv", content=content)
    assert message in caught.value.message
    assert Store.objects.count() == 0


@pytest.mark.django_db
def test_a_workbook_renamed_csv_is_named_as_such():
    content = _xlsx({"stores": [["store_code", "store_name", "region_code", "city"]]})
    with pytest.raises(ApplicationError) as caught:
        chain_import(file_name="stores.csv", content=content)
    assert "not CSV text" in caught.value.message


@pytest.mark.django_db
def test_gb18030_csv_from_chinese_excel_still_imports():
    result = chain_import(file_name="stores.csv", content=STORES_CSV.encode("gb18030"))
    assert result.stores.created == 3


@pytest.mark.django_db
def test_a_nul_character_in_an_xlsx_cell_is_a_row_error(monkeypatch):
    """XML cannot carry a NUL, so no workbook openpyxl reads has one today; a reader that
    unescapes ``_x0000_`` would, and the row error stands guard (the XLSX is faked here)."""
    from types import SimpleNamespace

    rows = [("store_code", "store_name", "region_code", "region_name", "city"),
            ("S2001", "北京\x00朝阳路店", "NORTH", "华北区", "北京")]
    sheet = SimpleNamespace(title="stores", iter_rows=lambda values_only: iter(rows))
    # satisfaction.tabular imports it from openpyxl when a workbook arrives.
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: SimpleNamespace(
        worksheets=[sheet], close=lambda: None))
    with pytest.raises(ApplicationError) as caught:
        chain_import(file_name="chain.xlsx", content=b"PK")
    assert any("row 2" in r and "store_name" in r and "NUL" in r
               for r in caught.value.fields["rows"])
    assert Store.objects.count() == 0


@pytest.mark.django_db
def test_the_model_validators_use_the_same_pattern(region):
    from django.core.exceptions import ValidationError

    store = Store(code="S10/01", name="坏店", region=region, city="上海")
    with pytest.raises(ValidationError) as caught:
        store.full_clean()
    assert "code" in caught.value.message_dict
    employee = Employee(number="E 1", name="王", store=Store.objects.create(
        code="S1001", name="店", region=region, city="上海"))
    with pytest.raises(ValidationError) as caught:
        employee.full_clean()
    assert "number" in caught.value.message_dict
