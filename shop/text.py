"""Free text people write to others (a review, a reply, a hide reason, a host's reason for cancelling a
booking), kept as typed: docs/input-validation.md, "free text people write to others".

Plain text, never HTML: every page and e-mail shows it through Jinja's autoescape and the API returns it as
a JSON string, so nothing typed is lost and nothing typed runs. Each service bounds its length with a code
of its own (`reviews.services.clean_text`: `review_too_long`; `tourism.services.booking.host_cancel_reason`:
`host_cancel_reason_too_long`), counted on the text as kept.
"""

from __future__ import annotations

import re
import unicodedata

#: Control, zero-width and direction-override characters (a newline and a tab stay).
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_BLANK_LINES = re.compile(r"\n{3,}")


def plain_text(text: str | None) -> str:
    """`text` as it is kept: NFC, line breaks made `\\n`, control, zero-width and direction-override
    characters removed, more than one blank line shortened to one, trimmed."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return _BLANK_LINES.sub("\n\n", text).strip()
