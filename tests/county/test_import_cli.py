"""Excel import with a validation report, CLI commands, the monthly report task, logs without personal data."""

from __future__ import annotations

import io
import logging
import os

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from catalog.models import Household
from county.services.registry import import_households
from shop.db import commit
from shop.personal_data import lookup_hash
from tests.county.conftest import SECRET_PHONE
from tests.factories import make_household, make_township, make_user, make_village

HEADER = ["所在村", "户主姓名", "建档立卡编号", "身份证号", "联系电话", "家庭人口", "状态"]


def _sheet(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _registry_sheet(village_name: str, existing_no: str) -> bytes:
    return _sheet(
        [
            [village_name, "陈一", "RG0001", "360121198001011111", "13911110001", 3, "贫困户"],  # good
            ["", "陈二", "RG0002", "", "13911110002", 2, "贫困户"],  # missing village
            [village_name, "陈三", "RG0001", "", "13911110003", 2, "贫困户"],  # duplicate in file
            [village_name, "陈四", existing_no, "", "13911110004", 4, "脱贫户"],  # already registered
            [village_name, "陈五", "RG0005", "", "1391111", 1, "贫困户"],  # malformed phone
            ["不存在村", "陈六", "RG0006", "", "13911110006", 1, "贫困户"],  # unknown village
            [village_name, "陈七", "RG0007", "", 13911110007, 5, "脱贫户"],  # good (number cell)
        ]
    )


def test_a_village_name_two_townships_share_is_named_with_its_township(db, now):
    """Two townships each have a 新村 (the admin may create both): the import put every 新村 household in
    whichever of them it read last. A bare shared name is refused with how to write it; 乡镇·村 (or the two
    names with a space, or run together) picks the one meant."""
    sanjiang, huangma = make_township(name="三江镇"), make_township(name="黄马乡")
    ours = make_village(name="新村", township=sanjiang)
    theirs = make_village(name="新村", township=huangma)
    only = make_village(name="塔城村", township=huangma)
    data = _sheet(
        [
            ["新村", "陈一", "TW0001", "", "", 1, "贫困户"],
            ["三江镇·新村", "陈二", "TW0002", "", "", 1, "贫困户"],
            ["黄马乡 新村", "陈三", "TW0003", "", "", 1, "贫困户"],
            ["三江镇新村", "陈四", "TW0004", "", "", 1, "贫困户"],
            ["塔城村", "陈五", "TW0005", "", "", 1, "贫困户"],
        ]
    )
    report = import_households(io.BytesIO(data), actor=None, now=now)
    assert report.imported == 4
    assert [r["row"] for r in report.rejected] == [2] and "三江镇·新村" in report.rejected[0]["reasons"][0]
    placed = dict(db.session.execute(sa.select(Household.registry_no_hash, Household.village_id)).all())
    assert [placed[lookup_hash(n)] for n in ("TW0002", "TW0003", "TW0004", "TW0005")] == [
        ours.id,
        theirs.id,
        ours.id,
        only.id,
    ]
    assert lookup_hash("TW0001") not in placed


def test_the_import_page_says_how_to_name_a_shared_village(client, auth, db):
    auth.login(make_user(role="county"))
    assert "写成「乡镇·村」" in client.get("/county/households/import").get_data(as_text=True)
    client.get("/?lang=en")
    assert "write “township·village”" in client.get("/county/households/import").get_data(as_text=True)


def test_import_takes_good_rows_rejects_bad_with_reasons_and_reruns_without_duplicates(db, now):
    village = make_village(name="塔城村")
    existing = make_household(village=village, registry_no="RG9999")
    data = _registry_sheet(village.name, "RG9999")
    report = import_households(io.BytesIO(data), actor=None, now=now)
    assert report.imported == 2 and report.already_registered == 1
    reasons = {r["row"]: r["reasons"] for r in report.rejected}
    assert reasons == {3: ["缺少村"], 4: ["登记号在表中重复"], 6: ["电话号码格式不正确"], 7: ["村不存在: 不存在村"]}
    assert "1391111" not in str(report.rejected)
    h = db.session.scalar(sa.select(Household).where(Household.registry_no_hash == lookup_hash("RG0007")))
    assert h.phone == "13911110007" and h.status == "lifted" and h.members == 5
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Household))
    again = import_households(io.BytesIO(data), actor=None, now=now)
    assert again.imported == 0 and again.already_registered == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == count
    assert existing.id


