"""Password hashing with argon2id, off the event loop (each hash costs tens of milliseconds of CPU)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 30 ms here, so sign-ins stay
# cheap for the server yet costly to guess offline. ``needs_rehash`` upgrades stored hashes if this changes.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the account does not exist, so that a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("haven-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no stored hash, spends the same effort and returns False."""
    if stored_hash is None:
        await asyncio.to_thread(_verify, _DUMMY_HASH, password)
        return False
    return await asyncio.to_thread(_verify, stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
