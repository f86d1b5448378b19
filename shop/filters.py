"""Jinja filters: money and time at the edges, owners' formatted text made safe."""

from __future__ import annotations

import re
from datetime import date, datetime

import nh3
from flask import Flask, current_app, render_template, request
from flask_babel import get_locale, gettext
from jinja2 import pass_context
from markupsafe import Markup

from shop.args import MAX_DATE, MIN_DATE, link_args, query_text
from shop.history import note_text
from shop.money import format_yuan, format_yuan_brief
from shop.timeutil import to_local


def with_colon(label) -> str:
    """'发货站点' -> '发货站点：' in Chinese, 'Station: ' in English: the colon is translated with the label."""
    colon = gettext("：")
    return f"{label}{colon}"


def bracketed(name, inside) -> str:
    """A name with a short aside in brackets, in the brackets of the page's language: a station with its
    code, '罗渡站（LD01）' on a Chinese page, '罗渡站 (LD01)' on an English one (full-width brackets take no
    space before them, ASCII ones do). The one place such brackets are written: templates use it as the
    `bracketed` filter (`{{ station.name|bracketed(station.code) }}`), views call it."""
    return gettext("%(name)s（%(inside)s）", name=name, inside=inside)


def local_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return to_local(value).strftime(fmt)


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.isoformat()


#: What owners may format their descriptions with: paragraphs, line breaks, bold/italic, lists.
#: No attributes at all (so no `onerror=`, `style=`, `href=javascript:`), no links, no images.
RICH_TEXT_TAGS = frozenset({"p", "br", "strong", "b", "em", "i", "ul", "ol", "li"})

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_BLOCK_MARKUP = re.compile(r"<\s*/?\s*(p|br|ul|ol|li)\b", re.IGNORECASE)


def rich_text(value: str | None) -> Markup:
    """User-written text with a little formatting, safe to insert into a page.

    Owners type descriptions into a textarea: without block markup of their own, blank lines
    separate paragraphs and single newlines become `<br>`. Everything then goes through the nh3
    (Ammonia) allow-list: tags outside `RICH_TEXT_TAGS` are dropped with all their attributes
    (their text stays), `<script>`/`<style>` are dropped with their content, stray `<`/`&` are
    escaped and the result is well-formed. Autoescaping stays on everywhere else; this is the one
    place owner-written HTML renders.
    """
    if not value:
        return Markup("")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not _BLOCK_MARKUP.search(text):
        paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
        text = "".join("<p>" + p.replace("\n", "<br>") + "</p>" for p in paragraphs)
    cleaned = nh3.clean(
        text,
        tags=set(RICH_TEXT_TAGS),
        attributes={},
        link_rel=None,
        clean_content_tags={"script", "style"},
        strip_comments=True,
    )
    return Markup(cleaned)


#: `app.extensions` key of the header's rendered role links: {(role, language, script root): Markup}.
ROLE_LINKS = "nav_role_links"
#: At most this many kept (the script root comes from the request's environment).
MAX_ROLE_LINKS = 64


@pass_context
def role_links(context, role: str | None) -> Markup:
    """The header's links for a visitor of `role` (None: not signed in), `_nav_roles.html`: rendered
    once per app, role, language and script root, then kept in the app. Nothing else they show changes
    while the app runs (which endpoints exist, the catalogues, the URLs); while templates reload
    (debug) they are rendered every time."""
    language = context.get("current_locale") or str(get_locale())
    key = (role, language, request.script_root)
    kept = current_app.extensions.setdefault(ROLE_LINKS, {})
    html = kept.get(key)
    if html is None:
        html = Markup(render_template("_nav_roles.html", role=role))
        if not current_app.jinja_env.auto_reload and len(kept) < MAX_ROLE_LINKS:
            kept[key] = html
    return html


def register_filters(app: Flask) -> None:
    app.add_template_filter(format_yuan, "yuan")
    app.add_template_filter(format_yuan_brief, "yuan_brief")
    app.add_template_filter(local_dt, "local_dt")
    app.add_template_filter(with_colon, "colon")
    app.add_template_filter(bracketed, "bracketed")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(rich_text, "rich_text")
    app.add_template_filter(note_text, "history_note")
    app.add_template_global(lambda name: name in app.view_functions, "has_endpoint")
    app.add_template_global(role_links, "role_links")

    app.add_template_global(link_args, "link_args")
    app.add_template_global(query_text, "query_text")
    # the dates every date argument accepts (shop/args.py), for <input type=date min max>: the browser's
    # picker stays inside them instead of sending a year 20260 that comes back as a 400 page
    app.add_template_global(MIN_DATE.isoformat(), "min_date")
    app.add_template_global(MAX_DATE.isoformat(), "max_date")
