"""The password rules: at least 12 characters (at most 256: hashing is deliberately slow),
not one of the 10,000 most common passwords (nor one with digits or signs around it), not
the username, and not one character repeated."""

from __future__ import annotations

import functools
from importlib import resources

from domain.staff.errors import PasswordRejectedError

MIN_LENGTH = 12
MAX_LENGTH = 256
_PADDING = "0123456789!@#$%^&*()-_=+.,;:?~ "


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    text = (resources.files("domain.staff") / "common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def check_password(password: str, username: str) -> None:
    """Refuses a password that breaks a rule, saying which and what to choose instead."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejectedError(
            f"password: use at least {MIN_LENGTH} characters (this one has {len(password)}); "
            "a few unrelated words make a long password easy to remember")
    if len(password) > MAX_LENGTH:
        raise PasswordRejectedError(f"password: use at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if len(set(lowered)) == 1:
        raise PasswordRejectedError("password: one character repeated is guessed at once; "
                                    "choose a few unrelated words")
    if username and username.lower() in lowered:
        raise PasswordRejectedError("password: it must not contain the username")
    common = common_passwords()
    core = lowered.strip(_PADDING)
    if not core:
        raise PasswordRejectedError("password: digits and signs alone are guessed quickly; "
                                    "choose a few unrelated words")
    if lowered in common or core in common:
        raise PasswordRejectedError(
            "password: this is one of the most common passwords (or one with digits added), "
            "which attackers try first; choose a few unrelated words instead")
