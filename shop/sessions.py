"""The session cookie and the CSRF token, signed and verified once per distinct value.

Flask's cookie session verifies the signed cookie on every request (HMAC, base64, zlib, tagged
JSON: about a tenth of a cached signed-in page hit) and builds a new signing serializer twice per
request; flask_wtf signs the session's CSRF token anew whenever a page shows it. A browser sends the
same cookie for many requests in a row, so each worker remembers, per signing serializer (built
once per set of secret keys):

- **verified cookies** (`loads`): cookie string -> (its signature timestamp, the data). A cookie
  that was verified before is the same bytes under the same keys, so only its age is checked again
  (exactly as itsdangerous does: older than `max_age`, or from the future, is expired and goes
  through the full check, which raises). The data is handed out as a copy (nested lists and dicts
  deep-copied), so a request that changes its session never changes what the next one reads.
- **signatures of this second** (`dumps`): (payload, second) -> signed value. itsdangerous signs a
  payload with the current second, so within one second the signed value is the same bytes that
  signing again would give; the memo is dropped when the second changes.

Security is unchanged: nothing unverified is ever accepted, keys are part of the memo's owner (a
rotated SECRET_KEY or fallback list gets a new serializer and an empty memo), expiry is checked on
every request. Both memos are bounded (cleared when full).
"""
from __future__ import annotations

import copy
import threading
import time
import zlib

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode, bytes_to_int, want_bytes

#: Entries per memo before it is cleared.
MEMO_ENTRIES = 2048
_SCALARS = (str, int, float, bool, type(None), bytes)


def _copy(data):
    if not isinstance(data, dict):
        return copy.deepcopy(data)
    return {k: v if isinstance(v, _SCALARS) else copy.deepcopy(v) for k, v in data.items()}


def _scalar_key(obj):
    """A memo key for a dict of str keys and str/int/bool/None values (a signed-in session: the user,
    the CSRF token...), cheaper than serializing it; each value's type is part of it (True == 1).
    None for anything else (then the serialized payload is the key)."""
    if type(obj) is not dict:
        return None
    items = []
    for k, v in obj.items():
        kind = type(v)
        if type(k) is not str or kind not in (str, int, bool, type(None)):
            return None
        items.append((k, kind, v))
    return tuple(items)  # in the dict's order, as serializers without sort_keys write it


class KeyedTimestampSigner(TimestampSigner):
    """itsdangerous's TimestampSigner with its derived keys computed once per signer (itsdangerous
    derives the key from the secret and the salt again for every signature and every check)."""

    def derive_key(self, secret_key=None):
        derived = self.__dict__.setdefault("_derived", {})
        found = derived.get(secret_key)
        if found is None:
            found = derived[secret_key] = super().derive_key(secret_key)
        return found


class MemoSerializer(URLSafeTimedSerializer):
    """URLSafeTimedSerializer that remembers what it verified and what it signed this second."""

    default_signer = KeyedTimestampSigner

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._verified: dict = {}
        self._signed: dict = {}
        self._second = 0
        self._signer = None

    def make_signer(self, salt=None):
        """One signer per serializer for its own salt (with its derived keys), a new one otherwise."""
        if salt is not None:
            return super().make_signer(salt)
        if self._signer is None:
            self._signer = super().make_signer()
        return self._signer

    def loads(self, s, max_age=None, return_timestamp=False, salt=None):
        if return_timestamp or salt is not None:
            return super().loads(s, max_age=max_age, return_timestamp=return_timestamp, salt=salt)
        hit = self._verified.get(s)
        if hit is not None:
            signed_at, data = hit
            age = int(time.time()) - signed_at
            if max_age is None or 0 <= age <= max_age:
                return _copy(data)
        data, signed_at = super().loads(s, max_age=max_age, return_timestamp=True)
        if len(self._verified) >= MEMO_ENTRIES:
            self._verified.clear()
        self._verified[s] = (int(signed_at.timestamp()), data)
        return _copy(data)

    def dumps(self, obj, salt=None):
        if salt is not None:
            return super().dumps(obj, salt)
        key = _scalar_key(obj)
        payload = None
        if key is None:  # nested values: the serialized payload is the key
            key = payload = self.serializer.dumps(obj, **self.serializer_kwargs)
        now = int(time.time())
        if now != self._second:
            self._signed, self._second = {}, now
        signed = self._signed.get(key)
        if signed is None:
            if payload is None:
                payload = self.serializer.dumps(obj, **self.serializer_kwargs)
            signed = self._sign(payload)
            stamp = want_bytes(signed).rsplit(b".", 2)[-2]
            if bytes_to_int(base64_decode(stamp)) == now and len(self._signed) < MEMO_ENTRIES:
                self._signed[key] = signed
        return signed

    def sign_short(self, payload: str) -> str:
        """`dumps` of an already serialized short payload, without trying zlib: itsdangerous
        compresses a payload only when that makes it shorter, and a fresh visitor's session
        (`{"csrf_token":"<40 hex>"}`) or CSRF token (`"<40 hex>"`) never gets shorter (random hex;
        zlib's header and checksum alone take 6 bytes), while the try costs zlib's allocation (about
        10 µs, a twentieth of a cached page). The value is what `dumps` gives whenever zlib would
        not have won, and a valid signed value in any case (`loads` reads both forms); tests check
        both. Not remembered: each is a fresh token."""
        return self._sign_body(base64_encode(payload.encode("utf-8")))

    def _sign(self, payload):
        """`dumps` of an already serialized payload: itsdangerous's URL-safe payload (zlib when
        shorter, base64) signed with the current second (tests/shop/test_sessions.py checks that it
        is byte for byte what URLSafeTimedSerializer gives)."""
        data = want_bytes(payload)
        compressed = zlib.compress(data)
        return self._sign_body(b"." + base64_encode(compressed) if len(compressed) < len(data) - 1 else base64_encode(data))

    def _sign_body(self, body: bytes):
        """The URL-safe payload `body` signed with the current second, as `dumps` returns it."""
        signed = self.make_signer().sign(body)
        return signed.decode("utf-8") if self.is_text_serializer else signed


_lock = threading.Lock()
_csrf_serializers: dict = {}


def csrf_serializer(secret_key) -> MemoSerializer:
    """flask_wtf's CSRF token serializer (`URLSafeTimedSerializer(secret, salt="wtf-csrf-token")`),
    one per secret key and process."""
    found = _csrf_serializers.get(secret_key)
    if found is None:
        with _lock:
            if len(_csrf_serializers) >= 16:
                _csrf_serializers.clear()
            found = _csrf_serializers.setdefault(secret_key, MemoSerializer(secret_key, salt="wtf-csrf-token"))
    return found


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session (same cookie, same checks) on a MemoSerializer per key set."""

    def __init__(self):
        self._serializers: dict = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)  # current key last
        found = self._serializers.get(keys)
        if found is None:
            with _lock:
                if len(self._serializers) >= 16:
                    self._serializers.clear()
                found = self._serializers.setdefault(keys, MemoSerializer(
                    list(keys), salt=self.salt, serializer=self.serializer,
                    signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method}))
        return found
