"""Reading an upload with a bounded amount of memory (docs/uploads.md): the one place that reads an
uploaded file, for photos (`catalog.images`) and documents (`invoices.files`).

At most `max_bytes` + 1 bytes are read, whatever the client says about the size; an upload trusted
by nothing it says about itself (name, content type), each caller then checks the bytes' content.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from shop.errors import ValidationError


def max_upload_bytes() -> int:
    """The configured limit of one uploaded file (`MAX_UPLOAD_BYTES`, 5 MB by default)."""
    return int(current_app.config.get("MAX_UPLOAD_BYTES", 5 * 1024 * 1024))


@dataclass(frozen=True)
class UploadCodes:
    """The error codes a caller raises for a missing, empty or too large file, and the form field."""

    required: str
    empty: str
    too_large: str
    field: str


def read_upload(upload, max_bytes: int, *, codes: UploadCodes, error: type[ValidationError] = ValidationError) -> bytes:
    """The bytes of an upload (bytes, a file object or a werkzeug FileStorage), at most `max_bytes`;
    `error(codes.…)` when it is missing, empty or larger (`mb` names the limit in the message)."""
    if upload is None:
        raise error(codes.required, fields={codes.field: "required"})
    if isinstance(upload, (bytes, bytearray)):
        data = bytes(upload)
    else:
        stream = getattr(upload, "stream", upload)
        data = stream.read(max_bytes + 1)
    if not data:
        raise error(codes.empty, fields={codes.field: "empty"})
    if len(data) > max_bytes:
        raise error(codes.too_large, mb=max_bytes // (1024 * 1024) or 1, fields={codes.field: "too_large"})
    return data