def test_import_page_shows_the_report(client, auth, db, now):
    village = make_village(name="塔城村")
    make_household(village=village, registry_no="RG9999")
    user = make_user(role="county")
    commit()
    auth.login(user)
    response = client.post(
        "/county/households/import",
        data={"file": (io.BytesIO(_registry_sheet("塔城村", "RG9999")), "households.xlsx")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="imported">2<' in html and 'id="rejected">4<' in html and "电话号码格式不正确" in html
    assert "13911110001" not in html
    bad = client.post(
        "/county/households/import",
        data={"file": (io.BytesIO(b"not excel"), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422


def test_cli_import_reconcile_export_and_monthly_report(app, db, now, tmp_path, world, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTS_DIR", str(tmp_path / "reports"))
    village = make_village(name="塔城村")
    make_household(village=village, registry_no="RG9999")
    commit()
    path = tmp_path / "households.xlsx"
    path.write_bytes(_registry_sheet("塔城村", "RG9999"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["county", "import-households", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 2, already registered 1, rejected 4" in result.output
    assert "13911110001" not in result.output
    result = runner.invoke(args=["county", "reconcile"])
    assert result.exit_code == 0 and "0 discrepancies" in result.output
    out = tmp_path / "export.xlsx"
    result = runner.invoke(args=["county", "export-households", str(out)])
    assert result.exit_code == 0
    cells = " ".join(str(c) for r in load_workbook(out).active.iter_rows(values_only=True) for c in r)
    assert SECRET_PHONE not in cells and "139****4321" in cells
    result = runner.invoke(args=["report", "income", "--month", "2026-11"])
    assert result.exit_code == 0, result.output
    report_path = str(tmp_path / "reports" / "income-2026-11.xlsx")
    assert f"wrote {report_path}" in result.output
    workbook = load_workbook(report_path)
    assert workbook.sheetnames == ["汇总", "按农户", "按村", "按站点", "按品类", "按受益类型", "销售去向"]
    from county.services.reports import income_total

    assert round(workbook["汇总"]["B2"].value * 100) == income_total()["total_fen"]
    assert runner.invoke(args=["report", "income", "--month", "2026-13"]).exit_code != 0


def test_monthly_task_writes_previous_month(app, db, world, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "REPORTS_DIR", str(tmp_path))
    from datetime import datetime, timezone

    import county.tasks

    monkeypatch.setattr(county.tasks, "now_utc", lambda: datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc))
    path = county.tasks.monthly_income_report.delay().get()
    assert path == str(tmp_path / "income-2026-11.xlsx") and os.path.exists(path)


def test_logs_never_carry_personal_data(client, auth, db, world, caplog):
    user = make_user(role="county")
    commit()
    auth.login(user)
    with caplog.at_level(logging.DEBUG):
        client.post(f"/county/households/{world['households'][0].id}/reveal", data={"field": "phone"})
        import_households(
            io.BytesIO(_registry_sheet(world["villages"][0].name, "X1234")),
            actor=None,
            now=world["lines"][0].order.created_at,
        )
    assert SECRET_PHONE not in caplog.text and "13911110001" not in caplog.text


def test_import_finds_the_header_below_a_title_row_and_reads_status_words(db, now):
    village = make_village(name="塔城村")
    wb = Workbook()
    ws = wb.active
    ws.append(["塔城村建档立卡贫困户花名册"])
    ws.append([])
    ws.append(["序号", "行政村", "户主", "户编号", "手机号", "人口数", "户类型"])
    ws.append([1, "塔城村", "钱一", "TC0001", "13900000001", 2, "低保贫困户"])
    ws.append([2, "塔城村", "钱二", "TC0002", "13900000002", 3, "已脱贫"])
    ws.append([3, "塔城村", "钱三", "TC0003", "13900000003", 3, "外星户"])
    buffer = io.BytesIO()
    wb.save(buffer)
    report = import_households(io.BytesIO(buffer.getvalue()), actor=None, now=now)
    assert report.imported == 2
    assert report.rejected == [{"row": 6, "reasons": ["状态不正确"]}]
    statuses = sorted(db.session.scalars(sa.select(Household.status).where(Household.village_id == village.id)))
    assert statuses == ["lifted", "poor"]


def test_import_without_the_required_columns_is_refused(db, now):
    import pytest

    from shop.errors import ValidationError

    with pytest.raises(ValidationError):
        import_households(io.BytesIO(_bad_sheet()), actor=None, now=now)


def _bad_sheet() -> bytes:
    wb = Workbook()
    wb.active.append(["姓名", "电话"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_an_imported_row_whose_id_number_fails_its_check_is_rejected_with_the_reason(db, now):
    village = make_village(name="塔城村")
    data = _sheet(
        [
            [village.name, "陈一", "RG0101", "360121198001011111", "13911110001", 3, "贫困户"],
            [village.name, "陈二", "RG0102", "360121198001011112", "13911110002", 2, "贫困户"],  # last digit wrong
        ]
    )
    report = import_households(io.BytesIO(data), actor=None, now=now)
    assert report.imported == 1
    assert report.rejected == [{"row": 3, "reasons": ["身份证号校验位不对，请核对每一位"]}]
    assert "360121198001011112" not in str(report.rejected)
