"""What the harness checks on every page a journey visits (`WatchedPage.check_page`), beside the console
errors and failed requests the page's event handlers record:

* axe-core (WCAG 2 A and AA rules): no violation (tests/browser/a11y.py);
* no sideways scrolling: the document is no wider than the screen;
* every element styled as a button (a `btn` class) is styled by our stylesheet: each of its classes is
  defined by a same-origin stylesheet, `.btn` looks different from the bare element, and each modifier
  (`primary`, `danger`, ...) looks different from a plain `.btn`;
* one language per page (tests/page_language.py): on a zh page no English UI text, on an en page no
  Chinese UI text (data such as product, village and listing names excepted).

Third-party widgets that are not ours are left out of the axe and language checks, narrowly: the card
fields and the 3-D Secure box of the Stripe emulator (localstripe; real Stripe.js draws them in its own
frames).
"""

from __future__ import annotations

from tests.page_language import chinese_ui_on_en, english_ui_on_zh

#: CSS selectors of elements drawn by third-party scripts (not our templates)
THIRD_PARTY = ["#card-element", "[data-harness-third-party]"]

PAGE_FACTS = r"""(thirdParty) => {
  // localstripe's 3-D Secure box: a bare <div> appended to <body> around its two English buttons
  for (const box of document.querySelectorAll('body > div:not([class]):not([id])')) {
    if (/Complete authentication|Fail authentication/.test(box.textContent)) box.setAttribute('data-harness-third-party', '');
  }
  const skipped = (el) => thirdParty.some(sel => el.closest(sel));
  const texts = [];
  if (document.title.trim()) texts.push(document.title.trim());
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('script,style,template,noscript') || skipped(parent)) continue;
    const text = node.data.split(/\s+/).filter(Boolean).join(' ');
    if (text) texts.push(text);
  }
  for (const el of document.body.querySelectorAll('[placeholder],[title],[aria-label],[alt]')) {
    if (skipped(el)) continue;
    for (const name of ['placeholder', 'title', 'aria-label', 'alt']) {
      const value = (el.getAttribute(name) || '').trim();
      if (value) texts.push(value);
    }
  }

  // classes our stylesheets define (same-origin sheets only: a cross-origin one cannot be read)
  const defined = new Set();
  const collect = (rules) => {
    for (const rule of rules) {
      if (rule.selectorText) for (const m of rule.selectorText.matchAll(/\.(-?[A-Za-z_][\w-]*)/g)) defined.add(m[1]);
      if (rule.cssRules) collect(rule.cssRules);
    }
  };
  for (const sheet of document.styleSheets) {
    try { collect(sheet.cssRules); } catch (e) { /* cross-origin */ }
  }
  const LOOKS = ['background-color', 'background-image', 'color', 'border-top-color', 'border-top-width',
                 'border-top-style', 'border-top-left-radius', 'padding-top', 'padding-left', 'min-height',
                 'font-size', 'font-weight', 'width', 'text-decoration-line', 'opacity'];
  // not `display`: the twin is absolutely positioned, which turns inline-flex into flex
  const look = (el) => { const s = getComputedStyle(el); return LOOKS.map(p => p + ':' + s.getPropertyValue(p)); };
  const twin = (el, classes) => {
    const t = document.createElement(el.tagName);
    for (const name of ['type', 'href', 'role']) if (el.hasAttribute(name)) t.setAttribute(name, el.getAttribute(name));
    if (el.hasAttribute('disabled')) t.setAttribute('disabled', '');
    if (classes) t.className = classes;
    t.textContent = el.textContent;
    t.style.position = 'absolute'; t.style.visibility = 'hidden'; t.style.pointerEvents = 'none';
    el.parentNode.insertBefore(t, el);
    const result = look(t);
    t.remove();
    return result;
  };
  const same = (a, b) => a.every((v, i) => v === b[i]);
  const describe = (el) => `<${el.tagName.toLowerCase()} class="${el.className}">${el.textContent.trim().slice(0, 30)}`;
  const buttons = [];
  for (const el of document.querySelectorAll('.btn, [class*="btn-"], [class^="btn"]')) {
    if (!el.getClientRects().length || skipped(el)) continue;  // not displayed
    const tokens = [...el.classList];
    const undefinedTokens = tokens.filter(t => !defined.has(t));
    if (undefinedTokens.length) { buttons.push(`${describe(el)}: class ${undefinedTokens.join(', ')} is in no stylesheet`); continue; }
    if (!el.classList.contains('btn')) { buttons.push(`${describe(el)}: styled as a button without .btn`); continue; }
    const mine = look(el);
    if (same(mine, twin(el, ''))) { buttons.push(`${describe(el)}: looks like the browser's default`); continue; }
    const modifiers = tokens.filter(t => t !== 'btn');
    if (modifiers.length && same(mine, twin(el, 'btn'))) buttons.push(`${describe(el)}: ${modifiers.join(' ')} changes nothing (outranked?)`);
  }
  // the page's shape as axe's rules see it, words and numbers left out: each element's tag, its attributes
  // (the values of those that style it or tie it to another element, digits masked; of the others, such as
  // text, links and aria-label, only whether they are empty), whether it has text of its own and is
  // displayed, and its children's shapes, each different one once. Two states of a template showing other
  // data (another order, three rows instead of two) have one shape, and axe finds the same in both.
  const masked = (v) => (v || '').replace(/[0-9]+/g, '#');
  const KEPT = new Set(['class', 'role', 'type', 'style', 'lang', 'dir', 'tabindex', 'id', 'for', 'disabled',
    'hidden', 'open', 'checked', 'selected', 'readonly', 'required', 'colspan', 'rowspan', 'scope', 'headers']);
  const WORDS = new Set(['aria-label', 'aria-roledescription', 'aria-placeholder', 'aria-valuetext']);
  const kept = (n) => KEPT.has(n) || (n.startsWith('aria-') && !WORDS.has(n));
  const shapeOf = (el) => {
    const attrs = [];
    for (const a of el.attributes) {
      const n = a.name;
      if (n === 'style' && !a.value.trim()) continue;  // style="" left by a script styles nothing
      if (kept(n)) attrs.push(n + '=' + masked(a.value));
      else attrs.push(n + (a.value.trim() ? '+' : '-'));
    }
    let own = false;
    const children = [];
    for (const c of el.childNodes) {
      if (c.nodeType === 3 && c.data.trim()) own = true;
      else if (c.nodeType === 1 && !skipped(c)) { const s = shapeOf(c); if (!children.includes(s)) children.push(s); }
    }
    return el.tagName + '(' + attrs.join(' ') + ')' + (own ? 't' : '') + (el.getClientRects().length ? '' : 'h')
      + (children.length ? '[' + children.join(',') + ']' : '');
  };
  const shape = shapeOf(document.body);
  return {lang: document.documentElement.lang || '', width: document.documentElement.scrollWidth, texts, buttons,
          shape,
          fingerprint: location.href + '|' + document.body.innerHTML.length + '|' + document.body.innerText};
}"""


