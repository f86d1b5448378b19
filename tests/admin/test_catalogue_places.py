"""The admin's categories, villages and stations pages (admin.services.categories, admin.services.places)."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from catalog.models import Category, Village
from shop.audit import AuditEntry
from shop.db import commit
from shop.extensions import db as _db
from shop.once import new_form_token
from stock.models import Station
from tests.factories import make_category, make_station, make_township, make_user, make_village


def _audit_actions(subject_type: str, subject_id: int) -> list[str]:
    return list(
        _db.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
            .order_by(AuditEntry.id)
        )
    )


def _fresh(model, object_id):
    _db.session.expire_all()
    return _db.session.get(model, object_id)


# --- categories ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang,words", [("zh_CN", "产品分类"), ("en", "Product categories")])
def test_the_category_pages_render_in_both_languages(admin_client, db, lang, words):
    category = make_category(name="禽蛋")
    commit()
    admin_client.get(f"/lang/{lang}")
    html = admin_client.get("/admin/categories").get_data(as_text=True)
    assert words in html and "禽蛋" in html
    assert admin_client.get(f"/admin/categories/{category.id}").status_code == 200


def test_a_category_is_created_once_with_a_pinyin_slug(admin_client, db):
    token = new_form_token()
    data = {"name": "山茶油", "name_en": "Camellia oil", "food_class": "processed", "form_token": token}
    assert admin_client.post("/admin/categories", data=data).status_code == 302
    again = admin_client.post("/admin/categories", data=data)  # a double tap: told so, sent to the list
    assert again.status_code == 303 and again.headers["Location"].endswith("/admin/categories")
    assert "此表单已提交过" in admin_client.get("/admin/categories").get_data(as_text=True)
    found = list(_db.session.scalars(sa.select(Category).where(Category.name == "山茶油")))
    assert len(found) == 1 and found[0].slug == "shan-cha-you" and found[0].food_class == "processed"
    assert _audit_actions("categories", found[0].id) == ["category.create"]
    # a name that sounds the same (a new form): the slug gets a suffix
    admin_client.post("/admin/categories", data={**data, "name": "山茶柚", "form_token": new_form_token()})
    slugs = sorted(_db.session.scalars(sa.select(Category.slug).where(Category.name.in_(["山茶油", "山茶柚"]))))
    assert slugs == ["shan-cha-you", "shan-cha-you-2"]


def test_a_second_category_of_the_same_name_is_refused_on_create_and_rename(admin_client, db):
    """Stations pick a product's category by its name and the county's income by category lists them by name:
    two 禽蛋 could not be told apart, so the second is refused with the reason under the name."""
    eggs = make_category(name="禽蛋")
    rice = make_category(name="大米")
    commit()
    before = _db.session.scalar(sa.select(sa.func.count()).select_from(Category))
    response = admin_client.post(
        "/admin/categories", data={"name": " 禽蛋 ", "food_class": "farm", "form_token": new_form_token()}
    )
    assert response.status_code == 422 and "已有名为「禽蛋」的分类" in response.get_data(as_text=True)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Category)) == before
    response = admin_client.post(f"/admin/categories/{rice.id}", data={"name": "禽蛋", "food_class": "farm"})
    assert response.status_code == 422 and _fresh(Category, rice.id).name == "大米"
    # saving a category under its own name is no clash
    assert (
        admin_client.post(f"/admin/categories/{eggs.id}", data={"name": "禽蛋", "food_class": "farm"}).status_code
        == 302
    )


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "food_class": "farm"},
        {"name": "茶" * 41, "food_class": "farm"},
        {"name": "茶叶", "food_class": "poison"},
        {"name": "茶叶", "food_class": "farm", "form_token": "bad"},
    ],
)
def test_a_bad_category_is_refused_and_nothing_is_created(admin_client, db, data):
    before = _db.session.scalar(sa.select(sa.func.count()).select_from(Category))
    response = admin_client.post("/admin/categories", data={"form_token": new_form_token(), **data})
    assert response.status_code == 422
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Category)) == before


def test_a_rename_keeps_the_slug_and_is_audited(admin_client, db):
    category = make_category(slug="qin-dan", name="禽蛋")
    commit()
    response = admin_client.post(
        f"/admin/categories/{category.id}", data={"name": "禽蛋类", "name_en": "Eggs and poultry", "food_class": "farm"}
    )
    assert response.status_code == 302
    category = _fresh(Category, category.id)
    assert (category.name, category.name_en, category.slug) == ("禽蛋类", "Eggs and poultry", "qin-dan")
    assert _audit_actions("categories", category.id) == ["category.update"]
    assert admin_client.get("/categories/qin-dan").status_code == 200  # the shared link still works
    response = admin_client.post(f"/admin/categories/{category.id}", data={"name": " ", "food_class": "farm"})
    assert response.status_code == 422 and _fresh(Category, category.id).name == "禽蛋类"


def test_an_unknown_category_is_a_404(admin_client, db):
    assert admin_client.get("/admin/categories/999999").status_code == 404
    assert admin_client.post("/admin/categories/999999", data={"name": "x", "food_class": "farm"}).status_code == 404


# --- villages and stations -----------------------------------------------------------------------


@pytest.mark.parametrize("lang,words", [("zh_CN", "一村一品"), ("en", "One Village, One Product")])
def test_the_village_and_station_pages_render_in_both_languages(admin_client, db, lang, words):
    station = make_station(code="NC55")
    village = station.villages[0]
    commit()
    admin_client.get(f"/lang/{lang}")
    assert words in admin_client.get("/admin/villages").get_data(as_text=True)
    assert words in admin_client.get(f"/admin/villages/{village.id}").get_data(as_text=True)
    html = admin_client.get("/admin/stations").get_data(as_text=True)
    assert "NC55" in html and village.name in html
    assert ("Villages served" if lang == "en" else "服务的村") in admin_client.get(
        f"/admin/stations/{station.id}"
    ).get_data(as_text=True)


def test_a_village_is_edited_and_audited(admin_client, db):
    village = make_village(name="柳溪村")
    other_township = make_township(name="黄马乡")
    commit()
    data = {"name": "柳溪新村", "township_id": str(other_township.id), "signature_product": "三江腌菜"}
    assert admin_client.post(f"/admin/villages/{village.id}", data=data).status_code == 302
    village = _fresh(Village, village.id)
    assert (village.name, village.township_id, village.is_poverty_village, village.signature_product) == (
        "柳溪新村",
        other_township.id,
        False,  # an unticked box
        "三江腌菜",
    )
    assert _audit_actions("villages", village.id) == ["village.update"]
    for bad in ({**data, "township_id": "999999"}, {**data, "name": ""}, {**data, "signature_product": "品" * 41}):
        assert admin_client.post(f"/admin/villages/{village.id}", data=bad).status_code == 422
    assert _fresh(Village, village.id).name == "柳溪新村"
    assert admin_client.get("/admin/villages/999999").status_code == 404


def test_a_second_village_of_one_name_in_a_township_is_refused(admin_client, db):
    """Households, products and stations pick their village by name: 柳溪村 twice in 三江镇 could not be told
    apart. The same name in another township is another village."""
    sanjiang, huangma = make_township(name="三江镇"), make_township(name="黄马乡")
    village = make_village(name="柳溪村", township=sanjiang)
    other = make_village(name="罗渡村", township=sanjiang)
    commit()
    before = _db.session.scalar(sa.select(sa.func.count()).select_from(Village))
    response = admin_client.post(
        "/admin/villages/new",
        data={"name": "柳溪村 ", "township_id": str(sanjiang.id), "form_token": new_form_token()},
    )
    assert response.status_code == 422 and "该乡镇已有名为「柳溪村」的村" in response.get_data(as_text=True)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Village)) == before
    response = admin_client.post(
        f"/admin/villages/{other.id}", data={"name": "柳溪村", "township_id": str(sanjiang.id)}
    )
    assert response.status_code == 422 and _fresh(Village, other.id).name == "罗渡村"
    response = admin_client.post(
        "/admin/villages/new",
        data={"name": "柳溪村", "township_id": str(huangma.id), "form_token": new_form_token(), "confirm": "1"},
    )
    assert response.status_code == 302  # confirmed (another township's namesake asks first: below)
    data = {"name": "柳溪村", "township_id": str(sanjiang.id), "story": "新的介绍"}
    assert admin_client.post(f"/admin/villages/{village.id}", data=data).status_code == 302  # its own name


def _confirmation(admin_client, asked) -> tuple[str, dict[str, str]]:
    """The confirmation page a POST was sent to (shop.confirm) and its form's fields."""
    assert asked.status_code == 303 and asked.headers["Location"].startswith("/confirm/"), asked.status_code
    page = admin_client.get(asked.headers["Location"]).get_data(as_text=True)
    form = page[page.index('<section class="card confirm-step">') :]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    fields.pop("csrf_token", None)
    return page, {k: unescape(v) for k, v in fields.items()}


