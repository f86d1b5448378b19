"""Invoice files: a PDF or an OFD (the national e-invoice format, a ZIP with an `OFD.xml` at its root),
checked by content, never by name or declared type, within `MAX_UPLOAD_BYTES` (`shop.uploads`).

Files are written under `UPLOAD_DIR/invoices/<invoice id>/<random>.<ext>` before the transaction
commits (an orphan after a failed commit is harmless) and served only through the invoice's own
download route, which checks who asks (they are not under /static or /uploads)."""

from __future__ import annotations

import io
import os
import secrets
import zipfile
from dataclasses import dataclass

from flask import current_app

from shop.errors import ValidationError
from shop.uploads import UploadCodes, max_upload_bytes, read_upload

INVOICE_UPLOAD = UploadCodes(
    required="invoice_file_required", empty="invoice_file_required", too_large="invoice_file_too_large", field="file"
)
MIMETYPES = {"pdf": "application/pdf", "ofd": "application/ofd"}
#: An OFD is a small package; more entries than this is not an invoice.
MAX_OFD_ENTRIES = 500


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    fmt: str  # "pdf" | "ofd"


def _is_pdf(data: bytes) -> bool:
    # the header in the first KB (PDF 1.7, 7.5.2) and the end-of-file marker in the last KB
    return b"%PDF-" in data[:1024] and b"%%EOF" in data[-1024:]


def _is_ofd(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = package.namelist()  # reads the central directory only, decompresses nothing
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return len(names) <= MAX_OFD_ENTRIES and "OFD.xml" in names


def check_invoice_file(upload) -> CheckedFile:
    """The upload's bytes and format, or ValidationError (missing, too large, neither PDF nor OFD)."""
    data = read_upload(upload, max_upload_bytes(), codes=INVOICE_UPLOAD)
    if _is_pdf(data):
        return CheckedFile(data, "pdf")
    if _is_ofd(data):
        return CheckedFile(data, "ofd")
    raise ValidationError("invoice_file_type", fields={"file": "type"})


def store_invoice_file(invoice_id: int, checked: CheckedFile) -> str:
    """Write the checked file; its path relative to UPLOAD_DIR."""
    rel_dir = f"invoices/{invoice_id}"
    rel = f"{rel_dir}/{secrets.token_hex(8)}.{checked.fmt}"
    root = current_app.config["UPLOAD_DIR"]
    os.makedirs(os.path.join(root, rel_dir), exist_ok=True)
    with open(os.path.join(root, rel), "wb") as out:
        out.write(checked.data)
    return rel


def absolute_path(rel: str) -> str:
    return os.path.join(current_app.config["UPLOAD_DIR"], rel)
