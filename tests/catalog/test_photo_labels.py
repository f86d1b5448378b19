"""A photo field's label names every format the upload check accepts (catalog.images), and only those."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from catalog.images import ALLOWED_FORMATS
from reviews.forms import ReviewForm
from stations.forms import AssistedProductForm, ProductPhotoForm
from tourism.forms import ListingPhotoForm

FIELDS = [
    (ReviewForm, "photos"),
    (ProductPhotoForm, "image"),
    (AssistedProductForm, "image"),
    (ListingPhotoForm, "image"),
]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize(("form", "name"), FIELDS)
def test_the_label_names_the_formats_the_check_accepts(app, form, name, locale):
    with app.test_request_context(), force_locale(locale):
        label = str(getattr(form, name).args[0])
    # a phone's .heic is Pillow's HEIF
    named = {
        word.upper().replace("HEIC", "HEIF") for word in re.findall(r"JPEG|PNG|WebP|GIF|BMP|TIFF|HEIC", label, re.I)
    }
    assert named == ALLOWED_FORMATS, label