def _named(name: str) -> list[tuple[int, int]]:
    _db.session.expire_all()
    return list(_db.session.execute(sa.select(Village.id, Village.township_id).where(Village.name == name)).all())


def test_a_village_named_as_another_townships_asks_first_and_is_created_once(admin_client, db):
    """An admin added a 柳溪村 to 黄马乡 while 三江镇 had one, without a word: two villages of one name, which
    the household import and every list must tell apart by township. The admin is now asked first, naming
    the other; confirmed, it is created once (a second confirmation creates nothing)."""
    sanjiang, huangma = make_township(name="三江镇"), make_township(name="黄马乡")
    make_village(name="柳溪村", township=sanjiang)
    commit()
    data = {"name": "柳溪村", "township_id": str(huangma.id), "story": "黄马乡的柳溪村", "form_token": new_form_token()}
    page, fields = _confirmation(admin_client, admin_client.post("/admin/villages/new", data=data))
    assert "其他乡镇已有名为「柳溪村」的村：三江镇 · 柳溪村。确认在黄马乡再添加一个「柳溪村」？" in page
    assert "仍然添加" in page and len(_named("柳溪村")) == 1  # asked: nothing created yet
    assert fields["story"] == "黄马乡的柳溪村" and fields["confirm"] == "1"
    done = admin_client.post("/admin/villages/new", data=fields)
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/villages")
    created = [v for v in _named("柳溪村") if v[1] == huangma.id]
    assert len(created) == 1 and _audit_actions("villages", created[0][0]) == ["village.create"]
    again = admin_client.post("/admin/villages/new", data=fields)  # a double tap, or Back and confirm
    assert again.status_code == 303 and len(_named("柳溪村")) == 2
    # the same name in the same township is refused at once, never asked
    refused = admin_client.post(
        "/admin/villages/new", data={"name": "柳溪村", "township_id": str(sanjiang.id), "form_token": new_form_token()}
    )
    assert refused.status_code == 422 and "该乡镇已有名为「柳溪村」的村" in refused.get_data(as_text=True)
    assert len(_named("柳溪村")) == 2
    # a name no other township has is created at once, as before
    plain = {"name": "罗渡村", "township_id": str(huangma.id), "form_token": new_form_token()}
    assert admin_client.post("/admin/villages/new", data=plain).status_code == 302


