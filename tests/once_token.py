"""The once-token a page's form carries (`shop.forms.OnceTokenForm`), read out of the page's HTML."""

from __future__ import annotations

import re

_TOKEN = re.compile(r'name="form_token" type="hidden" value="([^"]*)"')


def once_token(page: str) -> str:
    """The first form's `form_token` value in `page` ("" when drawn empty); fails when there is none."""
    found = _TOKEN.search(page)
    assert found is not None, "the page carries no once-token"
    return found.group(1)
