"""`shop.urls.same_site_path`: which `next` or Referer a page may send the visitor back to."""

from __future__ import annotations

import pytest

from shop.urls import same_site_path


@pytest.mark.parametrize(
    ("target", "host", "expected"),
    [
        ("/orders?tab=paid", None, "/orders?tab=paid"),
        ("/listings/3#calendar", None, "/listings/3#calendar"),
        ("http://shop.example/listings/3?guests=2", "shop.example", "/listings/3?guests=2"),
        ("https://shop.example/", "shop.example", "/"),
    ],
)
def test_a_path_on_this_site_is_kept(target, host, expected):
    assert same_site_path(target, host=host) == expected


@pytest.mark.parametrize(
    ("target", "host"),
    [
        (None, None),
        ("", "shop.example"),
        ("//evil.example/x", None),
        ("///evil.example/x", None),
        ("http://shop.example//evil.example/x", "shop.example"),
        ("/\\evil.example/x", None),
        ("//evil.example/x", "shop.example"),
        ("https://evil.example/x", "shop.example"),
        ("http://shop.example/x", None),  # an absolute URL only where the caller names the host (a Referer)
        ("http://shop.example.evil.example/x", "shop.example"),
        ("javascript:alert(1)", "shop.example"),
        ("ftp://shop.example/x", "shop.example"),
        ("orders", None),
    ],
)
def test_anything_that_leaves_the_site_is_refused(target, host):
    assert same_site_path(target, host=host) is None
