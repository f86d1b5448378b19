"""The county office finds households by the head's exact name (按户主姓名查找).

Names are encrypted at rest, so the search compares a keyed hash of the name typed (spaces removed) with
`households.head_name_hash` (`county.services.registry.head_name_hash`): the full name finds its household,
another household's name or part of a name finds nothing else. A POST, so the name lands in no URL; the page
shows the matches as the list shows them (masked), never the name typed nor any other personal data; only the
county office (and the admin) may search."""

from __future__ import annotations

import re

import pytest

from shop.db import commit
from tests.county.conftest import SECRET_ID, SECRET_NAME, SECRET_PHONE, SECRET_REGISTRY
from tests.factories import make_household, make_station, make_user

SECRETS = (SECRET_NAME, SECRET_REGISTRY, SECRET_PHONE, SECRET_ID)


def _found(html: str) -> str:
    """The list's rows."""
    return html[html.index("<tbody>") : html.index("</tbody>")]


def _row_links(html: str) -> set[str]:
    return set(re.findall(r'href="/county/households/(\d+)"', _found(html)))


def test_a_household_is_found_by_its_heads_full_name_and_shown_masked(client, auth, county_user, world):
    a, b, c = world["households"]
    auth.login(county_user)
    res = client.post("/county/households/find-name", data={"head_name": SECRET_NAME})
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert _row_links(html) == {str(a.id)}
    assert "欧***" in _found(html) and "139****4321" in _found(html)  # as the list shows it
    for secret in SECRETS:
        assert secret not in html, secret  # not even the name typed
    assert "户主姓名完全相同（不计空格）的农户：1 户" in html

    # spaces typed around and inside the name are no part of it
    spaced = client.post("/county/households/find-name", data={"head_name": " 欧阳 秀英　"}).get_data(as_text=True)
    assert _row_links(spaced) == {str(a.id)}

    # another household's name finds that one only
    other = client.post("/county/households/find-name", data={"head_name": "王小明"}).get_data(as_text=True)
    assert _row_links(other) == {str(b.id)}


def test_part_of_a_name_or_an_unknown_name_finds_nothing(client, auth, county_user, world):
    auth.login(county_user)
    for typed in ("欧阳", "秀英", "欧阳秀", "欧阳秀英英", "张三"):
        html = client.post("/county/households/find-name", data={"head_name": typed}).get_data(as_text=True)
        assert _row_links(html) == set(), typed
        assert "户主姓名完全相同（不计空格）的农户：0 户" in html and "没有符合条件的农户" in html


def test_two_households_of_one_name_are_both_found(client, auth, county_user, world, db):
    a = world["households"][0]
    namesake = make_household(head_name=SECRET_NAME)
    commit()
    auth.login(county_user)
    html = client.post("/county/households/find-name", data={"head_name": SECRET_NAME}).get_data(as_text=True)
    assert _row_links(html) == {str(a.id), str(namesake.id)}


def test_a_renamed_household_is_found_by_its_new_name_only(client, auth, county_user, world, db):
    c = world["households"][2]
    auth.login(county_user)
    page = client.get(f"/county/households/{c.id}/edit").get_data(as_text=True)
    assert page
    res = client.post(
        f"/county/households/{c.id}/edit",
        data={"village_id": str(c.village_id), "head_name": "李大河", "members": "3"},
    )
    assert res.status_code == 302, res.get_data(as_text=True)
    new = client.post("/county/households/find-name", data={"head_name": "李大河"}).get_data(as_text=True)
    assert _row_links(new) == {str(c.id)}
    old = client.post("/county/households/find-name", data={"head_name": "李大山"}).get_data(as_text=True)
    assert _row_links(old) == set()


def test_an_empty_name_is_refused_with_a_message(client, auth, county_user, world):
    auth.login(county_user)
    res = client.post("/county/households/find-name", data={"head_name": "  "})
    assert res.status_code == 302 and res.headers["Location"].endswith("/county/households")
    assert "请输入户主的完整姓名" in client.get(res.headers["Location"]).get_data(as_text=True)
    too_long = client.post("/county/households/find-name", data={"head_name": "名" * 41})
    assert too_long.status_code == 302


@pytest.mark.parametrize("role", ["consumer", "operator", "host"])
def test_only_the_county_office_may_search_by_name(client, auth, world, role, db):
    user = make_user(role=role, station=make_station() if role == "operator" else None)
    commit()
    auth.login(user)
    res = client.post("/county/households/find-name", data={"head_name": SECRET_NAME})
    assert res.status_code == 403
    assert "欧***" not in res.get_data(as_text=True)


def test_the_anonymous_visitor_is_sent_to_sign_in(client, world):
    res = client.post("/county/households/find-name", data={"head_name": SECRET_NAME})
    assert res.status_code in (302, 400, 403)
    assert "欧***" not in res.get_data(as_text=True)
