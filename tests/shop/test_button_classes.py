"""One button system (#19.4): `.btn` plus modifiers (`.btn.primary`, `.btn.danger`, `.btn.small`,
`.btn.block`) defined in static/css, used by every template. Fails when a template puts a class on a
button (or a `btn` link) that no stylesheet defines, or uses another naming (`btn-primary`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CSS = [p for p in (ROOT / "static" / "css").glob("*.css")]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_TAG = re.compile(r"<(?P<tag>[a-zA-Z][\w-]*)\b(?P<attrs>[^<>]*?)\sclass=\"(?P<cls>[^\"]*)\"", re.S)


def _css_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in CSS)


def _defined_classes(css: str) -> set[str]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return set(re.findall(r"\.(-?[A-Za-z_][\w-]*)", css))


def _button_classes():
    """(template, tag, class tokens) of every <button> and every element styled as a button."""
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        for match in _TAG.finditer(text):
            tokens = _JINJA.sub(" ", match["cls"]).split()
            if match["tag"].lower() == "button" or any(t.startswith("btn") for t in tokens):
                yield path.relative_to(ROOT), match["tag"], tokens


def test_the_scan_sees_the_templates_buttons():
    found = list(_button_classes())
    assert len(found) > 40
    assert any("primary" in tokens for _p, _t, tokens in found)


def test_every_button_class_is_defined_in_the_stylesheet():
    defined = _defined_classes(_css_text())
    undefined = sorted({(str(p), t) for p, _tag, tokens in _button_classes() for t in tokens if t not in defined})
    assert undefined == [], "button classes no stylesheet defines"


def test_buttons_use_btn_with_modifiers_only():
    css = _css_text()
    wrong = sorted({(str(p), t) for p, _tag, tokens in _button_classes() for t in tokens if t.startswith("btn-")})
    assert wrong == [], 'use class="btn primary" (modifiers on .btn), not btn-primary'
    modifiers = {t for _p, _tag, tokens in _button_classes() if "btn" in tokens for t in tokens if t != "btn"}
    # each modifier is a compound selector on .btn, so it outranks `button.btn` (0,1,1) and `.btn`
    missing = sorted(m for m in modifiers if not re.search(r"\.btn\." + re.escape(m) + r"\b", css))
    assert missing == [], "modifiers must be defined as .btn.<modifier>"


def test_a_made_up_class_would_be_caught():
    defined = _defined_classes(".btn { } .btn.primary { } /* .btn-ghost { } */")
    assert "primary" in defined and "btn-ghost" not in defined
    sample = '<button class="btn btn-ghost {% if x %}primary{% endif %}">'
    tokens = _JINJA.sub(" ", _TAG.search(sample)["cls"]).split()
    assert tokens == ["btn", "btn-ghost", "primary"]
