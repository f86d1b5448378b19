"""shop.codes: random public codes (order codes, pick-up and check-in codes)."""

from __future__ import annotations

from collections import Counter

from shop.codes import CODE_ALPHABET, new_code, new_numeric_code, new_order_code


def test_codes_have_the_asked_length_and_alphabet():
    for _ in range(200):
        code = new_order_code()
        assert len(code) == 8 and set(code) <= set(CODE_ALPHABET)
        digits = new_numeric_code(6)
        assert len(digits) == 6 and digits.isdigit()
    assert len(new_code(30)) == 30 and new_numeric_code(1).isdigit()


def test_every_character_of_the_alphabet_is_drawn_about_equally_often():
    """Rejection sampling keeps `byte % size` uniform: no character is favoured (28 and 10 do not
    divide 256, so a plain modulo would favour the first characters by 1/64 and 6/250)."""
    counts = Counter(new_numeric_code(50_000))
    assert set(counts) == set("0123456789")
    assert all(4_400 < n < 5_600 for n in counts.values()), counts
    counts = Counter(new_code(28_000))
    assert set(counts) == set(CODE_ALPHABET)
    assert all(800 < n < 1_200 for n in counts.values()), counts
