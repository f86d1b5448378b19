"""#23 food-safety papers: the station uploads (page and API), the county approves or rejects (page and
API, audited, confirmation step), bad input changes nothing; expiry reminders once per threshold."""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from catalog.papers import DocumentReminder, ProductDocument, papers_dir
from shop.audit import AuditEntry
from shop.timeutil import local_date, now_utc
from tests.factories import make_category, make_document, make_user

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def farm(db, world):
    """World A's product is fresh farm produce (it needs a 合格证); B's is processed."""
    world.a.product.category = make_category(food_class="farm")
    world.b.product.category = make_category(food_class="processed")
    db.session.flush()
    return world


def _form(product, **extra):
    today = local_date(now_utc())  # read per call: a run may cross midnight in Beijing
    data = {
        "product_id": str(product.id),
        "kind": "compliance_certificate",
        "number": "HGZ-2026-0001",
        "issuer": "A村土鸡蛋专业合作社",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "file": (io.BytesIO(PDF), "hegezheng.pdf"),
    }
    data.update(extra)
    return data


def _token(client):
    page = client.get("/station/papers").get_data(as_text=True)
    import re

    return re.search(r'name="form_token"[^>]*value="([^"]+)"', page).group(1)


def _documents(db):
    return db.session.scalars(sa.select(ProductDocument).order_by(ProductDocument.id)).all()


def _stored_files():
    root = papers_dir()
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files) if os.path.isdir(root) else []


def _audit(db, action):
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)).all()


def test_operator_uploads_and_the_county_approves_then_it_sells(db, farm, client, auth, app):
    product = farm.a.product
    auth.login(farm.a.operator)
    page = client.get("/station/papers").get_data(as_text=True)
    assert "暂停销售" in page and "缺少食用农产品承诺达标合格证" in page
    res = client.post(
        "/station/papers", data=_form(product, form_token=_token(client)), content_type="multipart/form-data"
    )
    assert res.status_code == 303, res.get_data(as_text=True)
    [document] = _documents(db)
    assert (document.status, document.kind, document.file_type, document.product_id) == (
        "pending",
        "compliance_certificate",
        "pdf",
        product.id,
    )
    path = os.path.join(papers_dir(), document.file_path)
    assert open(path, "rb").read() == PDF
    assert not os.path.abspath(path).startswith(os.path.abspath(app.config["UPLOAD_DIR"]))  # never public media
    assert "待县扶贫办审核" in client.get("/station/papers").get_data(as_text=True)
    assert _audit(db, "document.upload")[0].subject_id == document.id
    # the station reads its file; another station does not
    assert client.get(f"/api/v1/documents/{document.id}/file").data == PDF
    auth.logout()
    auth.login(farm.b.operator)
    assert client.get(f"/api/v1/documents/{document.id}/file").status_code == 404

    county = make_user(role="county", email="county@test.cn")
    auth.logout()
    auth.login(county)
    assert "HGZ-2026-0001" in client.get("/county/papers").get_data(as_text=True)
    asked = client.post(f"/county/papers/{document.id}/approve", follow_redirects=True)
    assert asked.status_code == 200 and "确认通过" in asked.get_data(as_text=True)
    db.session.refresh(document)
    assert document.status == "pending" and not _audit(db, "document.approve")  # the first POST changes nothing
    assert client.post(f"/county/papers/{document.id}/approve", data={"confirm": "1"}).status_code == 302
    db.session.refresh(document)
    assert document.status == "approved" and document.decided_by_id == county.id
    [entry] = _audit(db, "document.approve")
    assert (entry.actor_id, entry.subject_id) == (county.id, document.id)
    auth.logout()
    assert client.get(f"/api/v1/products/{product.id}").json["sellable"] is True


def test_reject_needs_a_reason_is_audited_and_is_final(db, farm, client, auth):
    document = make_document(farm.a.product, status="pending")
    county = make_user(role="county", email="county@test.cn")
    auth.login(county)
    client.post(f"/county/papers/{document.id}/reject", data={"reason": "", "confirm": "1"})
    db.session.refresh(document)
    assert document.status == "pending" and not _audit(db, "document.reject")
    res = client.post(
        f"/county/papers/{document.id}/reject", data={"reason": "印章不清晰", "confirm": "1"}, follow_redirects=True
    )
    assert "证件已退回" in res.get_data(as_text=True)
    db.session.refresh(document)
    assert (document.status, document.decision_note) == ("rejected", "印章不清晰")
    [entry] = _audit(db, "document.reject")
    assert entry.detail["note"] == "印章不清晰" and entry.actor_id == county.id
    res = client.post(f"/county/papers/{document.id}/approve", data={"confirm": "1"}, follow_redirects=True)
    assert "这份证件已审核" in res.get_data(as_text=True)
    db.session.refresh(document)
    assert document.status == "rejected" and not _audit(db, "document.approve")


