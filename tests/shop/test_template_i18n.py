"""Templates' `_()` and friends read the catalogue of their render (shop/i18n.py): the request's language,
the language `force_locale` asks for around a render (a mail rendered while a page is answered), and
the request's language in macros imported without context, which fall back to Flask-Babel."""

from __future__ import annotations

import flask_babel
from flask import render_template_string
from flask_babel import force_locale

TEMPLATE = (
    "{{ _('购物车') }}|{{ ngettext('%(num)s 晚', '%(num)s 晚', 2) }}|{{ pgettext('organisation', '单位') }}"
    "|{{ npgettext('organisation', '单位', '单位', 1) }}|{{ _('库存仅剩 %(n)s', n=3) }}"
)


def test_a_render_speaks_the_request_language_as_flask_babel_does(app, db):
    for lang, cart in (("en", "Cart"), ("zh_CN", "购物车")):
        with app.app_context(), app.test_request_context(f"/?lang={lang}"):  # (a fresh g: its locale)
            words = [
                flask_babel.gettext("购物车"),
                flask_babel.ngettext("%(num)s 晚", "%(num)s 晚", 2),
                flask_babel.pgettext("organisation", "单位"),
                flask_babel.npgettext("organisation", "单位", "单位", 1),
                flask_babel.gettext("库存仅剩 %(n)s", n=3),
            ]
            assert words[0] == cart
            assert render_template_string(TEMPLATE) == "|".join(words)


def test_force_locale_around_a_render_inside_a_request(app, db):
    with app.test_request_context("/?lang=zh_CN"):
        assert render_template_string("{{ _('购物车') }}") == "购物车"
        with force_locale("en"):
            assert render_template_string("{{ _('购物车') }}") == "Cart"
        assert render_template_string("{{ _('购物车') }}") == "购物车"


def test_a_macro_imported_without_context_and_a_string_template(app, db):
    macro = "{% macro word() %}{{ _('购物车') }}{% endmacro %}"
    with app.test_request_context("/?lang=en"):
        module = app.jinja_env.from_string(macro).make_module()  # no context: Flask-Babel's look-up
        assert str(module.word()) == "Cart"
        assert app.jinja_env.from_string("{{ _('购物车') }}").render() == "Cart"
