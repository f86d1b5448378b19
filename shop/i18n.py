"""Templates' `_()`, `ngettext()`, `pgettext()`, `npgettext()`: Flask-Babel's translations, looked up
once per render rather than once per word.

Flask-Babel's own Jinja set-up (`Babel(configure_jinja=True)`) makes every `_()` in a template
look the request's locale, domain and catalogue up again (`flask_babel.get_translations()`: some
sixty Python calls); a page says forty words or more. Here `shop.extensions.babel` is built with
`configure_jinja=False`, and the app installs Jinja's i18n extension with callables that read the
catalogue `_i18n_context` put in the render's context (`TRANSLATIONS`, from
`flask_babel.get_translations()` when `render_template` starts, so under `force_locale` too). A
template without that variable in its context (a macro module imported without context, a string
template) asks Flask-Babel as before. The words are the same either way: the catalogue is the one
Flask-Babel gives for the locale of the render, and the locale does not change in the middle of a
render.

Flask-Babel's date and number filters (`datetimeformat`...) are not installed; no template uses them.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale, get_translations
from jinja2 import pass_context

#: The context variable holding the render's catalogue (set by the context processor below).
TRANSLATIONS = "babel_translations"


def _translations(context):
    found = context.parent.get(TRANSLATIONS)
    return found if found is not None else get_translations()


@pass_context
def _gettext(context, string):
    return _translations(context).ugettext(string)


@pass_context
def _ngettext(context, singular, plural, n):
    return _translations(context).ungettext(singular, plural, n)


@pass_context
def _pgettext(context, msgctxt, string):
    return _translations(context).upgettext(msgctxt, string)


@pass_context
def _npgettext(context, msgctxt, singular, plural, n):
    return _translations(context).unpgettext(msgctxt, singular, plural, n)


def init_app(app: Flask) -> None:
    """Jinja's i18n extension with the callables above, and the context processor that gives each
    render its locale (`current_locale`, `html_lang`) and its catalogue."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  (added by the extension)
        gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext, npgettext=_npgettext, newstyle=True
    )

    @app.context_processor
    def _i18n_context():
        locale = str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"])
        return {"current_locale": locale, "html_lang": locale.replace("_", "-"), TRANSLATIONS: get_translations()}
