"""The unified social credit code's check character (GB 32100-2015)."""

from __future__ import annotations

import pytest

from institutions.creditcode import ALPHABET, check_character, is_valid, normalise

#: Real codes printed on licences, and made ones with a computed check character.
VALID = [
    "91350100M000100Y43",
    "91110000600037341L",
    "91440300708461136T",
    "12360121MB1234567" + check_character("12360121MB1234567"),
]
#: Characters the alphabet leaves out (I, O, S, V, Z look like 1, 0, 5, U, 2), lower case, punctuation.
OUTSIDE = "IOSVZ-*a "


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_are_accepted(code):
    assert is_valid(code)
    assert is_valid(normalise(code.lower()[:6] + " " + code[6:]))  # typed in lower case, with a space


@pytest.mark.parametrize("code", VALID)
def test_every_single_character_corruption_is_refused(code):
    corruptions = 0
    for position in range(18):
        for replacement in ALPHABET + OUTSIDE:
            if replacement == code[position]:
                continue
            corrupted = code[:position] + replacement + code[position + 1 :]
            assert not is_valid(corrupted), f"{corrupted} (position {position + 1}) accepted"
            corruptions += 1
    assert corruptions == 18 * (len(ALPHABET) - 1 + len(OUTSIDE))


def test_wrong_lengths_are_refused():
    code = VALID[0]
    assert not is_valid(code[:17]) and not is_valid(code + "0") and not is_valid("")
