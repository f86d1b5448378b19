"""Owner-written descriptions render through the nh3 allow-list (`rich_text` filter, issue #10)."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from shop.db import commit
from shop.filters import rich_text
from tests.factories import make_product
from tests.tourism.factories import make_listing

HOSTILE = (
    '<p>土鸡蛋<script>alert("x")</script></p>'
    '<img src=x onerror="alert(1)">'
    '<a href="javascript:alert(2)">点我</a>'
    '<p onclick="steal()" style="color:red">散养</p>'
    '<iframe src="https://evil.example"></iframe>'
    "<svg onload=alert(3)>图</svg>"
)


@pytest.mark.parametrize(
    "needle",
    [
        "<script",
        "alert(",
        "onerror",
        "javascript:",
        "onclick",
        "style=",
        "<a",
        "<img",
        "<iframe",
        "<svg",
    ],
)
def test_hostile_markup_is_stripped(needle):
    assert needle not in rich_text(HOSTILE).lower()


def test_text_inside_dropped_tags_stays():
    html = rich_text(HOSTILE)
    assert "土鸡蛋" in html and "点我" in html and "散养" in html and "图" in html


def test_allowed_formatting_is_kept():
    source = (
        "<p>第一段 <strong>粗</strong> <b>粗2</b> <em>斜</em> <i>斜2</i><br>换行</p>"
        "<ul><li>一</li></ul><ol><li>二</li></ol>"
    )
    assert str(rich_text(source)) == source


def test_plain_text_keeps_paragraphs_and_line_breaks_and_escapes_brackets():
    html = rich_text("第一行\r\n第二行\n\n第二段 1<2 & 3>2")
    assert html == Markup("<p>第一行<br>第二行</p><p>第二段 1&lt;2 &amp; 3&gt;2</p>")


def test_empty_description_renders_nothing():
    assert rich_text("") == "" and rich_text(None) == ""


def test_product_page_renders_the_description_sanitised(client, db):
    product = make_product(name="土鸡蛋")
    product.description = HOSTILE + "<ul><li>每枚约50克</li></ul>"
    commit()
    html = client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    assert "<li>每枚约50克</li>" in html
    assert "onerror" not in html and "javascript:alert" not in html and 'alert("x")' not in html


def test_listing_page_renders_the_description_sanitised(client, db):
    listing = make_listing()
    listing.description = "<p>农家<b>小院</b></p><img src=x onerror=alert(1)><script>alert(9)</script>"
    commit()
    html = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    assert "<p>农家<b>小院</b></p>" in html
    assert "onerror" not in html and "alert(9)" not in html