def test_the_api_uploads_lists_and_decides(db, farm, client, api_token, today):
    product = farm.b.product  # processed: a licence and a test report
    headers = api_token(farm.b.operator)
    res = client.post(
        f"/api/v1/products/{product.id}/documents",
        headers=headers,
        data={
            "kind": "production_licence",
            "number": "sc 1033 6012 1000 01",
            "issuer": "南昌县市场监督管理局",
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=1800)).isoformat(),
            "file": (io.BytesIO(PDF), "sc.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert res.status_code == 201, res.json
    assert res.json["number"] == "SC10336012100001" and res.json["status"] == "pending"
    listed = client.get(f"/api/v1/products/{product.id}/documents", headers=headers).json
    assert listed["food_class"] == "processed" and listed["sellable"] is False
    assert [(g["kind"], g["reason"]) for g in listed["gaps"]] == [
        ("production_licence", "pending"),
        ("test_report", "missing"),
    ]
    county = api_token(make_user(role="county", email="county@test.cn"))
    queue = client.get("/api/v1/county/documents", headers=county).json["items"]
    assert [d["id"] for d in queue] == [res.json["id"]]
    decided = client.post(
        f"/api/v1/county/documents/{res.json['id']}/decision", headers=county, json={"decision": "reject", "reason": ""}
    )
    assert decided.status_code == 422 and decided.json["error"]["code"] == "document_reason_required"
    decided = client.post(
        f"/api/v1/county/documents/{res.json['id']}/decision", headers=county, json={"decision": "approve"}
    )
    assert decided.status_code == 200 and decided.json["status"] == "approved"
    again = client.post(
        f"/api/v1/county/documents/{res.json['id']}/decision",
        headers=county,
        json={"decision": "reject", "reason": "x"},
    )
    assert again.status_code == 409 and again.json["error"]["code"] == "document_already_decided"
    assert len(_audit(db, "document.approve")) == 1


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


# validity dates are given as days from today; the test turns them into dates when it runs
BAD = [
    ("wrong file type", {"file": (io.BytesIO(b"MZ\x90\x00 this is an exe"), "hegezheng.pdf")}, "document_file_type"),
    ("text as a pdf", {"file": (io.BytesIO(b"just text"), "a.pdf")}, "document_file_type"),
    (
        "pdf with a script",
        {"file": (io.BytesIO(PDF.replace(b"/Catalog", b"/Catalog /OpenAction << /S /JavaScript >>")), "a.pdf")},
        "document_pdf_active",
    ),
    ("gif", {"file": (io.BytesIO(b"GIF89a" + b"\x00" * 40), "a.gif")}, "document_file_type"),
    ("SC malformed", {"kind": "production_licence", "number": "SC1234"}, "sc_number_invalid"),
    ("SC with letters", {"kind": "production_licence", "number": "SC1033601210000X"}, "sc_number_invalid"),
    (
        "dates reversed",
        {"valid_from": 10, "valid_until": 0},
        "document_dates_reversed",
    ),
    (
        "already expired",
        {"valid_from": -400, "valid_until": -1},
        "document_already_expired",
    ),
    (
        "too large",
        {"file": (io.BytesIO(PDF[:-6] + b" " * (5 * 1024 * 1024) + b"%%EOF\n"), "a.pdf")},
        "document_file_too_large",
    ),
]


@pytest.mark.parametrize("name,changes,code", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_clearly_and_changes_nothing(db, farm, client, api_token, today, name, changes, code):
    from shop.errors import error_message

    changes = {k: (today + timedelta(days=v)).isoformat() if k.startswith("valid_") else v for k, v in changes.items()}
    product = farm.a.product
    files_before = _stored_files()
    data = _form(product, **changes)
    data.pop("product_id")
    res = client.post(
        f"/api/v1/products/{product.id}/documents",
        headers=api_token(farm.a.operator),
        data=data,
        content_type="multipart/form-data",
    )
    assert res.status_code == 422 and res.json["error"]["code"] == code, res.json
    assert res.json["error"]["message"] == error_message(code, {"mb": 5})
    assert _documents(db) == [] and _stored_files() == files_before


def test_bad_input_on_the_page_says_why_and_changes_nothing(db, farm, client, auth):
    auth.login(farm.a.operator)
    files_before = _stored_files()
    res = client.post(
        "/station/papers",
        content_type="multipart/form-data",
        data=_form(farm.a.product, kind="production_licence", number="SC12", form_token=_token(client)),
    )
    assert res.status_code == 422
    assert "食品生产许可证编号格式不正确：应为 SC 加 14 位数字" in res.get_data(as_text=True)
    # another station's product: not among the choices, refused as such
    res = client.post(
        "/station/papers", content_type="multipart/form-data", data=_form(farm.b.product, form_token=_token(client))
    )
    assert res.status_code == 422
    assert _documents(db) == [] and _stored_files() == files_before


def test_another_stations_product_is_404_in_the_api(db, farm, client, api_token):
    data = _form(farm.b.product)
    data.pop("product_id")
    res = client.post(
        f"/api/v1/products/{farm.b.product.id}/documents",
        headers=api_token(farm.a.operator),
        data=data,
        content_type="multipart/form-data",
    )
    assert res.status_code == 404
    assert (
        client.get(f"/api/v1/products/{farm.b.product.id}/documents", headers=api_token(farm.a.operator)).status_code
        == 404
    )
    assert _documents(db) == []


def test_a_jpeg_scan_is_checked_and_re_encoded(db, farm, client, api_token):
    data = _form(farm.a.product, file=(io.BytesIO(_jpeg()), "scan.png"))
    data.pop("product_id")
    res = client.post(
        f"/api/v1/products/{farm.a.product.id}/documents",
        headers=api_token(farm.a.operator),
        data=data,
        content_type="multipart/form-data",
    )
    assert res.status_code == 201 and res.json["file_type"] == "jpeg"
    document = db.session.get(ProductDocument, res.json["id"])
    with Image.open(os.path.join(papers_dir(), document.file_path)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)


def test_a_phones_heic_photo_of_a_paper_is_kept_as_a_jpeg(db, farm, client, auth):
    """A paper photographed with a phone that saves HEIC: taken on the papers page and kept as a JPEG."""
    from tests.stations.factories import image_bytes

    auth.login(farm.a.operator)
    assert "image/heic" in client.get("/station/papers").get_data(as_text=True)
    heic = image_bytes("HEIF", (1600, 1200))
    form = _form(farm.a.product, form_token=_token(client), file=(io.BytesIO(heic), "IMG_0003.HEIC"))
    assert client.post("/station/papers", data=form, content_type="multipart/form-data").status_code == 303
    [document] = _documents(db)
    assert document.file_type == "jpeg"
    with Image.open(os.path.join(papers_dir(), document.file_path)) as image:
        assert image.format == "JPEG" and image.size == (1600, 1200)


def test_a_double_tap_uploads_once(db, farm, client, auth):
    auth.login(farm.a.operator)
    token = _token(client)
    first, second = (
        client.post("/station/papers", data=_form(farm.a.product, form_token=token), content_type="multipart/form-data")
        for _ in range(2)
    )
    assert len(_documents(db)) == 1
    # told as every create form tells it (shop.forms.create_once): not an error, back to the papers
    assert first.status_code == second.status_code == 303 and second.headers["Location"] == first.headers["Location"]
    said = client.get(second.headers["Location"]).get_data(as_text=True)
    assert '<div class="alert alert-info" role="status">此表单已提交过' in said


def _reminder_mails(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "shop.mail" and "到期" in r.getMessage()]


def test_reminders_are_sent_once_per_document_and_threshold(db, farm, app, caplog):
    import logging
    from datetime import datetime, timezone

    from catalog.papers import remind_expiring_papers
    from shop.db import commit

    caplog.set_level(logging.INFO, logger="shop.mail")
    app.config["PAPER_REMINDER_DAYS"] = (30, 7, 1)
    start = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing
    day = local_date(start)
    soon = make_document(farm.a.product, number="HGZ-SOON", valid_until=day + timedelta(days=20))
    urgent = make_document(farm.b.product, "test_report", number="JC-URGENT", valid_until=day + timedelta(days=5))
    make_document(farm.b.product, "production_licence", valid_until=day + timedelta(days=400))  # far away
    make_document(farm.a.product, "test_report", status="pending", valid_until=day + timedelta(days=3))  # unapproved
    commit()

    def run(days: int) -> list[str]:
        caplog.clear()
        due = remind_expiring_papers(now=start + timedelta(days=days))
        commit()
        return sorted((d.document_id, d.threshold) for d in due), _reminder_mails(caplog)

    due, mails = run(0)
    assert due == [(soon.id, 30), (urgent.id, 7)]  # 5 days left: one mail, though 30 and 7 are both reached
    assert len(mails) == 2
    assert any("opa@test.cn" in m and "HGZ-SOON" in m and "还有 20 天" in m for m in mails)
    assert any("opb@test.cn" in m and "JC-URGENT" in m for m in mails)
    assert run(0) == ([], [])  # the same day again: nothing
    assert run(1) == ([], [])
    due, mails = run(13)  # 7 days left for the first, none new for the second
    assert due == [(soon.id, 7)] and len(mails) == 1
    due, mails = run(4)  # the second: 1 day left
    assert due == [(urgent.id, 1)] and len(mails) == 1
    assert run(4) == ([], [])
    rows = db.session.scalars(
        sa.select(DocumentReminder.days_before)
        .where(DocumentReminder.document_id == urgent.id)
        .order_by(DocumentReminder.days_before)
    ).all()
    assert rows == [1, 7, 30]


def test_the_beat_schedule_runs_the_reminders(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["remind-expiring-papers"]["task"] == "catalog.tasks.remind_expiring_papers"
    assert "catalog.tasks.remind_expiring_papers" in app.extensions["celery"].tasks
