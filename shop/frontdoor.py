"""The front door: cached pages answered in front of Flask, without its request machinery.

`FrontDoor` is WSGI middleware around the Flask app (inside ProxyFix, see shop/__init__.py). A GET
with no Authorization header on a cacheable path (home, product lists, category, village, product,
search; a signed-in visitor's cart) is answered here from the page cache (shop.pagecache) when the
answer is sure to be the one Flask would give; everything else, every miss and every doubt goes to
the app, whose `cached_page` and `user_page` views render and store as before. Three kinds of
visitor are answered here:

- **a first visit** (no cookie of ours): the anonymous entry, a fresh session cookie holding a new
  CSRF token signed into the page (exactly flask_wtf's `generate_csrf`), so the add-to-cart form of
  a cached page works;
- **an anonymous visitor with a session** (the next pages of that visit): the anonymous entry with
  the session's own CSRF token; no cookie is set, as Flask would set none;
- **a signed-in visitor**: the shared signed-in entry (`u|…`), or their own cart (`p<id>|…`), with
  their header (shop.header's fragment for their user and locale) spliced in, after reading their
  user row afresh with the checks of every request through Flask (`session_user_values`: a
  deactivation or a password change counts at once). About two thirds of the CPU of the same hit
  through Flask is saved (bench: logged-in pages 1.2 → 0.6 ms of web CPU per request).

Why the answer is Flask's: the session is verified by the app's own serializer (same keys, same
`max_age`); the locale is what the app's selector gives (`lang` in the session, else the default:
a `lang=` argument goes to Flask); Flask-Login's session protection is the same check (the hash of
address and user agent it stored at login; any difference goes to Flask, which marks the session
not fresh); the header and the `next=` of the language switch come from the memos Flask fills
(shop.header), the CSRF token from flask_wtf's serializer (shop.sessions). The response gets what
the app's hooks add: the security headers, the Content-Security-Policy with a fresh nonce,
`Vary: Cookie`. Whatever would make Flask write the session or answer differently goes to Flask:
pending flash messages, a session without a CSRF token (when the page needs one), a permanent
session (refreshed on every response), Flask-Login's remember cookie work, a NUL in the path, an
unknown or inactive user, and with `FORCE_HTTPS` any plain-HTTP request (Flask redirects it).
tests/shop/test_frontdoor.py compares the door's answers with Flask's, byte for byte.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
from types import SimpleNamespace
from urllib.parse import parse_qsl

from flask import g
from werkzeug.http import dump_cookie, parse_cookie
from werkzeug.wsgi import get_path_info

from shop import selected_locale
from shop.pagecache import (
    _CSRF_BYTES,
    _NONCE_BYTES,
    CSRF_PLACEHOLDER,
    NONCE_PLACEHOLDER,
    _lookup,
    backend,
    enabled,
    make_key,
    splice,
)


def login_identifier(environ) -> str:
    """Flask-Login's session-protection identifier (`flask_login.utils._create_identifier`) of a
    WSGI request: sha512 of the first X-Forwarded-For address (else the remote address) and the
    user agent, as Flask-Login formats them (tests check it equals Flask-Login's own)."""
    address = environ.get("HTTP_X_FORWARDED_FOR", environ.get("REMOTE_ADDR"))
    if address is not None:
        address = address.encode("utf-8").split(b",")[0].strip()
    agent = environ.get("HTTP_USER_AGENT")
    if agent is not None:
        agent = agent.encode("utf-8")
    return hashlib.sha512(f"{address}|{agent}".encode("utf8")).hexdigest()


class FrontDoor:
    """See the module docstring."""

    PREFIXES = ("/products", "/categories/", "/villages/", "/search")
    #: a signed-in visitor's own page (`shop.pagecache.user_page`), answered for signed-in visitors only
    USER_PAGES = ("/cart",)

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._static = None

    def _setup(self):
        """Things that depend only on the configuration, computed at the first request."""
        from flask_login.signals import session_protected
        from flask_login.utils import _create_identifier

        from shop.security import content_security_policy, csrf_secret, security_headers
        from shop.sessions import csrf_serializer

        app = self.app
        config = app.config
        with app.test_request_context("/"):
            g.csp_nonce = NONCE_PLACEHOLDER
            csp = content_security_policy(app)
        iface = app.session_interface
        login = getattr(app, "login_manager", None)
        protection = config.get("SESSION_PROTECTION", getattr(login, "session_protection", None))
        self._static = {
            "csp": csp,
            "headers": security_headers(app),
            "session_cookie": config.get("SESSION_COOKIE_NAME", "session"),
            "remember_cookie": config.get("REMEMBER_COOKIE_NAME", "remember_token"),
            "locale": self._locale(None),  # what the selector gives a visitor without a session
            "force_https": bool(config.get("FORCE_HTTPS")),
            "csrf": csrf_serializer(csrf_secret(app)),  # flask_wtf's serializer, its signer kept
            "csrf_field": config.get("WTF_CSRF_FIELD_NAME", "csrf_token"),
            # a first visit's session as the session serializer writes it (compact JSON), up to the token
            "session_head": "{" + json.dumps(config.get("WTF_CSRF_FIELD_NAME", "csrf_token")) + ':"',
            "session": iface.get_signing_serializer(app),
            "session_max_age": int(app.permanent_session_lifetime.total_seconds()),
            # sessions are answered here only where nothing of the app would change them
            "sessions": (login is not None and protection in (None, "basic", "strong")
                         and getattr(login, "_session_identifier_generator", None) is _create_identifier
                         and getattr(login, "_request_callback", None) is None  # no other way to sign in
                         and getattr(login, "_header_callback", None) is None
                         and not session_protected.receivers
                         and not config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")),
            "protection": protection if protection in ("basic", "strong") else None,
            "cookie": dict(name=config.get("SESSION_COOKIE_NAME", "session"), domain=iface.get_cookie_domain(app),
                           path=iface.get_cookie_path(app), httponly=iface.get_cookie_httponly(app),
                           secure=iface.get_cookie_secure(app), samesite=iface.get_cookie_samesite(app)),
        }
        return self._static

    def _candidate(self, environ) -> bool:
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_AUTHORIZATION" in environ:
            return False
        path = environ.get("PATH_INFO") or "/"
        if path != "/" and not path.startswith(self.PREFIXES) and path not in self.USER_PAGES:
            return False
        return "lang=" not in environ.get("QUERY_STRING", "")

    def __call__(self, environ, start_response):
        static = self._static or self._setup()
        if not self._candidate(environ) or not enabled(self.app):
            return self.wsgi_app(environ, start_response)
        if static["force_https"] and environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)
        try:
            cookies = parse_cookie(environ) if environ.get("HTTP_COOKIE") else {}
            if static["session_cookie"] in cookies:
                answer = self._with_session(environ, static, cookies, start_response)
            elif static["remember_cookie"] in cookies or environ.get("PATH_INFO") in self.USER_PAGES:
                answer = None  # Flask-Login signs the visitor in from it; an anonymous cart is Flask's
            else:
                answer = self._first_visit(environ, static, start_response)
        except Exception:
            answer = None  # the app logs cache outages
        return self.wsgi_app(environ, start_response) if answer is None else answer

    def _key(self, environ, locale: str, prefix: str = "") -> tuple[str, list]:
        args = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return prefix + make_key(locale, get_path_info(environ), args), args

    def _first_visit(self, environ, static, start_response):
        return self._anonymous(environ, static, start_response, static["locale"], session=None)

    def _anonymous(self, environ, static, start_response, locale: str, session: dict | None):
        """The anonymous entry. Its CSRF token: for a first visit (`session` None) a new one, in a new
        session cookie; for a returning guest the one their session holds (none there: Flask would
        add one to the session, so Flask answers)."""
        key, _args = self._key(environ, locale)
        entry = _lookup(backend(self.app.config), key, self.app.config)
        if entry is None:
            return None
        data = entry.encoded()
        headers = []
        if _CSRF_BYTES not in data:
            pass
        elif session is None:
            raw = hashlib.sha1(os.urandom(64)).hexdigest()  # flask_wtf's raw token; hex needs no JSON escaping
            data = data.replace(_CSRF_BYTES, static["csrf"].sign_short(f'"{raw}"').encode("ascii"))
            cookie = static["cookie"]
            value = static["session"].sign_short(static["session_head"] + raw + '"}')  # {"<field>":"<raw>"}
            headers.append(("Set-Cookie", dump_cookie(cookie["name"], value, domain=cookie["domain"],
                                                      path=cookie["path"], httponly=cookie["httponly"],
                                                      secure=cookie["secure"], samesite=cookie["samesite"])))
        elif isinstance(session.get(static["csrf_field"]), str):
            data = data.replace(_CSRF_BYTES, static["csrf"].dumps(session[static["csrf_field"]]).encode("ascii"))
        else:
            return None
        return self._respond(data, static, start_response, headers)

    def _with_session(self, environ, static, cookies, start_response):
        """A visitor with a session cookie: anonymous or signed in (None: let Flask answer)."""
        if not static["sessions"]:
            return None
        try:
            session = static["session"].loads(cookies[static["session_cookie"]], max_age=static["session_max_age"])
        except Exception:
            return None  # invalid or expired: Flask starts a new session
        if not isinstance(session, dict) or "_flashes" in session or "_remember" in session \
                or session.get("_permanent"):
            return None
        if self._protection_would_act(session, environ, static["protection"]):
            return None  # Flask-Login marks the session not fresh (basic) or signs out (strong)
        if "\x00" in get_path_info(environ):
            return None  # the app answers 400
        user_id = session.get("_user_id")
        if user_id is None:
            if static["remember_cookie"] in cookies or environ.get("PATH_INFO") in self.USER_PAGES:
                return None
            return self._anonymous(environ, static, start_response, self._locale(session.get("lang")), session)
        token = session.get(static["csrf_field"])
        if not isinstance(user_id, str) or not isinstance(token, str):
            return None
        return self._signed_in(environ, static, start_response, user_id, session.get("lang"), token)

    def _locale(self, wanted) -> str:
        """The locale the app's selector gives a request without `lang=` (shop.selected_locale), as
        cache keys write it."""
        return str(selected_locale(wanted, self.app.config))

    @staticmethod
    def _protection_would_act(session: dict, environ, mode: str | None) -> bool:
        """Whether Flask-Login's session protection would change this session: a non-empty
        session whose stored identifier is not this request's, unless (basic) it is already marked
        not fresh - then Flask-Login only sends `session_protected`, which nothing here receives."""
        if mode is None or not session or session.get("_id") == login_identifier(environ):
            return False
        return mode == "strong" or session.get("_fresh") is not False

    def _signed_in(self, environ, static, start_response, user_id: str, lang, token: str):
        """The shared signed-in entry (`u|…`, cached_page) or the user's own (`p<id>|…`, user_page).
        The locale as the app's selector gives it at the moment each decorator reads it: a cached
        page reads it before the user is loaded (the session's `lang`, else the default), a user
        page after (the session's `lang`, else the user's own locale)."""
        from shop.auth.services import session_user_values
        from shop.header import remembered_header

        with self.app.app_context():  # the database for the user row (and its session, removed at the end)
            values = session_user_values(user_id)  # the checks of every request through Flask
            if values is None:
                return None
            user = SimpleNamespace(**values)  # the header shows who it is: id, name, e-mail, role
            if environ.get("PATH_INFO") in self.USER_PAGES:
                locale = self._locale(lang or user.locale)
                key, args = self._key(environ, locale, prefix=f"p{user.id}|")
            else:
                locale = self._locale(lang)
                key, args = self._key(environ, locale, prefix="u|")
            entry = _lookup(backend(self.app.config), key, self.app.config)
            if entry is None:
                return None
            path = "/" + get_path_info(environ).lstrip("/")
            full_path = f"{path}?{environ.get('QUERY_STRING', '').encode('latin-1').decode()}"
            q = next((value for name, value in args if name == "q"), "")
            signed = static["csrf"].dumps(token)
            header = remembered_header(user, locale, q, full_path, signed)
        if header is None:
            return None
        body = splice(entry.body, lambda: header, lambda: "")
        if body is None:
            return None
        data = body.replace(CSRF_PLACEHOLDER, signed).encode("utf-8")
        return self._respond(data, static, start_response, [])

    def _respond(self, data: bytes, static: dict, start_response, headers: list):
        nonce = secrets.token_urlsafe(16)
        data = data.replace(_NONCE_BYTES, nonce.encode("ascii"))
        headers = [("Content-Type", "text/html; charset=utf-8"), *headers, ("Content-Length", str(len(data))),
                   ("Vary", "Cookie"), *static["headers"],
                   ("Content-Security-Policy", static["csp"].replace(NONCE_PLACEHOLDER, nonce))]
        start_response("200 OK", headers)
        return [data]