def test_a_village_renamed_or_moved_to_another_townships_name_asks_first(admin_client, db):
    sanjiang, huangma = make_township(name="三江镇"), make_township(name="黄马乡")
    make_village(name="柳溪村", township=sanjiang)
    village = make_village(name="罗渡村", township=huangma)
    commit()
    url = f"/admin/villages/{village.id}"
    page, fields = _confirmation(
        admin_client, admin_client.post(url, data={"name": "柳溪村", "township_id": str(huangma.id)})
    )
    assert "确认把这个村保存为黄马乡的「柳溪村」？" in page and "三江镇 · 柳溪村" in page
    assert _fresh(Village, village.id).name == "罗渡村"
    assert admin_client.post(url, data=fields).status_code == 302
    assert _fresh(Village, village.id).name == "柳溪村"
    # its other fields change without a question: it keeps its name and township
    assert admin_client.post(url, data={**fields, "confirm": "", "story": "新的介绍"}).status_code == 302
    assert _fresh(Village, village.id).story == "新的介绍"


def test_a_station_is_edited_and_audited(admin_client, db):
    station = make_station(code="NC55")
    make_station(code="NC56")
    second = make_village(name="罗渡村")
    commit()
    first_id = station.villages[0].id
    data = {
        "code": "NC57",
        "name": "罗渡服务站",
        "address": "罗渡村委会",
        "hours": "09:00-17:00",
        "village_ids": [str(first_id), str(second.id)],
    }
    assert admin_client.post(f"/admin/stations/{station.id}", data=data).status_code == 302
    station = _fresh(Station, station.id)
    assert (station.code, station.name, station.address, station.hours) == (
        "NC57",
        "罗渡服务站",
        "罗渡村委会",
        "09:00-17:00",
    )
    assert sorted(v.id for v in station.villages) == sorted([first_id, second.id])
    assert _audit_actions("stations", station.id) == ["station.update"]
    taken = admin_client.post(f"/admin/stations/{station.id}", data={**data, "code": "NC56"})
    assert taken.status_code == 422 and "NC56" in taken.get_data(as_text=True)
    for bad in (
        {**data, "village_ids": []},
        {**data, "village_ids": ["999999"]},
        {**data, "code": "N/C"},
        {**data, "name": ""},
    ):
        assert admin_client.post(f"/admin/stations/{station.id}", data=bad).status_code == 422
    station = _fresh(Station, station.id)
    assert station.code == "NC57" and len(station.villages) == 2
    assert admin_client.get("/admin/stations/999999").status_code == 404


