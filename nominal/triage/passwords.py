"""Passwords, hashed with argon2 (argon2-cffi's defaults, which follow RFC 9106's guidance)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import InvalidInput

_hasher = PasswordHasher()
MIN_LENGTH = 12  # NCSC: length, not complexity rules


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``hashed`` was made from (False for an account with none)."""
    if not hashed:
        _hasher.hash("time-equaliser")  # no user, or no password: take as long as a real check
        return False
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
