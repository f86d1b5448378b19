"""#19.10 colour contrast (WCAG 2 AA, 4.5:1 for small text) of the colour pairs the stylesheet uses for
header links, the kinds row, badges and small muted text. Computed from static/css/site.css's tokens."""

from __future__ import annotations

import re
from pathlib import Path

CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "site.css").read_text(encoding="utf-8")
TOKENS = {
    k: (v if len(v) == 7 else "#" + "".join(c * 2 for c in v[1:]))
    for k, v in re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b", CSS)
}


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_formula():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0 and contrast("#777777", "#ffffff") < 4.5


def test_small_text_pairs_reach_aa():
    pairs = {
        "header links": ("#ffffff", TOKENS["green"]),
        "kinds row": ("#ffffff", TOKENS["green-dark"]),
        "badge": (TOKENS["amber"], TOKENS["amber-soft"]),
        "muted on page": (TOKENS["muted"], TOKENS["bg"]),
        "muted on card": (TOKENS["muted"], TOKENS["card"]),
    }
    low = {name: round(contrast(*pair), 2) for name, pair in pairs.items() if contrast(*pair) < 4.5}
    assert low == {}


def test_header_text_is_not_faded():
    rules = re.findall(r"\.nav[^{]*\{[^}]*\}", CSS)
    assert rules and not any("opacity" in rule for rule in rules)