def test_a_village_is_created_once_with_a_pinyin_slug(admin_client, db):
    township = make_township(name="三江镇")
    make_village(name="前岸村")  # its slug is village-N: the new one's pinyin is free
    commit()
    data = {
        "name": "前岸村",
        "township_id": str(township.id),
        "is_poverty_village": "y",
        "signature_product": "三江腌菜",
        "form_token": new_form_token(),
        "confirm": "1",  # the other 前岸村 is another township's: confirmed (asked first, see below)
    }
    assert admin_client.get("/admin/villages/new").status_code == 200
    assert admin_client.post("/admin/villages/new", data=data).status_code == 302
    again = admin_client.post("/admin/villages/new", data=data)  # a double tap: sent to the list, where it is
    assert again.status_code == 303 and again.headers["Location"].endswith("/admin/villages")
    found = list(_db.session.scalars(sa.select(Village).where(Village.slug.like("qian-an-cun%"))))
    assert [(v.slug, v.township_id, v.is_poverty_village, v.signature_product) for v in found] == [
        ("qian-an-cun", township.id, True, "三江腌菜")
    ]
    assert _audit_actions("villages", found[0].id) == ["village.create"]
    assert admin_client.get("/villages/qian-an-cun").status_code == 200
    # a name that sounds the same: the slug gets a suffix
    admin_client.post("/admin/villages/new", data={**data, "name": "前安村", "form_token": new_form_token()})
    assert sorted(_db.session.scalars(sa.select(Village.slug).where(Village.slug.like("qian-an-cun%")))) == [
        "qian-an-cun",
        "qian-an-cun-2",
    ]
    before = _db.session.scalar(sa.select(sa.func.count()).select_from(Village))
    for bad in ({**data, "township_id": "999999"}, {**data, "name": ""}):
        response = admin_client.post("/admin/villages/new", data={**bad, "form_token": new_form_token()})
        assert response.status_code == 422
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Village)) == before


def test_a_station_is_created_once(admin_client, db):
    first = make_village(name="柳溪村")
    second = make_village(name="罗渡村")
    make_station(code="NC56")
    commit()
    data = {
        "code": "NC60",
        "name": "柳溪服务站",
        "address": "柳溪村委会",
        "hours": "08:00-18:00",
        "village_ids": [str(second.id), str(first.id)],
        "form_token": new_form_token(),
    }
    assert admin_client.get("/admin/stations/new").status_code == 200
    assert admin_client.post("/admin/stations/new", data=data).status_code == 302
    again = admin_client.post("/admin/stations/new", data=data)  # a double tap: sent to the list, where it is
    assert again.status_code == 303 and again.headers["Location"].endswith("/admin/stations")
    station = _db.session.scalar(sa.select(Station).where(Station.code == "NC60"))
    assert (station.name, station.address, station.commission_bps) == ("柳溪服务站", "柳溪村委会", 0)
    assert sorted(v.id for v in station.villages) == sorted([first.id, second.id])
    assert station.township_id == min((first, second), key=lambda v: (v.township_id, v.name)).township_id
    assert _audit_actions("stations", station.id) == ["station.create"]
    before = _db.session.scalar(sa.select(sa.func.count()).select_from(Station))
    for bad in ({**data, "code": "NC56"}, {**data, "code": "NC61", "village_ids": []}, {**data, "code": "x"}):
        response = admin_client.post("/admin/stations/new", data={**bad, "form_token": new_form_token()})
        assert response.status_code == 422
    # NC60 typed in lower case or in full width (a Chinese input method) is NC60: taken, not a second station
    for typed in ("nc60", "ＮＣ６０", " Nc60 "):
        response = admin_client.post(
            "/admin/stations/new", data={**data, "code": typed, "form_token": new_form_token()}
        )
        assert response.status_code == 422 and "站点编号 NC60 已被使用" in response.get_data(as_text=True)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Station)) == before
    response = admin_client.post(
        "/admin/stations/new", data={**data, "code": "ｎｃ６２", "form_token": new_form_token()}
    )
    assert response.status_code == 302
    assert _db.session.scalar(sa.select(Station.id).where(Station.code == "NC62")) is not None


