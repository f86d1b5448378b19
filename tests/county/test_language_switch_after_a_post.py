"""The header's language switch on a page a POST rendered: a household's revealed value is shown at
`/county/households/<id>/reveal`, an address that only takes a POST. The switch comes back to the page the
form was sent from (the household's page), never to that address, where a GET is a 405 dead end."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from tests.county.conftest import SECRET_PHONE

SWITCH = re.compile(r'<a class="lang" href="([^"]+)"')


def _switch_target(html: str) -> str:
    href = unescape(SWITCH.search(html).group(1))
    return parse_qs(urlsplit(href).query)["next"][0]


def test_switching_language_after_a_reveal_comes_back_to_the_households_page(client, auth, county_user, world):
    auth.login(county_user)
    household = world["households"][0]
    page = f"/county/households/{household.id}"
    response = client.post(f"{page}/reveal", data={"field": "phone"}, headers={"Referer": f"http://localhost{page}"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and SECRET_PHONE in html
    assert _switch_target(html) == page

    switched = client.get(f"/lang/en?next={_switch_target(html)}")
    assert switched.status_code == 302 and urlsplit(switched.headers["Location"]).path == page
    back = client.get(page)
    assert back.status_code == 200 and "Personal details are hidden" in back.get_data(as_text=True)
    assert SECRET_PHONE not in back.get_data(as_text=True)  # masked again: a reveal is one POST's answer


def test_without_a_referer_the_switch_goes_home_rather_than_to_a_dead_end(client, auth, county_user, world):
    auth.login(county_user)
    household = world["households"][0]
    response = client.post(f"/county/households/{household.id}/reveal", data={"field": "phone"})
    assert _switch_target(response.get_data(as_text=True)) == "/"


def test_a_page_that_is_also_a_get_keeps_its_own_address(client, auth, county_user):
    auth.login(county_user)
    # a refused form shown again at its own address, which a GET opens too
    response = client.post("/county/households/new", data={})
    assert response.status_code in (200, 422)
    assert _switch_target(response.get_data(as_text=True)).startswith("/county/households/new")
