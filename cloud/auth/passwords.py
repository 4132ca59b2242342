"""Password hashing with argon2id (argon2-cffi's defaults, re-hashed when they change)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def set_cost(time_cost: int, memory_cost_kib: int) -> None:
    """Change the argon2 work factors (tests lower them; production keeps the library defaults).

    Hashes made with other factors still verify and are re-hashed at the next login.
    """
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=1)


MIN_PASSWORD_LENGTH = 10


class WeakPassword(ValueError):
    pass


def check_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing; raises WeakPassword with why."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong password or a damaged hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


# A hash to verify against when the user does not exist, so timing does not reveal usernames.
DUMMY_HASH = _hasher.hash("signet-no-such-user-placeholder")