@pytest.mark.parametrize("role", ["consumer", "host", "county"])
def test_other_roles_are_refused(app, db, role):
    user = make_user(role=role)
    category = make_category(name="禽蛋")
    station = make_station()
    commit()
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": "password123"})
    for path in (
        "/admin/categories",
        f"/admin/categories/{category.id}",
        "/admin/villages",
        f"/admin/villages/{station.villages[0].id}",
        "/admin/stations",
        f"/admin/stations/{station.id}",
        "/admin/villages/new",
        "/admin/stations/new",
    ):
        assert client.get(path).status_code == 403, path
    response = client.post(f"/admin/categories/{category.id}", data={"name": "改了", "food_class": "farm"})
    assert response.status_code == 403 and _fresh(Category, category.id).name == "禽蛋"


def test_the_overview_counts_categories_villages_and_stations(admin_client, db):
    make_category()
    make_station(village=make_village())
    make_village()
    commit()
    html = admin_client.get("/admin/").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r'<p class="big">(\d+)</p>', html)]
    stored = [_db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Category, Village, Station)]
    assert shown[1:4] == stored and stored[1] >= 2


def _field_errors(html: str) -> dict[str, list[str]]:
    """The errors the page shows under each field, by the field's input name."""
    out = {}
    for block in re.findall(r'<div class="field has-error">(.*?)</div>', html, re.S):
        name = re.search(r'name="([^"]+)"', block).group(1)
        out[name] = re.findall(r'<p class="error" role="alert">(.*?)</p>', block)
    return out


@pytest.mark.parametrize(
    "field,value,zh,en",
    [
        ("address", "村" * 201, "地址最多 200 个字", "The address may have at most 200 characters"),
        ("hours", "9" * 81, "营业时间最多 80 个字", "The opening hours may have at most 80 characters"),
    ],
)
def test_a_station_text_too_long_is_said_under_its_own_field(admin_client, db, field, value, zh, en):
    station = make_station(code="NC55")
    commit()
    stored = (station.address, station.hours)
    data = {
        "code": "NC55",
        "name": "罗渡服务站",
        "address": "罗渡村委会",
        "hours": "09:00-17:00",
        "village_ids": [str(station.villages[0].id)],
        field: value,
    }
    for lang, said in (("zh_CN", zh), ("en", en)):
        response = admin_client.post(f"/admin/stations/{station.id}?lang={lang}", data=data)
        assert response.status_code == 422
        assert _field_errors(response.get_data(as_text=True)) == {field: [said]}
    created = admin_client.post("/admin/stations/new", data={**data, "code": "NC58", "form_token": new_form_token()})
    assert created.status_code == 422 and _field_errors(created.get_data(as_text=True)) == {field: [en]}
    station = _fresh(Station, station.id)
    assert (station.address, station.hours) == stored


# --- a station's telephone and a village's story: fields the pages could not correct before ---------


def _station_data(station, **fields) -> dict:
    return {
        "code": station.code,
        "name": station.name,
        "address": "罗渡村委会",
        "hours": "09:00-17:00",
        "phone": station.phone,
        "village_ids": [str(v.id) for v in station.villages],
        **fields,
    }


@pytest.mark.parametrize(
    "typed,stored", [("+86 139 1234 0000", "13912340000"), ("0791 85712345", "0791-85712345"), ("", "")]
)
def test_a_stations_telephone_is_corrected_normalised_and_audited(admin_client, db, typed, stored):
    station = make_station(code="NC55")
    station.phone = "13800138000"  # a number to correct (or to clear)
    commit()
    old = station.phone
    assert f'value="{old}"' in admin_client.get(f"/admin/stations/{station.id}").get_data(as_text=True)
    response = admin_client.post(f"/admin/stations/{station.id}", data=_station_data(station, phone=typed))
    assert response.status_code == 302
    assert _fresh(Station, station.id).phone == stored
    entry = _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.subject_type == "stations"))
    assert (entry.action, entry.detail["phone"]) == ("station.update", [old, stored])


