"""The password policy (NIST SP 800-63B) on its own: length, blocklist, personal words,
repetition and sequences, normalisation, and no composition rules."""

import pytest

from governance.auth.passwords import check_new_password
from governance.errors import DomainError


def _check(password: str, *, email="priya.shah@example.org", name="Priya Shah", min_length=15):
    return check_new_password(password, email=email, name=name, min_length=min_length)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaa", "Use at least 15 characters"),
        ("correct horse", "Use at least 15 characters"),
        ("x" * 201, "at most 200 characters"),
        ("password123456789", "lists of common or breached passwords"),
        ("Password123456789", "lists of common or breached passwords"),
        ("iloveyou12345678", "lists of common or breached passwords"),
        ("qwertyuiopasdfgh", "too predictable"),
        ("aaaaaaaaaaaaaaaa", "too predictable"),
        ("abcabcabcabcabcabc", "too predictable"),
        ("123456789012345", "too predictable"),
        ("zyxwvutsrqponmlk", "too predictable"),
        ("hunter22hunter22", "too predictable"),
        ("priya.shah@example.org", "must not contain your name or email"),
        ("my-name-is-Priya-Shah", "must not contain your name or email"),
        ("PriyaShahIsTheBestAtThis", "must not contain your name or email"),
        ("shah of the lost island", "must not contain your name or email"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, message):
    with pytest.raises(DomainError, match=message) as refused:
        _check(password)

    assert refused.value.field == "password"


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery",
        "all lower case words only",
        "ĉiuj ŝafoj manĝas herbon",
        "四つの単語で作った長い合言葉です",
        "1111 ships sailed 2222 miles",
    ],
)
def test_long_uncommon_passwords_need_no_digits_capitals_or_symbols(password):
    assert _check(password) == password


def test_the_minimum_length_is_a_setting():
    assert _check("tangerine dusk", min_length=12) == "tangerine dusk"
    with pytest.raises(DomainError, match="at least 21 characters"):
        _check("tangerine dusk rules", min_length=21)


def test_unicode_is_normalised_nfkc_and_each_code_point_counts_once():
    # The full-width letters and the "ﬁ" ligature become plain ones, as typed elsewhere.
    assert _check("ｃｏｒｒｅｃｔ horse ﬁnal") == "correct horse final"
    assert _check("é" * 7 + " lune é bleue", min_length=15) == "é" * 7 + " lune é bleue"


def test_short_name_parts_are_not_refused_inside_a_password():
    # "Al" and "Li" are too common to keep out of every password.
    assert _check("a calm lighthouse keeper", email="al@example.org", name="Al Li")
