"""English catalogues: every package's .po is complete, compiles, and is what the pages use with ?lang=en.

The source strings are Chinese; `scripts/i18n.sh all <pkg>` re-extracts a package and updates its
`<pkg>/translations/en/LC_MESSAGES/messages.po`, which must then be translated by hand.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask_babel import gettext, pgettext

from tests.catalogue_packages import CATALOGUE_PACKAGES
from tests.factories import make_station, make_user

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ["en"]


def _catalogue(pkg: str, locale: str):
    path = ROOT / pkg / "translations" / locale / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"{path} is missing: run scripts/i18n.sh all {pkg}"
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _template(pkg: str):
    with (ROOT / pkg / "translations" / "messages.pot").open("rb") as f:
        return read_po(f)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("pkg", CATALOGUE_PACKAGES)
def test_catalogue_translates_every_message_and_none_is_fuzzy(pkg, locale):
    catalogue = _catalogue(pkg, locale)
    untranslated = [m.id for m in catalogue if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert untranslated == [], f"{pkg}/{locale}: untranslated msgids"
    assert fuzzy == [], f"{pkg}/{locale}: fuzzy msgids"
    assert not catalogue.fuzzy, f"{pkg}/{locale}: the catalogue header is marked fuzzy"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("pkg", CATALOGUE_PACKAGES)
def test_catalogue_is_up_to_date_with_its_template(pkg, locale):
    catalogue = _catalogue(pkg, locale)
    missing = [m.id for m in _template(pkg) if m.id and catalogue.get(m.id, context=m.context) is None]
    assert missing == [], f"{pkg}/{locale}: in messages.pot but not in the .po (run scripts/i18n.sh update {pkg})"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("pkg", CATALOGUE_PACKAGES)
def test_catalogue_compiles_and_loads_with_matching_placeholders(pkg, locale):
    catalogue = _catalogue(pkg, locale)
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert problems == [], f"{pkg}/{locale}: placeholder or format errors"

    buf = io.BytesIO()
    write_mo(buf, catalogue, use_fuzzy=False)
    buf.seek(0)
    translations = Translations(buf)
    for message in catalogue:
        if message.id and isinstance(message.id, str):
            if message.context:
                assert translations.pgettext(message.context, message.id) == message.string
            else:
                assert translations.gettext(message.id) == message.string


def test_no_msgid_has_two_different_english_strings_across_the_packages():
    """The app merges every package's catalogue into one (BABEL_TRANSLATION_DIRECTORIES), so when two
    packages give one (context, msgid) different English, only one of them wins and the other package's
    pages show the wrong English. Same meaning: use the same English everywhere; different meanings:
    give the msgid a context (`pgettext("measure", "单位")`, `lazy_pgettext(...)` in Python)."""
    for locale in LOCALES:
        english: dict[tuple[str | None, str], dict[str, str]] = {}
        for pkg in CATALOGUE_PACKAGES:
            for message in _catalogue(pkg, locale):
                if not message.id or not message.string:
                    continue
                msgid = message.id if isinstance(message.id, str) else message.id[0]
                string = message.string if isinstance(message.string, str) else message.string[0]
                english.setdefault((message.context, msgid), {})[pkg] = string
        conflicts = {key: by_pkg for key, by_pkg in english.items() if len(set(by_pkg.values())) > 1}
        assert conflicts == {}, f"{locale}: (context, msgid) translated differently by different packages"


def test_the_merged_catalogue_keeps_each_context_apart(app):
    """What the pages get at run time: one merged catalogue in which the contexted meanings stay apart."""
    with app.test_request_context("/?lang=en"):
        assert gettext("预订") == "Booking" and pgettext("verb", "预订") == "Book"
        assert pgettext("organisation", "单位") == "Organisation" and pgettext("measure", "单位") == "Unit"
        assert gettext("批次") == "Lot" and pgettext("payout", "批次") == "Batch"
        assert gettext("已完成") == "Completed" and pgettext("payout", "已完成") == "Settled"
        assert gettext("认定") == "Certification" and pgettext("verb", "认定") == "Certify"


# --- pages ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues():
    """The app reads the .mo files (`make translations`); compile any that are missing or older than their .po."""
    for pkg in CATALOGUE_PACKAGES:
        for locale in LOCALES:
            po = ROOT / pkg / "translations" / locale / "LC_MESSAGES" / "messages.po"
            mo = po.with_suffix(".mo")
            if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
                with po.open("rb") as f:
                    catalogue = read_po(f, locale=locale)
                buf = io.BytesIO()
                write_mo(buf, catalogue, use_fuzzy=False)
                mo.write_bytes(buf.getvalue())


def _page(client, url: str) -> str:
    response = client.get(url + ("&" if "?" in url else "?") + "lang=en")
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    return html


def test_orders_cart_renders_in_english(client, auth, db):
    auth.login(make_user(role="consumer"))
    html = _page(client, "/cart")
    assert "Your cart is empty." in html and "Start shopping" in html
    assert "购物车是空的" not in html


def test_tourism_stays_render_in_english(client, db):
    html = _page(client, "/stays")
    assert "Farm stays · Guesthouses" in html and "Experiences" in html
    assert "农家乐 · 民宿" not in html


def test_stations_desk_renders_in_english_for_an_operator(client, auth, db):
    auth.login(make_user(role="operator", station=make_station()))
    html = _page(client, "/station/")
    assert "Station desk" in html and "Today's pickups" in html and "No pickups today" in html
    assert "今日自提" not in html


def test_county_dashboard_renders_in_english_for_the_county_office(client, auth, db):
    auth.login(make_user(role="county"))
    html = _page(client, "/county/")
    assert "Total credited" in html and "Beneficiary households" in html
    assert "入账合计" not in html