@pytest.mark.parametrize("phone", ["12345", "0791-123", "1391234567", "电话", "1" * 30])
def test_a_bad_station_telephone_is_said_under_its_field_and_changes_nothing(admin_client, db, phone):
    station = make_station(code="NC55")
    commit()
    before = station.phone
    for lang, said in (("zh_CN", "请填写正确的电话"), ("en", "Enter a valid phone number")):
        response = admin_client.post(
            f"/admin/stations/{station.id}?lang={lang}", data=_station_data(station, phone=phone, name="改了")
        )
        assert response.status_code == 422
        [error] = _field_errors(response.get_data(as_text=True))["phone"]
        assert error.startswith(said)
    created = admin_client.post(
        "/admin/stations/new", data=_station_data(station, code="NC58", phone=phone, form_token=new_form_token())
    )
    assert created.status_code == 422 and list(_field_errors(created.get_data(as_text=True))) == ["phone"]
    assert _fresh(Station, station.id).phone == before and _fresh(Station, station.id).name != "改了"
    assert _db.session.scalar(sa.select(Station).where(Station.code == "NC58")) is None


def test_a_new_station_keeps_its_telephone(admin_client, db):
    village = make_village()
    commit()
    data = {
        "code": "NC60",
        "name": "柳溪服务站",
        "phone": "0791-85712345",
        "village_ids": [str(village.id)],
        "form_token": new_form_token(),
    }
    assert admin_client.post("/admin/stations/new", data=data).status_code == 302
    station = _db.session.scalar(sa.select(Station).where(Station.code == "NC60"))
    assert station.phone == "0791-85712345"
    entry = _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.subject_type == "stations"))
    assert entry.detail["phone"] == "0791-85712345"


def test_a_villages_story_is_corrected_shown_on_its_page_and_audited(admin_client, app, db):
    village = make_village(name="柳溪村")
    village.story = "柳溪村的腌菜有白年历史。"  # a typo to correct
    commit()
    assert "柳溪村的腌菜有白年历史。" in admin_client.get(f"/admin/villages/{village.id}").get_data(as_text=True)
    data = {
        "name": "柳溪村",
        "township_id": str(village.township_id),
        "is_poverty_village": "y",
        "signature_product": village.signature_product,
        "story": "  柳溪村的腌菜有百年历史。\r\n家家户户都会做。 ",
    }
    assert admin_client.post(f"/admin/villages/{village.id}", data=data).status_code == 302
    story = "柳溪村的腌菜有百年历史。\n家家户户都会做。"
    assert _fresh(Village, village.id).story == story
    entry = _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.subject_type == "villages"))
    assert (entry.action, entry.detail) == ("village.update", {"story": ["柳溪村的腌菜有白年历史。", story]})
    assert "家家户户都会做" in app.test_client().get(f"/villages/{village.slug}").get_data(as_text=True)


def test_a_village_story_too_long_is_said_under_its_field_and_changes_nothing(admin_client, db):
    village = make_village(name="柳溪村")
    township_id, stored = village.township_id, village.story
    commit()
    data = {"name": "柳溪新村", "township_id": str(township_id), "story": "村" * 2001}
    for lang, said in (("zh_CN", "村庄介绍最多 2000 个字"), ("en", "About the village: at most 2000 characters")):
        response = admin_client.post(f"/admin/villages/{village.id}?lang={lang}", data=data)
        assert response.status_code == 422
        assert _field_errors(response.get_data(as_text=True)) == {"story": [said]}
    created = admin_client.post("/admin/villages/new", data={**data, "form_token": new_form_token()})
    assert created.status_code == 422 and list(_field_errors(created.get_data(as_text=True))) == ["story"]
    assert (_fresh(Village, village.id).name, _fresh(Village, village.id).story) == ("柳溪村", stored)
    created = admin_client.post(
        "/admin/villages/new", data={**data, "story": "新村的故事", "form_token": new_form_token()}
    )
    assert created.status_code == 302
    assert _db.session.scalar(sa.select(Village.story).where(Village.name == "柳溪新村")) == "新村的故事"