def data_words(live) -> frozenset[str]:
    """Chinese data of the live database (names, addresses, descriptions): not UI text on an en page.
    Read once per live server (the journeys add no names a later page would show as UI text)."""
    cached = live.notes.get("_data_words")
    if cached is not None:
        return cached
    import sqlalchemy as sa

    from catalog.models import Category, Product, Township, Village
    from shop.auth.models import User
    from stock.models import Station
    from tourism.models import Listing, UnitType

    words: set[str] = set()
    with live.app_context() as db:
        for model in (Product, Village, Township, Category, Station, Listing, UnitType):
            for column in model.__table__.columns:  # every text the county or a host typed
                if isinstance(column.type, sa.String):
                    words.update(" ".join(v.split()) for v in db.session.scalars(sa.select(column)) if v)
        # people's names as they typed them (the demo admin is 管理员, also a msgid)
        words.update(" ".join(v.split()) for v in db.session.scalars(sa.select(User.name)) if v)
    return live.notes.setdefault("_data_words", frozenset(words))


def account_names(live) -> frozenset[str]:
    """The names account holders typed, read now (not cached: journeys create accounts, e.g. journey 24's
    'Finance Li', which the admin's accounts list then shows on a Chinese page): people's names, their
    organisations' names and the titles they asked invoices for (journey 24's English run registers
    'Lianta No.1 School' and asks an invoice in that name, which the station's 发票 list, a Chinese page
    of journey 35, then shows), and the names of the listings and room types hosts created (journey 44's
    English run names its experience '采茶体验 desktop en', which the host's desk, a Chinese page of journey 57,
    lists among the bookings whose day passed when both run on one live server), and of the products stations
    created (a journey's new product, named for its run, on a later journey's page)."""
    import sqlalchemy as sa

    from catalog.models import Product
    from institutions.models import Organisation
    from invoices.models import Invoice
    from shop.auth.models import User
    from tourism.models import Listing, UnitType

    with live.app_context() as db:
        return frozenset(
            " ".join(v.split())
            for column in (User.name, Organisation.name, Invoice.title, Listing.name, UnitType.name, Product.name)
            for v in db.session.scalars(sa.select(column))
            if v
        )


def language_problems(lang: str, texts: list[str], data: frozenset[str], names=frozenset) -> list[str]:
    """`names()`: the people's names to accept as data on a zh page, asked only when an English run is found."""
    if lang.startswith("zh"):
        bad = english_ui_on_zh(texts)
        if bad:
            typed = names()
            bad = [n for n in bad if n not in typed]
        return bad
    if lang.startswith("en"):
        return chinese_ui_on_en(texts, data)
    return [f"<html lang={lang!r}>: neither zh nor en"]
