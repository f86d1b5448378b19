"""A form page's parts as the `field` macro draws them (templates/_macros/catalog.html)."""

from __future__ import annotations

import re


def field_block(page: str, name: str) -> str:
    """The `field` macro's block of the input `name`: its label, input and errors."""
    match = re.search(rf'<div class="field[^"]*">\s*<label for="{name}".*?</div>', page, re.S)
    assert match, name
    return match.group(0)
