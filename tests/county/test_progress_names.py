"""#19.10: the county dashboard's progress bars have accessible names (axe: aria-progressbar-name)."""

from __future__ import annotations

import re

from tests.factories import make_user


def test_every_progress_bar_is_named(client, db, auth):
    from county.services.targets import seed_targets

    seed_targets()
    auth.login(make_user(role="county"))
    for url in ("/county/", "/county/targets"):
        html = client.get(url).get_data(as_text=True)
        bars = re.findall(r'<div class="bar" role="progressbar"[^>]*>', html)
        assert bars, url
        assert all(re.search(r'aria-label="[^"]+"', bar) for bar in bars), url
