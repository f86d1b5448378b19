"""What an officer types into the registry form on a phone: a Chinese input method in full-width mode
types ３６０１…, １３８… and Ｘ. They are read as their ASCII forms (county.services.registry._clean) and
stored in the one form the registry-number search, the reveal and the payouts' bank file expect."""

from __future__ import annotations

import re

import sqlalchemy as sa

from catalog.models import Household
from shop.db import commit
from shop.once import new_form_token
from tests.factories import make_village


def _register(client, village, **fields):
    """The new-household form as the page sends it (with its once-token)."""
    return client.post(
        "/county/households/new", data={"village_id": village.id, "form_token": new_form_token(), **fields}
    )


def test_a_household_typed_in_full_width_is_registered_and_found_by_its_number(client, auth, county_user, db):
    village = make_village()
    commit()
    auth.login(county_user)
    response = _register(
        client,
        village,
        head_name="赵六",
        registry_no="３６０１ＡＢ００７７",
        id_number="３６０１２１１９７００１０１９９１ｘ",
        phone="+86 １３８ ００１３ ８０００",
        members="3",
        status="poor",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    household = db.session.scalar(sa.select(Household).order_by(Household.id.desc()))
    assert (household.registry_no, household.id_number, household.phone) == (
        "3601AB0077",
        "36012119700101991X",
        "13800138000",
    )
    found = client.post("/county/households/find", data={"registry_no": "3601AB0077"})
    assert found.headers["Location"].endswith(f"/county/households/{household.id}")
    # the same number typed in full width again is the same household: refused as a duplicate
    again = _register(client, village, head_name="赵七", registry_no="３６０１ＡＢ００７７", members="1")
    assert again.status_code == 422 and "登记号重复" in again.get_data(as_text=True)


def test_the_county_forms_name_each_village_with_its_township(client, auth, county_user, db):
    """Two townships may each have a 新村: the registry's, the new household's and the payouts' village
    lists showed 新村 twice, and a household could be registered in the wrong one."""
    from tests.factories import make_township

    ours = make_village(name="新村", township=make_township(name="三江镇"))
    theirs = make_village(name="新村", township=make_township(name="黄马乡"))
    commit()
    auth.login(county_user)
    for url in ("/county/households/new", "/county/households", "/county/payouts"):
        page = client.get(url).get_data(as_text=True)
        assert re.search(rf'<option value="{ours.id}"\s*>三江镇 · 新村</option>', page), url
        assert re.search(rf'<option value="{theirs.id}"\s*>黄马乡 · 新村</option>', page), url


def test_the_income_report_names_a_village_whose_name_another_township_shares(client, auth, county_user, db, world):
    """Two townships' 新村 each earning: the report by village had two rows 新村 (and its export too)."""
    v1, v2 = world["villages"]
    v1.name = v2.name = "新村"
    commit()
    auth.login(county_user)
    page = client.get("/county/income?group_by=village").get_data(as_text=True)
    for village in (v1, v2):
        assert f"{village.township.name} · 新村" in page
    csv = client.get("/county/income?group_by=village&format=csv").get_data(as_text=True)
    assert f"{v1.township.name} · 新村" in csv and f"{v2.township.name} · 新村" in csv


def test_an_id_number_with_a_mistyped_digit_or_an_impossible_birth_date_is_refused(client, auth, county_user, db):
    """The 18th character of a resident ID checks the first 17 (GB 11643): one digit typed wrong, or two
    swapped, fails it; so does a date of birth that is no date. The form comes back, nothing is stored."""
    village = make_village()
    commit()
    auth.login(county_user)
    count = sa.select(sa.func.count()).select_from(Household)
    before = db.session.scalar(count)
    for typed, reason in (
        ("360121197001019919", "身份证号校验位不对"),  # the X typed as a 9
        ("360121197001011991X", "身份证号格式不正确"),  # one digit too many
        ("360121197010019919", "身份证号校验位不对"),  # two digits swapped
        ("360121197013019917", "身份证号中的出生日期不对"),  # month 13
    ):
        fields = dict(head_name="赵六", registry_no="3601AB0078", id_number=typed, members="3", status="poor")
        response = _register(client, village, **fields)
        assert response.status_code == 422 and reason in response.get_data(as_text=True), typed
    assert db.session.scalar(count) == before
    response = _register(
        client,
        village,
        head_name="赵六",
        registry_no="3601AB0078",
        id_number="36012119700101991x",
        members="3",
        status="poor",
    )
    assert response.status_code == 302
