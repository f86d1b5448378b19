"""Service errors are raised by code and translated in one place.

A service raises `SomeDomainError("code", fields=..., **params)`; `shop.errors.error_message` turns the code
and its parameters into the message of the code's catalogue entry (`<package>/errors.py`), in the reader's
language. These tests walk every raise site of the packages: a code without a registered message, a
message without its English translation, or a placeholder the raise site does not fill fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from config import Config
from shop.errors import MESSAGES, Counted, DomainError, error_message

ROOT = Path(__file__).resolve().parent.parent
#: every package of the shop: the kernel and the domain packages the app registers (config.py)
PACKAGES = ("shop", *Config.DOMAIN_PACKAGES)
CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _domain_error_classes() -> dict[str, type[DomainError]]:
    classes, todo = {}, [DomainError]
    while todo:
        cls = todo.pop()
        classes[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return classes


def _raise_sites(classes) -> list[tuple[str, str | None, set[str] | None, ast.expr | None]]:
    """(where, code or None for the class default, the message parameters given, the first argument)."""
    sites = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")) if (ROOT / pkg).is_dir() else ():
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            # WTForms' own ValidationError (a form field's message) is not a domain error
            foreign = {
                a.asname or a.name
                for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom)
                and not (n.module or "").startswith("shop.errors")
                and (n.module or "").split(".")[0] not in PACKAGES
                for a in n.names
            }
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in classes
                    and node.func.id not in foreign
                ):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                if any(k.arg is None for k in node.keywords):
                    params = None  # **kwargs: not checked
                else:
                    params = {k.arg for k in node.keywords if k.arg != "fields"}
                first = node.args[0] if node.args else None
                if first is None or classes[node.func.id].__init__ is not DomainError.__init__:
                    # no code given, or a class with its own constructor (OutOfStock(product_id)): the class's code
                    if first is not None:
                        params = None  # its constructor fills the message's parameters
                    sites.append((where, classes[node.func.id].code, params, None))
                elif isinstance(first, ast.Constant) and isinstance(first.value, str):
                    sites.append((where, first.value, params, first))
                elif isinstance(first, ast.IfExp) and all(
                    isinstance(b, ast.Constant) for b in (first.body, first.orelse)
                ):
                    sites.extend((where, b.value, params, first) for b in (first.body, first.orelse))
                else:
                    sites.append((where, None, params, first))
    return sites


def _english() -> dict[str | tuple[str, str], str | tuple[str, ...]]:
    """msgid -> its English; (singular, plural) -> the English forms of a counted message."""
    table: dict = {}
    for pkg in PACKAGES:
        po = ROOT / pkg / "translations" / "en" / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with po.open("rb") as f:
            for message in read_po(f, locale="en"):
                if message.id and message.string and all(message.string):
                    table.setdefault(message.id, message.string)
    return table


def _shown_in_english(app, code: str) -> str:
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        shown = error_message(code)
    assert shown != MESSAGES[code]
    return shown


def _wanted_params(message: str | Counted) -> set[str]:
    """The parameters a raise site gives: the placeholders, the count under its own name."""
    if isinstance(message, Counted):
        return set(PLACEHOLDER.findall(message.singular)) - {"num"} | {message.count}
    return set(PLACEHOLDER.findall(message))


def test_every_raised_code_has_a_chinese_and_an_english_message(app):
    classes = _domain_error_classes()
    sites = _raise_sites(classes)
    assert len(sites) > 200
    english = _english()
    problems = []
    for where, code, params, first in sites:
        if code is None:
            problems.append(f"{where}: raise by a code literal, not {ast.unparse(first)}")
            continue
        msgid = MESSAGES.get(code)
        if msgid is None:
            problems.append(f"{where}: code {code!r} has no message (register it in the package's errors.py)")
            continue
        wanted = _wanted_params(msgid)
        if params is not None and params != wanted:
            problems.append(f"{where}: {code!r} is given {sorted(params)}, its message needs {sorted(wanted)}")
    for cls in classes.values():
        if cls.code not in MESSAGES:
            problems.append(f"{cls.__name__}.code {cls.code!r} has no message")
    for code, message in MESSAGES.items():
        if isinstance(message, Counted):
            msgid, key = message.singular, (message.singular, message.plural)
            if message.plural != msgid or "num" not in PLACEHOLDER.findall(msgid):
                problems.append(f"{code!r}: a counted message is the same Chinese twice with %(num)s for the count")
        else:
            msgid, key = message, message
            if "%(num)s" in msgid:
                problems.append(f"{code!r}: %(num)s is a count: declare the message with Nn_ (shop.errors)")
        if not CJK.search(msgid):
            problems.append(f"{code!r}: the Chinese message {msgid!r} has no Chinese")
        translated = english.get(key)
        forms = [translated] if isinstance(translated, str) else list(translated or ())
        if not forms or msgid in forms:
            problems.append(f"{code!r}: no English for {msgid!r}")
        elif any(set(PLACEHOLDER.findall(form)) != set(PLACEHOLDER.findall(msgid)) for form in forms):
            problems.append(f"{code!r}: the English {translated!r} has other placeholders than {msgid!r}")
    assert problems == [], "\n".join(problems)


def test_a_code_means_one_message():
    from shop.errors import register_messages

    with pytest.raises(ValueError):
        register_messages({"order_not_found": "别的话"})


@pytest.mark.parametrize(("lang", "expected"), [("zh_CN", "最多预订 30 晚"), ("en", "At most 30 nights can be booked")])
def test_the_message_is_looked_up_when_shown_in_the_readers_language(app, lang, expected):
    from flask_babel import force_locale

    error = DomainError("too_many_nights", nights=30)
    assert error.code == "too_many_nights" and error.params == {"nights": 30}
    with app.test_request_context(), force_locale(lang):
        assert error.message == expected == error_message("too_many_nights", {"nights": 30})


def test_a_page_and_the_api_show_the_codes_message_in_the_readers_language(app, db, client):
    """The cart's flash (HTML) and the API's envelope: the same code, its message in each language."""
    from shop.db import commit
    from tests.factories import make_user

    buyer = make_user()
    commit()
    chinese, english = app.test_client(), app.test_client()
    for browser in (chinese, english):
        browser.post("/login", data={"email": buyer.email, "password": "password123"})
    data = {"product_id": "999999", "quantity": "1"}
    zh = chinese.post("/cart/add", data=data, follow_redirects=True).get_data(as_text=True)
    en = english.post("/cart/add?lang=en", data=data, follow_redirects=True).get_data(as_text=True)
    assert MESSAGES["product_not_found"] in zh
    assert _shown_in_english(app, "product_not_found") in en and MESSAGES["product_not_found"] not in en

    answers = [client.get(f"/api/v1/listings/999999/availability{suffix}") for suffix in ("", "?lang=en")]
    assert [a.status_code for a in answers] == [404, 404]
    assert [a.json["error"]["code"] for a in answers] == ["listing_not_found"] * 2
    assert [a.json["error"]["message"] for a in answers] == ["项目不存在", _shown_in_english(app, "listing_not_found")]
