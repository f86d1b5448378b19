"""One language per page (#19.7): the rules the HTTP test (tests/test_page_languages.py) and the browser
harness (tests/browser/checks.py) both apply to a page's text nodes, and `page_text_nodes(html)`, the
nodes an HTTP test reads off a page (its visible text and its placeholder, title, aria-label and alt
attributes).

On a zh page, a node with two English words in a row is English UI text (WTForms' or an extension's
English, a machine note such as "pay on arrival"); on an en page, a node holding a Chinese msgid of the
catalogues that is not data (a product, village or listing name), or a full-width colon, is Chinese UI
text. Data is Chinese in both languages and is not UI text."""

from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'’-]+(?:\d+ +)?[A-Za-z]{2,})+\b")
CJK = re.compile(r"[\u4e00-\u9fff]")
#: English that belongs on a Chinese page: the language switch
ZH_ALLOWED = {"English"}


@lru_cache(maxsize=1)
def chinese_msgids() -> frozenset[str]:
    ids = set()
    for pot in sorted(ROOT.glob("*/translations/messages.pot")):  # every package's catalogue
        with pot.open("rb") as f:
            for message in read_po(f):
                if message.id and isinstance(message.id, str) and CJK.search(message.id) and "%(" not in message.id:
                    ids.add(message.id.strip())
    return frozenset(ids)


def english_ui_on_zh(nodes: list[str]) -> list[str]:
    return [
        n
        for n in nodes
        if n not in ZH_ALLOWED and ENGLISH_RUN.search(n) and "@" not in n and not n.startswith(("http", "/"))
    ]


def chinese_ui_on_en(nodes: list[str], data: set[str] | frozenset[str]) -> list[str]:
    msgids = chinese_msgids()
    bad = []
    for node in nodes:
        if node in data:  # a whole text the county or a host typed (a story, an address)
            continue
        if "：" in node:
            bad.append(node)
            continue
        for part in re.split(r"\s*[·|/()（）,]\s*|\s+", node):
            if part and part not in data and part in msgids:
                bad.append(node)
                break
    return bad


class _Text(HTMLParser):
    SKIP = {"script", "style", "template"}

    def __init__(self):
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        for name, value in attrs:
            if name in ("placeholder", "title", "aria-label", "alt") and value:
                self.nodes.append(value.strip())

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.nodes.append(" ".join(data.split()))


def page_text_nodes(html: str) -> list[str]:
    """The text nodes a page shows (what the language checks read)."""
    parser = _Text()
    parser.feed(html)
    return parser.nodes
